"""integrations.http against the loopback ATS (real sockets) plus pure unit tests."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
from typing import Any

import pytest

from integrations.http import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    AtsAuthError,
    AtsError,
    AtsPermanentError,
    AtsRateLimited,
    AtsServerError,
    AtsTimeout,
    HttpClient,
    Timeout,
    backoff_delay,
    coerce_timeout,
    connection_timeout,
    display_url,
    is_retryable,
    parse_retry_after,
    read_credential,
    redact,
)
from integrations.models import AtsConnection
from tests.ats_server import AtsServer, Reply

# The loopback fixture; redundant (and harmless) once tests/conftest.py lists tests.ats_server
# in pytest_plugins.

SECRET = "sk-live-abcdefghijklmnop"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token-payload"


class FixedRng:
    """``uniform(a, b)`` always answers ``a`` (or ``b``): deterministic jitter for tests."""

    def __init__(self, pick: str = "low") -> None:
        self.pick = pick

    def uniform(self, a: float, b: float) -> float:
        return a if self.pick == "low" else b


@pytest.fixture
def http(ats_server: AtsServer) -> Any:
    sleeps: list[float] = []
    client = HttpClient(
        base_url=ats_server.url,
        timeout=(1.0, 2.0),
        sleep=sleeps.append,
        rng=FixedRng(),
        secrets=[SECRET],
    )
    client.sleeps = sleeps  # type: ignore[attr-defined]
    yield client
    client.close()


# --- backoff ----------------------------------------------------------------------------------
def test_backoff_delay_is_never_above_the_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 200):
        assert 0 <= backoff_delay(attempt, base=2.0, cap=600, rng=rng) <= 600
        assert backoff_delay(attempt, cap=30, retry_after=10_000, rng=rng) <= 30


def test_backoff_delay_is_at_least_retry_after() -> None:
    rng = random.Random(11)
    for attempt in range(1, 20):
        assert backoff_delay(attempt, retry_after=45, rng=rng) >= 45


def test_backoff_delay_uses_full_jitter_up_to_the_exponential_ceiling() -> None:
    assert backoff_delay(1, base=2.0, rng=FixedRng("high")) == 2.0
    assert backoff_delay(4, base=2.0, rng=FixedRng("high")) == 16.0
    assert backoff_delay(20, base=2.0, cap=600, rng=FixedRng("high")) == 600
    assert backoff_delay(4, base=2.0, rng=FixedRng("low")) == 0.0
    rng = random.Random(3)
    delays = {round(backoff_delay(5, base=2.0, rng=rng), 3) for _ in range(50)}
    assert len(delays) > 40  # jittered, not a fixed schedule
    assert all(0 <= d <= 32 for d in delays)


def test_backoff_delay_with_huge_attempt_numbers_does_not_overflow() -> None:
    assert backoff_delay(10_000, cap=600, rng=FixedRng("high")) == 600


# --- Retry-After / X-RateLimit-Reset -----------------------------------------------------------
NOW = 1_780_000_000.0


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after({"Retry-After": "7"}, now=NOW) == 7


def test_retry_after_as_http_date() -> None:
    when = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=NOW) == pytest.approx(30, abs=1)


def test_ratelimit_reset_as_epoch_seconds_and_milliseconds() -> None:
    assert parse_retry_after({"X-RateLimit-Reset": str(int(NOW + 12))}, now=NOW) == 12
    assert parse_retry_after({"X-RateLimit-Reset": str(int((NOW + 5) * 1000))}, now=NOW) == 5


def test_ratelimit_reset_as_seconds_until_reset() -> None:
    assert parse_retry_after({"X-RateLimit-Reset": "9"}, now=NOW) == 9


def test_retry_after_wins_over_ratelimit_reset_and_past_dates_mean_now() -> None:
    headers = {"Retry-After": "3", "X-RateLimit-Reset": str(int(NOW + 60))}
    assert parse_retry_after(headers, now=NOW) == 3
    assert parse_retry_after({"X-RateLimit-Reset": str(int(NOW - 60))}, now=NOW) == 0


def test_unusable_rate_limit_headers_give_none() -> None:
    assert parse_retry_after({}, now=NOW) is None
    assert parse_retry_after({"Retry-After": "soon"}, now=NOW) is None
    assert parse_retry_after({"Retry-After": "-4"}, now=NOW) is None


# --- timeouts ---------------------------------------------------------------------------------
def test_timeout_defaults_to_five_seconds_connect_thirty_read_and_is_never_none() -> None:
    assert DEFAULT_TIMEOUT.as_tuple() == (5.0, 30.0)
    assert coerce_timeout(None) == DEFAULT_TIMEOUT
    assert coerce_timeout(3) == Timeout(3, 3)
    assert coerce_timeout((1, 2)) == Timeout(1, 2)
    for bad in (0, -1, (0, 1), "5"):
        with pytest.raises(ValueError, match="timeout"):
            coerce_timeout(bad)  # type: ignore[arg-type]


def test_connection_timeout_setting_is_clamped_and_bad_values_fall_back() -> None:
    assert connection_timeout({}) == DEFAULT_TIMEOUT
    assert connection_timeout({"http_timeout": [1, 0.3]}) == Timeout(1, 0.3)
    assert connection_timeout({"http_timeout": {"read": 10}}) == Timeout(5, 10)
    assert connection_timeout({"http_timeout": [0.001, 9999]}) == Timeout(0.05, 120)
    assert connection_timeout({"http_timeout": "forever"}) == DEFAULT_TIMEOUT


def test_every_call_passes_a_timeout_to_requests(http: HttpClient, monkeypatch: Any) -> None:
    seen: list[Any] = []
    real = http.session.request

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["timeout"])
        return real(*args, **kwargs)

    monkeypatch.setattr(http.session, "request", spy)
    http.request("GET", "/v1/opportunities")
    http.request("GET", "/v1/opportunities", timeout=None)
    http.request("GET", "/v1/opportunities", timeout=(0.5, 0.7))
    assert seen == [(1.0, 2.0), (1.0, 2.0), (0.5, 0.7)]


def test_read_timeout_raises_a_retryable_ats_timeout(
    http: HttpClient, ats_server: AtsServer
) -> None:
    ats_server.on("GET", "/slow", Reply.slow(2.0, json={}))
    with pytest.raises(AtsTimeout) as caught:
        http.request("GET", "/slow", timeout=(1, 0.2))
    assert is_retryable(caught.value)
    assert "read timeout after 0.2s" in str(caught.value)
    assert caught.value.status_code is None


def test_refused_connection_is_a_retryable_ats_timeout() -> None:
    server = AtsServer().start()
    url = server.url
    server.stop()
    with (
        HttpClient(base_url=url, timeout=(0.5, 0.5)) as client,
        pytest.raises(AtsTimeout) as caught,
    ):
        client.request("GET", "/anything")
    assert "connection failed" in str(caught.value)
    assert is_retryable(caught.value)


# --- status codes -----------------------------------------------------------------------------
def test_429_is_rate_limited_with_retry_after(http: HttpClient, ats_server: AtsServer) -> None:
    ats_server.on("POST", "/x", Reply.rate_limited(retry_after=7))
    with pytest.raises(AtsRateLimited) as caught:
        http.request("POST", "/x", json={})
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 7
    assert is_retryable(caught.value)


def test_429_with_only_x_ratelimit_reset(http: HttpClient, ats_server: AtsServer) -> None:
    ats_server.on("GET", "/x", Reply(429, headers={"X-RateLimit-Reset": "4"}))
    with pytest.raises(AtsRateLimited) as caught:
        http.request("GET", "/x")
    assert caught.value.retry_after == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_retryable_server_error(
    http: HttpClient, ats_server: AtsServer, status: int
) -> None:
    ats_server.on("POST", "/x", Reply.server_error(status, headers={"Retry-After": "2"}))
    with pytest.raises(AtsServerError) as caught:
        http.request("POST", "/x", json={})
    assert caught.value.status_code == status
    assert caught.value.retry_after == 2
    assert is_retryable(caught.value)


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_permanent_auth_errors(
    http: HttpClient, ats_server: AtsServer, status: int
) -> None:
    ats_server.on("POST", "/x", Reply(status, json={"message": "Invalid credentials"}))
    with pytest.raises(AtsAuthError) as caught:
        http.request("POST", "/x", json={})
    assert caught.value.status_code == status
    assert not is_retryable(caught.value)


def test_422_is_permanent_with_the_ats_message_in_the_excerpt(
    http: HttpClient, ats_server: AtsServer
) -> None:
    body = {"message": "Validation error", "errors": [{"message": "Invalid option", "field": "x"}]}
    ats_server.on("PATCH", "/x", Reply(422, json=body))
    with pytest.raises(AtsPermanentError) as caught:
        http.request("PATCH", "/x", json={})
    error = caught.value
    assert error.status_code == 422
    assert "Invalid option" in error.excerpt
    assert "Invalid option" in str(error)
    assert error.retry_after is None
    assert not is_retryable(error)


def test_404_is_permanent(http: HttpClient) -> None:
    with pytest.raises(AtsPermanentError) as caught:
        http.request("GET", "/no/such/route")
    assert caught.value.status_code == 404


def test_408_request_timeout_is_retryable(http: HttpClient, ats_server: AtsServer) -> None:
    ats_server.on("POST", "/x", Reply(408))
    with pytest.raises(AtsTimeout):
        http.request("POST", "/x", json={})


def test_long_error_bodies_are_cut_to_a_short_excerpt(
    http: HttpClient, ats_server: AtsServer
) -> None:
    ats_server.on("POST", "/x", Reply(400, body="x" * 5000))
    with pytest.raises(AtsPermanentError) as caught:
        http.request("POST", "/x", json={})
    assert len(caught.value.excerpt) <= 500


def test_writes_never_follow_redirects(http: HttpClient, ats_server: AtsServer) -> None:
    ats_server.on("POST", "/x", Reply(307, headers={"Location": "/elsewhere"}))
    with pytest.raises(AtsPermanentError) as caught:
        http.request("POST", "/x", json={"a": 1})
    assert caught.value.status_code == 307
    assert "redirect" in str(caught.value)
    assert ats_server.requests(path="/elsewhere") == []


def test_reads_follow_redirects(http: HttpClient, ats_server: AtsServer) -> None:
    ats_server.on("GET", "/old", Reply(301, headers={"Location": "/new"}))
    ats_server.on("GET", "/new", Reply(200, json={"ok": True}))
    assert http.request("GET", "/old").json() == {"ok": True}


def test_a_2xx_answer_that_is_not_json_is_a_retryable_error_when_read(
    http: HttpClient, ats_server: AtsServer
) -> None:
    ats_server.on("GET", "/x", Reply(200, body="<html>maintenance</html>"))
    response = http.request("GET", "/x")
    assert response.json_or_none() is None
    with pytest.raises(AtsServerError):
        response.json()


# --- session ----------------------------------------------------------------------------------
def test_user_agent_names_screenbridge_and_its_version(
    http: HttpClient, ats_server: AtsServer
) -> None:
    http.request("GET", "/v1/opportunities")
    [request] = ats_server.requests()
    assert request.header("user-agent") == USER_AGENT
    assert USER_AGENT.startswith("Screenbridge/0.")


def test_one_session_reuses_its_connection(http: HttpClient, ats_server: AtsServer) -> None:
    for _ in range(3):
        http.request("GET", "/v1/opportunities")
    ports = {request.client_port for request in ats_server.requests()}
    assert len(ports) == 1


def test_link_header_next_is_exposed(http: HttpClient, ats_server: AtsServer) -> None:
    link = f'<{ats_server.url}/v3/jobs?cursor=abc>; rel="next"'
    ats_server.on("GET", "/v3/jobs", Reply(200, json=[], headers={"Link": link}))
    assert http.request("GET", "/v3/jobs").next_link == f"{ats_server.url}/v3/jobs?cursor=abc"


# --- bounded in-call retries ------------------------------------------------------------------
def test_in_call_retries_honour_retry_after_via_the_injected_sleep(
    http: Any, ats_server: AtsServer
) -> None:
    ats_server.on(
        "GET",
        "/page",
        Reply.rate_limited(retry_after=3),
        Reply.rate_limited(retry_after=1),
        Reply(200, json={"ok": True}),
    )
    assert http.request("GET", "/page", retries=3).json() == {"ok": True}
    assert http.sleeps == [3.0, 1.0]
    assert len(ats_server.requests("GET", "/page")) == 3


def test_in_call_retries_stop_after_n_and_raise_the_last_error(
    http: Any, ats_server: AtsServer
) -> None:
    ats_server.on("GET", "/page", Reply.server_error())
    with pytest.raises(AtsServerError):
        http.request("GET", "/page", retries=2)
    assert len(ats_server.requests("GET", "/page")) == 3
    assert len(http.sleeps) == 2


def test_in_call_retries_back_off_exponentially(ats_server: AtsServer) -> None:
    sleeps: list[float] = []
    ats_server.on("GET", "/page", Reply.server_error(), Reply.server_error(), Reply(200, json=1))
    client = HttpClient(
        base_url=ats_server.url, sleep=sleeps.append, rng=FixedRng("high"), retry_base=1.5
    )
    assert client.request("GET", "/page", retries=2).json() == 1
    assert sleeps == [1.5, 3.0]


def test_a_timeout_is_retried_in_call(http: Any, ats_server: AtsServer) -> None:
    ats_server.on("GET", "/page", Reply.slow(2.0, json={}), Reply(200, json={"ok": True}))
    assert http.request("GET", "/page", retries=1, timeout=(1, 0.2)).json() == {"ok": True}
    assert len(http.sleeps) == 1


def test_permanent_errors_are_not_retried_in_call(http: Any, ats_server: AtsServer) -> None:
    ats_server.on("GET", "/page", Reply(422, json={"message": "bad"}))
    with pytest.raises(AtsPermanentError):
        http.request("GET", "/page", retries=5)
    assert len(ats_server.requests("GET", "/page")) == 1
    assert http.sleeps == []


def test_retry_after_longer_than_the_in_call_cap_is_not_slept_through(
    http: Any, ats_server: AtsServer
) -> None:
    ats_server.on("GET", "/page", Reply.rate_limited(retry_after=3600))
    with pytest.raises(AtsRateLimited) as caught:
        http.request("GET", "/page", retries=3)
    assert caught.value.retry_after == 3600
    assert http.sleeps == []


def test_writes_are_not_retried_by_default(http: Any, ats_server: AtsServer) -> None:
    ats_server.on("POST", "/x", Reply.server_error())
    with pytest.raises(AtsServerError):
        http.request("POST", "/x", json={})
    assert len(ats_server.requests("POST", "/x")) == 1


# --- secrets ----------------------------------------------------------------------------------
def test_secrets_never_appear_in_errors_or_logs(
    http: HttpClient, ats_server: AtsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http.add_secret(TOKEN)
    echo = (
        f'{{"error": "invalid key {SECRET}", "access_token": "{TOKEN}", '
        f'"echo": "Authorization: Basic c2stbGl2ZS1hYmNkZWZnaGlqa2xtbm9wOg=="}}'
    )
    ats_server.on("POST", "/x", Reply(401, body=echo))
    with pytest.raises(AtsAuthError) as caught:
        http.request("POST", "/x", json={"k": SECRET}, headers={"Authorization": f"Bearer {TOKEN}"})
    shown = f"{caught.value} {caught.value.excerpt} {caplog.text}"
    assert SECRET not in shown
    assert TOKEN not in shown
    assert "c2stbGl2ZS1hYmNkZWZnaGlqa2xtbm9wOg" not in shown
    assert "[redacted]" in caught.value.excerpt


def test_credential_looking_query_values_are_hidden_in_messages(
    http: HttpClient, ats_server: AtsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="integrations")
    ats_server.on("GET", "/x", Reply.slow(2.0))
    with pytest.raises(AtsTimeout) as caught:
        http.request("GET", "/x", params={"api_key": "qwerty-1234", "page": "2"}, timeout=0.2)
    assert "qwerty-1234" not in str(caught.value)
    assert "qwerty-1234" not in caplog.text
    assert "page=2" in str(caught.value)


def test_redact_and_display_url() -> None:
    assert redact(f"key={SECRET}!", [SECRET]) == "key=[redacted]!"
    assert redact('{"client_secret": "abc"}') == '{"client_secret": "[redacted]"}'
    assert redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer [redacted]"
    assert redact("grant_type=x&client_secret=s3cr3t") == "grant_type=x&client_secret=[redacted]"
    shown = display_url("https://user:pw@example.com/a?token=t&perform_as=u1")
    assert shown == "https://example.com/a?token=[redacted]&perform_as=u1"


@pytest.mark.django_db
def test_an_unreadable_credential_is_a_permanent_auth_error(monkeypatch: Any) -> None:
    monkeypatch.delenv("SB_TEST_MISSING_KEY", raising=False)
    connection = AtsConnection(
        slug="c", name="c", provider="lever", api_key_env="SB_TEST_MISSING_KEY"
    )
    with pytest.raises(AtsAuthError) as caught:
        read_credential(connection.api_key, "Lever API key")
    assert "SB_TEST_MISSING_KEY" in str(caught.value)
    assert isinstance(caught.value, AtsError)
    assert not is_retryable(caught.value)


def test_is_retryable_only_for_transient_ats_errors() -> None:
    assert is_retryable(AtsTimeout("t"))
    assert is_retryable(AtsRateLimited("r", retry_after=1))
    assert is_retryable(AtsServerError("s"))
    assert not is_retryable(AtsAuthError("a"))
    assert not is_retryable(AtsPermanentError("p"))
    assert not is_retryable(ValueError("v"))
    assert AtsServerError("s").permanent is False


def test_retry_after_dates_are_timezone_aware() -> None:
    when = dt.datetime.fromtimestamp(NOW + 20, tz=dt.UTC).isoformat()
    assert parse_retry_after({"Retry-After": when}, now=NOW) == pytest.approx(20, abs=1)
