"""Outbound ATS clients against the loopback ATS: real sockets, recorded request shapes.

These are the acceptance tests for the writeback request shapes and failure handling of every
provider. Any request the loopback server has no route for gets a 404, so it fails.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from integrations import registry
from integrations.connectors.ashby.client import Client as AshbyClient
from integrations.connectors.base import StageChange
from integrations.connectors.generic.client import Client as GenericClient
from integrations.connectors.greenhouse.client import Client as GreenhouseClient
from integrations.connectors.lever.client import Client as LeverClient
from integrations.http import (
    AtsAuthError,
    AtsPermanentError,
    AtsRateLimited,
    AtsServerError,
    AtsTimeout,
    is_retryable,
)
from integrations.models import WritebackJob, WritebackKind
from tests.ats_server import (
    LOOPBACK_API_KEY,
    LOOPBACK_CLIENT_ID,
    LOOPBACK_WHSEC,
    AtsServer,
    RecordedRequest,
    Reply,
    loopback_connection,
)
from tests.factories import ApplicationFactory, WritebackJobFactory
from tests.integrations.test_lever_sync import POSTING as LEVER_POSTING
from tests.integrations.test_lever_sync import lever_opportunity

pytestmark = pytest.mark.django_db

# The loopback fixture; redundant (and harmless) once tests/conftest.py lists tests.ats_server
# in pytest_plugins.

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"
SINCE = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
NOTE_TEXT = "AI interview completed — band: Strong (82/100)\n• Clear answers\nReport: https://x/r/1"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def make_job(connection: Any, kind: str, payload: Any, **application: Any) -> WritebackJob:
    app = ApplicationFactory(connection=connection, **application)
    return WritebackJobFactory(connection=connection, application=app, kind=kind, payload=payload)


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- one writeback per provider, for the cross-provider failure tests --------------------------
WRITES: dict[str, dict[str, Any]] = {
    "greenhouse": {
        "method": "PATCH",
        "path": "/v3/applications/{id}",
        "kind": WritebackKind.CUSTOM_FIELDS,
        "payload": {"custom_fields": {"ai_interview_status": "Completed"}},
        "success": Reply(200, json={"id": 265277}),
        "error": {
            "message": "Validation error",
            "errors": [{"message": "Option 'Maybe' not found", "field": "ai_interview_status"}],
        },
        "error_text": "Option 'Maybe' not found",
    },
    "lever": {
        "method": "POST",
        "path": "/v1/opportunities/{id}/notes",
        "kind": WritebackKind.NOTE,
        "payload": {"body": NOTE_TEXT},
        "success": Reply(201, json={"data": {"noteId": "n-1"}}),
        "error": {"code": "InvalidRequest", "message": "Note value exceeds maximum length"},
        "error_text": "Note value exceeds maximum length",
    },
    "ashby": {
        "method": "POST",
        "path": "/customField.setValue",
        "kind": WritebackKind.CUSTOM_FIELDS,
        "payload": {"custom_fields": {"f-band": "Strong"}},
        "success": Reply(200, json={"success": True, "results": {}}),
        "error": {"message": "fieldValue does not match a selectable value"},
        "error_text": "fieldValue does not match a selectable value",
    },
    "generic": {
        "method": "POST",
        "path": "/writebacks",
        "kind": WritebackKind.GENERIC,
        "payload": {"band": "strong", "score": 82},
        "success": Reply(202, json={"id": "wb-9"}),
        "error": {"error": "unknown application_id"},
        "error_text": "unknown application_id",
    },
}
PROVIDERS = list(WRITES)


def provider_job(server: AtsServer, provider: str, **settings: Any) -> WritebackJob:
    connection = loopback_connection(server, provider, settings=settings)
    case = WRITES[provider]
    return make_job(connection, case["kind"], case["payload"])


def send(job: WritebackJob) -> Any:
    return registry.client_for(job.connection).send_writeback(job)


def test_registry_returns_each_providers_client(ats_server: AtsServer) -> None:
    expected = {
        "greenhouse": GreenhouseClient,
        "lever": LeverClient,
        "ashby": AshbyClient,
        "generic": GenericClient,
    }
    for provider, cls in expected.items():
        assert type(registry.client_for(loopback_connection(ats_server, provider))) is cls


@pytest.mark.parametrize("provider", PROVIDERS)
def test_429_is_rate_limited_with_the_retry_after_the_ats_gave(
    ats_server: AtsServer, provider: str
) -> None:
    job = provider_job(ats_server, provider)
    case = WRITES[provider]
    ats_server.on(case["method"], case["path"], Reply.rate_limited(retry_after=17))
    with pytest.raises(AtsRateLimited) as caught:
        send(job)
    assert caught.value.retry_after == 17
    assert caught.value.status_code == 429
    assert is_retryable(caught.value)
    assert len(ats_server.requests(case["method"], case["path"])) == 1  # writes: no in-call retry


@pytest.mark.parametrize("provider", PROVIDERS)
def test_500_then_success_when_the_job_is_sent_again(ats_server: AtsServer, provider: str) -> None:
    job = provider_job(ats_server, provider)
    case = WRITES[provider]
    ats_server.on(case["method"], case["path"], Reply.server_error(), case["success"])
    with pytest.raises(AtsServerError) as caught:
        send(job)
    assert is_retryable(caught.value)
    outcome = send(job)
    assert outcome.status_code == case["success"].status
    first, second = ats_server.requests(case["method"], case["path"])
    assert first.raw_body == second.raw_body  # the same write, repeated
    assert ats_server.unmatched == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_read_timeout_is_retryable_and_the_next_attempt_succeeds(
    ats_server: AtsServer, provider: str
) -> None:
    job = provider_job(ats_server, provider, http_timeout=[1, 0.3])
    case = WRITES[provider]
    ats_server.on(case["method"], case["path"], Reply.slow(1.5, json={}), case["success"])
    with pytest.raises(AtsTimeout) as caught:
        send(job)
    assert is_retryable(caught.value)
    assert "read timeout after 0.3s" in str(caught.value)
    assert send(job).status_code == case["success"].status


@pytest.mark.parametrize("provider", PROVIDERS)
def test_422_is_permanent_after_one_attempt_with_the_ats_error_visible(
    ats_server: AtsServer, provider: str
) -> None:
    job = provider_job(ats_server, provider)
    case = WRITES[provider]
    ats_server.on(case["method"], case["path"], Reply(422, json=case["error"]))
    with pytest.raises(AtsPermanentError) as caught:
        send(job)
    assert not is_retryable(caught.value)
    assert caught.value.status_code == 422
    assert case["error_text"] in caught.value.excerpt
    assert case["error_text"] in str(caught.value)
    assert len(ats_server.requests(case["method"], case["path"])) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_secrets_never_reach_errors_or_logs(
    ats_server: AtsServer, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    job = provider_job(ats_server, provider)
    case = WRITES[provider]

    secret = LOOPBACK_WHSEC if provider == "generic" else LOOPBACK_API_KEY

    def echo(request: RecordedRequest) -> Reply:
        # A misbehaving ATS that echoes the request's credentials back in its error page.
        leaked = f"auth={request.header('authorization')} key={secret} body={request.raw_body!r}"
        return Reply(500, body=leaked)

    ats_server.on(case["method"], case["path"], echo)
    with pytest.raises(AtsServerError) as caught:
        send(job)
    shown = f"{caught.value}\n{caught.value.excerpt}\n{caplog.text}"
    assert "key=[redacted]" in caught.value.excerpt
    assert secret not in shown
    assert secret.removeprefix("whsec_") not in shown
    assert "loopback-token-" not in shown
    assert base64.b64encode(f"{secret}:".encode()).decode() not in shown


def test_a_missing_api_key_is_a_permanent_auth_error(
    ats_server: AtsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SB_LEVER_KEY_UNSET", raising=False)
    connection = loopback_connection(ats_server, "lever", api_key_env="SB_LEVER_KEY_UNSET")
    job = make_job(connection, WritebackKind.NOTE, {"body": "hi"})
    with pytest.raises(AtsAuthError) as caught:
        send(job)
    assert "SB_LEVER_KEY_UNSET" in str(caught.value)
    assert ats_server.requests() == []


# --- Greenhouse -------------------------------------------------------------------------------
def greenhouse_job(server: AtsServer, kind: str, payload: Any, **fields: Any) -> WritebackJob:
    connection = loopback_connection(server, "greenhouse", **fields)
    return make_job(connection, kind, payload, remote_id="265277", candidate__remote_id="265772")


def token_reply(token: str, expires_in: int = 3600) -> Reply:
    return Reply(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    )


def test_greenhouse_v3_custom_fields_patch_the_application_with_a_bearer_token(
    ats_server: AtsServer,
) -> None:
    ats_server.on("POST", "/token", token_reply("gh-access-1"))
    job = greenhouse_job(
        ats_server,
        WritebackKind.CUSTOM_FIELDS,
        {
            "custom_fields": {
                "ai_interview_status": "Completed",
                "ai_interview_score_band": "Strong",
            }
        },
    )
    outcome = send(job)
    assert (outcome.status_code, outcome.remote_reference) == (200, "265277")

    [token_request] = ats_server.requests("POST", "/token")
    assert token_request.basic_auth == (LOOPBACK_CLIENT_ID, LOOPBACK_API_KEY)
    assert token_request.form == {"grant_type": "client_credentials", "sub": "4080"}
    assert token_request.header("content-type") == "application/x-www-form-urlencoded"

    [patch] = ats_server.requests("PATCH", "/v3/applications/265277")
    assert patch.header("authorization") == "Bearer gh-access-1"
    assert patch.header("on-behalf-of") is None  # v3: the token's sub is the acting user
    assert patch.header("content-type") == "application/json"
    assert patch.json == {
        "custom_fields": [
            {"name_key": "ai_interview_status", "value": "Completed"},
            {"name_key": "ai_interview_score_band", "value": "Strong"},
        ]
    }
    assert ats_server.unmatched == []


def test_greenhouse_custom_fields_given_as_a_list_pass_through(ats_server: AtsServer) -> None:
    fields = [{"name_key": "ai_interview_status", "value": "Completed"}, {"id": 9, "value": 3}]
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": fields})
    send(job)
    [patch] = ats_server.requests("PATCH", "/v3/applications/265277")
    assert patch.json == {"custom_fields": fields}


def test_greenhouse_v3_note_is_posted_to_the_presumed_notes_endpoint(
    ats_server: AtsServer,
) -> None:
    job = greenhouse_job(ats_server, WritebackKind.NOTE, {"body": NOTE_TEXT})
    outcome = send(job)
    assert (outcome.status_code, outcome.remote_reference) == (201, "226809052")
    [note] = ats_server.requests("POST", "/v3/notes")
    assert note.json == {"candidate_id": 265772, "body": NOTE_TEXT, "visibility": "private"}
    assert note.header("authorization", "").startswith("Bearer ")


def test_greenhouse_v1_writes_use_basic_auth_and_on_behalf_of(ats_server: AtsServer) -> None:
    connection = loopback_connection(
        ats_server, "greenhouse", settings={"harvest_version": "v1"}, on_behalf_of="4080"
    )
    fields_job = make_job(
        connection,
        WritebackKind.CUSTOM_FIELDS,
        {"custom_fields": {"ai_interview_status": "Completed"}},
        remote_id="265277",
        candidate__remote_id="265772",
    )
    note_job = WritebackJobFactory(
        connection=connection,
        application=fields_job.application,
        kind=WritebackKind.NOTE,
        payload={"body": NOTE_TEXT, "visibility": "admin_only"},
    )
    send(fields_job)
    assert send(note_job).remote_reference == "226809052"

    [patch] = ats_server.requests("PATCH", "/v1/applications/265277")
    assert patch.header("authorization") == basic(LOOPBACK_API_KEY)
    assert patch.header("on-behalf-of") == "4080"
    assert patch.json == {
        "custom_fields": [{"name_key": "ai_interview_status", "value": "Completed"}]
    }
    [note] = ats_server.requests("POST", "/v1/candidates/265772/activity_feed/notes")
    assert note.header("authorization") == basic(LOOPBACK_API_KEY)
    assert note.header("on-behalf-of") == "4080"
    assert note.json == {"user_id": 4080, "body": NOTE_TEXT, "visibility": "admin_only"}
    assert ats_server.requests("POST", "/token") == []


def test_greenhouse_v1_write_without_an_acting_user_is_refused_before_sending(
    ats_server: AtsServer,
) -> None:
    job = greenhouse_job(
        ats_server,
        WritebackKind.NOTE,
        {"body": "x"},
        settings={"harvest_version": "v1"},
        on_behalf_of="",
    )
    with pytest.raises(AtsPermanentError, match="on_behalf_of"):
        send(job)
    assert ats_server.requests() == []


def test_greenhouse_token_is_cached_across_calls_and_clients(ats_server: AtsServer) -> None:
    ats_server.on("POST", "/token", token_reply("gh-access-1"), token_reply("gh-access-2"))
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    send(job)
    send(job)
    GreenhouseClient(job.connection).send_writeback(job)
    assert len(ats_server.requests("POST", "/token")) == 1
    patches = ats_server.requests("PATCH", "/v3/applications/265277")
    assert [p.header("authorization") for p in patches] == ["Bearer gh-access-1"] * 3


def test_greenhouse_token_close_to_expiry_is_not_reused(ats_server: AtsServer) -> None:
    # A token living less than the safety margin is used once and not cached.
    ats_server.on("POST", "/token", token_reply("short-1", 60), token_reply("short-2", 60))
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    send(job)
    send(job)
    patches = ats_server.requests("PATCH", "/v3/applications/265277")
    assert [p.header("authorization") for p in patches] == ["Bearer short-1", "Bearer short-2"]


def test_greenhouse_expired_token_is_refreshed_once_and_the_call_retried(
    ats_server: AtsServer,
) -> None:
    ats_server.on("POST", "/token", token_reply("expired-1"), token_reply("fresh-2"))
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    send(job)  # caches expired-1, which the ATS then stops accepting
    ats_server.on(
        "PATCH",
        "/v3/applications/265277",
        Reply(401, json={"message": "Bearer token expired"}),
        Reply(200, json={"id": 265277}),
    )
    assert send(job).status_code == 200

    assert len(ats_server.requests("POST", "/token")) == 2
    patches = ats_server.requests("PATCH", "/v3/applications/{id}")
    assert [p.header("authorization") for p in patches] == [
        "Bearer expired-1",
        "Bearer expired-1",
        "Bearer fresh-2",
    ]
    # The refreshed token is cached for the next call: no third token request.
    send(job)
    assert len(ats_server.requests("POST", "/token")) == 2
    last = ats_server.requests("PATCH", "/v3/applications/265277")[-1]
    assert last.header("authorization") == "Bearer fresh-2"


def test_greenhouse_401_after_a_refresh_is_a_permanent_auth_error(ats_server: AtsServer) -> None:
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    ats_server.on("PATCH", "/v3/applications/265277", Reply(401, json={"message": "nope"}))
    with pytest.raises(AtsAuthError) as caught:
        send(job)
    assert caught.value.status_code == 401
    assert len(ats_server.requests("PATCH", "/v3/applications/265277")) == 2
    assert len(ats_server.requests("POST", "/token")) == 2


def test_greenhouse_403_is_not_a_token_problem(ats_server: AtsServer) -> None:
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    ats_server.on("PATCH", "/v3/applications/265277", Reply(403, json={"message": "Access Denied"}))
    with pytest.raises(AtsAuthError, match="Access Denied"):
        send(job)
    assert len(ats_server.requests("POST", "/token")) == 1


def test_greenhouse_refused_client_credentials_are_an_auth_error(ats_server: AtsServer) -> None:
    job = greenhouse_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    ats_server.on("POST", "/token", Reply(400, json={"error": "invalid_client"}))
    with pytest.raises(AtsAuthError, match="invalid_client") as caught:
        send(job)
    assert LOOPBACK_API_KEY not in str(caught.value)
    assert ats_server.requests("PATCH", "/v3/applications/{id}") == []


def test_greenhouse_v3_without_a_client_id_is_an_auth_error(ats_server: AtsServer) -> None:
    job = greenhouse_job(
        ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}}, api_client_id=""
    )
    with pytest.raises(AtsAuthError, match="api_client_id"):
        send(job)


def test_greenhouse_cannot_write_tags(ats_server: AtsServer) -> None:
    job = greenhouse_job(ats_server, WritebackKind.TAGS, {"tags": ["x"]})
    with pytest.raises(AtsPermanentError, match="tags"):
        send(job)


def _by_ids(items: list[dict[str, Any]], param: str) -> Any:
    def answer(request: RecordedRequest) -> Reply:
        wanted = set(request.query[param].split(","))
        return Reply(200, json=[item for item in items if str(item["id"]) in wanted])

    return answer


def test_greenhouse_v3_reconcile_follows_the_link_header_across_three_pages(
    ats_server: AtsServer,
) -> None:
    apps = load("greenhouse_v3_applications.json")
    lookups = load("greenhouse_v3_lookups.json")
    base = f"{ats_server.url}/v3/applications"

    def pages(request: RecordedRequest) -> Reply:
        index = {"": 0, "p2": 1, "p3": 2}[request.query.get("cursor", "")]
        headers = {}
        if index < 2:
            headers["Link"] = f'<{base}?cursor=p{index + 2}>; rel="next"'
        return Reply(200, json=[apps[index]], headers=headers)

    ats_server.on("GET", "/v3/applications", pages)
    ats_server.on("GET", "/v3/candidates", _by_ids(lookups["candidates"], "ids"))
    ats_server.on("GET", "/v3/jobs", _by_ids(lookups["jobs"], "ids"))
    ats_server.on(
        "GET", "/v3/job_interview_stages", _by_ids(lookups["job_interview_stages"], "ids")
    )
    connection = loopback_connection(ats_server, "greenhouse")

    changes = list(GreenhouseClient(connection).iter_stage_changes(since=SINCE))

    first, second, third = ats_server.requests("GET", "/v3/applications")
    assert first.query == {"per_page": "100", "updated_at": "gte|2026-04-01T00:00:00Z"}
    assert second.raw_query == "cursor=p2"  # a cursor URL takes no other parameter
    assert third.raw_query == "cursor=p3"
    assert [c.application_remote_id for c in changes] == ["265277", "265278", "265280"]
    assert changes[0].candidate.first_name == "Giuseppe"
    assert changes[0].candidate.email == "giuseppe.hurley@example.com"
    assert (changes[0].remote_stage_id, changes[0].remote_stage_name) == ("71416", "AI Interview")
    assert changes[0].requisition.title == "Support Engineer"
    assert changes[0].occurred_at == dt.datetime(2026, 4, 9, 16, 38, 36, tzinfo=dt.UTC)
    assert [c.outcome for c in changes] == ["", "rejected", "hired"]
    assert changes[2].requisition.status == "closed"
    # Jobs are remembered for the run: job 3485 appears on two pages, fetched once.
    assert len(ats_server.requests("GET", "/v3/jobs")) == 2
    assert ats_server.requests("GET", "/v3/candidates")[0].query["ids"] == "265772"
    assert len(ats_server.requests("POST", "/token")) == 1
    assert ats_server.unmatched == []


def test_greenhouse_v1_reconcile_pages_by_link_and_skips_prospects(ats_server: AtsServer) -> None:
    apps = load("greenhouse_v1_applications.json")
    candidates = load("greenhouse_v1_candidates.json")
    base = f"{ats_server.url}/v1/applications"

    def pages(request: RecordedRequest) -> Reply:
        if request.query.get("page") == "2":
            return Reply(200, json=apps[2:], headers={"Link": f'<{base}?page=1>; rel="prev"'})
        link = f'<{base}?page=2&per_page=100>; rel="next", <{base}?page=2>; rel="last"'
        return Reply(200, json=apps[:2], headers={"Link": link})

    ats_server.on("GET", "/v1/applications", pages)
    ats_server.on("GET", "/v1/candidates", _by_ids(candidates, "candidate_ids"))
    connection = loopback_connection(ats_server, "greenhouse", settings={"harvest_version": "v1"})

    changes = list(GreenhouseClient(connection).iter_stage_changes(since=SINCE))

    first, second = ats_server.requests("GET", "/v1/applications")
    assert first.query == {"per_page": "100", "last_activity_after": "2026-04-01T00:00:00Z"}
    assert first.header("authorization") == basic(LOOPBACK_API_KEY)
    assert second.query == {"page": "2", "per_page": "100"}
    assert [c.application_remote_id for c in changes] == ["265277", "265278"]
    assert changes[1].candidate.last_name == "Lacey"
    assert changes[1].outcome == "rejected"
    assert changes[1].remote_stage_name == "Application Review"
    assert ats_server.requests("GET", "/v1/candidates")[0].query["candidate_ids"] == (
        "265772,265773"
    )


def test_greenhouse_pagination_link_to_another_host_is_refused(ats_server: AtsServer) -> None:
    link = '<https://evil.example.com/v3/applications?cursor=x>; rel="next"'
    ats_server.on("GET", "/v3/applications", Reply(200, json=[], headers={"Link": link}))
    connection = loopback_connection(ats_server, "greenhouse")
    with pytest.raises(AtsPermanentError, match="another host"):
        list(GreenhouseClient(connection).iter_stage_changes(since=None))


def test_greenhouse_reconcile_reads_retry_a_rate_limit_in_call(ats_server: AtsServer) -> None:
    ats_server.on("GET", "/v3/applications", Reply.rate_limited(retry_after=2), Reply(200, json=[]))
    client = GreenhouseClient(loopback_connection(ats_server, "greenhouse"))
    sleeps: list[float] = []
    client.http.sleep = sleeps.append
    assert list(client.iter_stage_changes(since=None)) == []
    assert sleeps[0] >= 2
    assert len(ats_server.requests("GET", "/v3/applications")) == 2


# --- Lever ------------------------------------------------------------------------------------
OPPORTUNITY = "3410c8b9-5c31-4bab-b7e9-9f710206d647"
LEVER_USER = "8d49b010-cc6a-4f40-ace5-e86061c677ed"


def lever_job(server: AtsServer, kind: str, payload: Any) -> WritebackJob:
    connection = loopback_connection(server, "lever", on_behalf_of=LEVER_USER)
    return make_job(connection, kind, payload, remote_id=OPPORTUNITY)


def test_lever_note_is_posted_as_the_acting_user(ats_server: AtsServer) -> None:
    job = lever_job(ats_server, WritebackKind.NOTE, {"body": NOTE_TEXT, "score": 3})
    outcome = send(job)
    assert (outcome.status_code, outcome.remote_reference) == (
        201,
        "915a6cef-4f91-4f3d-b8ff-a49e1eae2c30",
    )
    [note] = ats_server.requests("POST", f"/v1/opportunities/{OPPORTUNITY}/notes")
    assert note.query_list == {"perform_as": [LEVER_USER]}
    assert note.header("authorization") == basic(LOOPBACK_API_KEY)
    assert note.json == {"value": NOTE_TEXT, "secret": False, "notifyFollowers": False, "score": 3}


def test_lever_tags_are_added_as_the_acting_user(ats_server: AtsServer) -> None:
    tags = ["AI Interview: Completed", "AI Band: Strong"]
    job = lever_job(ats_server, WritebackKind.TAGS, {"tags": tags})
    assert send(job).status_code == 200
    [request] = ats_server.requests("POST", f"/v1/opportunities/{OPPORTUNITY}/addTags")
    assert request.query == {"perform_as": LEVER_USER}
    assert request.json == {"tags": tags}
    assert request.header("authorization") == basic(LOOPBACK_API_KEY)


def test_lever_cannot_write_custom_fields(ats_server: AtsServer) -> None:
    job = lever_job(ats_server, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"a": 1}})
    with pytest.raises(AtsPermanentError, match="custom_fields"):
        send(job)
    assert ats_server.requests() == []


def test_lever_stage_name_is_fetched_once_and_cached(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "lever")
    assert LeverClient(connection).stage_name("7c2690d8") == "Phone Screen"
    assert LeverClient(connection).stage_name("7c2690d8") == "Phone Screen"
    [request] = ats_server.requests("GET", "/v1/stages/{id}")
    assert request.path == "/v1/stages/7c2690d8"


def test_lever_stage_name_read_retries_a_timeout_in_call(ats_server: AtsServer) -> None:
    ats_server.on(
        "GET",
        "/v1/stages/{id}",
        Reply.slow(1.5),
        Reply(200, json={"data": {"id": "s", "text": "Onsite"}}),
    )
    client = LeverClient(loopback_connection(ats_server, "lever", settings={"http_timeout": 0.3}))
    sleeps: list[float] = []
    client.http.sleep = sleeps.append
    assert client.stage_name("s") == "Onsite"
    assert len(sleeps) == 1
    assert len(ats_server.requests("GET", "/v1/stages/s")) == 2


def test_lever_reconcile_follows_the_offset_while_has_next(ats_server: AtsServer) -> None:
    opportunities = load("lever_opportunities.json")
    lookups = load("lever_lookups.json")

    def pages(request: RecordedRequest) -> Reply:
        index = {"": 0, "o2": 1, "o3": 2}[request.query.get("offset", "")]
        has_next = index < 2
        body: dict[str, Any] = {"data": [opportunities[index]], "hasNext": has_next}
        if has_next:
            body["next"] = f"o{index + 2}"
        return Reply(200, json=body)

    ats_server.on("GET", "/v1/opportunities", pages)
    ats_server.on("GET", "/v1/postings/{id}", Reply(200, json={"data": lookups["posting"]}))
    ats_server.on(
        "GET", "/v1/archive_reasons", Reply(200, json={"data": lookups["archive_reasons"]})
    )
    connection = loopback_connection(ats_server, "lever")

    changes = list(LeverClient(connection).iter_stage_changes(since=SINCE))

    first, second, third = ats_server.requests("GET", "/v1/opportunities")
    assert first.query_list == {
        "limit": ["100"],
        "expand": ["stage", "applications"],
        "updated_at_start": [str(int(SINCE.timestamp() * 1000))],
    }
    assert second.query["offset"] == "o2"
    assert second.query["updated_at_start"] == first.query["updated_at_start"]
    assert third.query["offset"] == "o3"
    # The third opportunity has no posting (a sourced lead): it cannot be an Application.
    assert [c.application_remote_id for c in changes] == [
        OPPORTUNITY,
        "51f0a6d1-8f5e-4b51-9a3f-2bd0f1d2c3e4",
    ]
    jane, ravi = changes
    assert jane.candidate.remote_id == "05c248f9-ccb1-435f-bab5-0ec608aec263"
    assert (jane.candidate.first_name, jane.candidate.last_name) == ("Jane", "Doe")
    assert jane.candidate.email == "jane.doe@example.com"
    assert (jane.remote_stage_id, jane.remote_stage_name) == (
        "7c2690d8-6308-4ed9-ae2a-cbfe7db26593",
        "Phone Screen",
    )
    assert jane.requisition.title == "Customer Support Specialist"
    assert jane.requisition.location == "Lisbon"
    assert jane.occurred_at == dt.datetime.fromtimestamp(1775800000, tz=dt.UTC)
    assert jane.outcome == ""
    assert ravi.outcome == "hired"
    assert len(ats_server.requests("GET", "/v1/postings/{id}")) == 1
    assert len(ats_server.requests("GET", "/v1/archive_reasons")) == 1
    assert ats_server.unmatched == []


def lever_reads(server: AtsServer, opportunity: dict[str, Any] | Reply) -> LeverClient:
    """A Lever client whose server answers one opportunity, the posting and archive reasons."""
    lookups = load("lever_lookups.json")
    reply = (
        opportunity if isinstance(opportunity, Reply) else Reply(200, json={"data": opportunity})
    )
    server.on("GET", "/v1/opportunities/{id}", reply)
    server.on("GET", "/v1/postings/{id}", Reply(200, json={"data": lookups["posting"]}))
    server.on("GET", "/v1/archive_reasons", Reply(200, json={"data": lookups["archive_reasons"]}))
    client = LeverClient(loopback_connection(server, "lever"))
    client.http.sleep = lambda seconds: None  # in-call retry delays: not slept in tests
    return client


def test_lever_opportunity_read_expands_stage_applications_and_contact(
    ats_server: AtsServer,
) -> None:
    client = lever_reads(ats_server, lever_opportunity())

    change = client.opportunity_stage_change(OPPORTUNITY)

    [read] = ats_server.requests("GET", "/v1/opportunities/{id}")
    assert read.path == f"/v1/opportunities/{OPPORTUNITY}"
    assert read.query_list == {"expand": ["stage", "applications", "contact"]}
    assert read.header("authorization") == basic(LOOPBACK_API_KEY)
    assert change is not None
    assert change.application_remote_id == OPPORTUNITY
    # The person comes from the expanded contact; the opportunity id is not a person.
    assert change.candidate.remote_id == "05c248f9-ccb1-435f-bab5-0ec608aec263"
    assert (change.candidate.first_name, change.candidate.last_name) == ("Jane", "Doe")
    assert change.candidate.email == "jane.doe@example.com"
    assert (change.remote_stage_id, change.remote_stage_name) == (
        "7c2690d8-6308-4ed9-ae2a-cbfe7db26593",
        "AI Interview",
    )
    # The same posting lookup as reconcile.
    assert change.requisition.remote_id == LEVER_POSTING
    assert (change.requisition.title, change.requisition.status) == (
        "Customer Support Specialist",
        "open",
    )
    assert change.outcome == ""
    assert change.occurred_at == dt.datetime.fromtimestamp(1775800000, tz=dt.UTC)
    assert change.applied_at == dt.datetime.fromtimestamp(1775000000, tz=dt.UTC)
    assert [r.path for r in ats_server.requests("GET", "/v1/postings/{id}")] == [
        f"/v1/postings/{LEVER_POSTING}"
    ]
    assert ats_server.requests("GET", "/v1/archive_reasons") == []
    assert ats_server.unmatched == []


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("63dd55b2-a99f-4e7b-985f-22c7bf80ab42", "hired"),
        ("0b9e6f4e-6b2b-4ac1-8b0e-9a3c0f1d2e3f", "rejected"),
    ],
)
def test_lever_archived_opportunity_outcome_is_its_reasons_type(
    ats_server: AtsServer, reason: str, outcome: str
) -> None:
    archived = {"archivedAt": 1775900000000, "reason": reason}
    client = lever_reads(ats_server, lever_opportunity(archived=archived))

    change = client.opportunity_stage_change(OPPORTUNITY)

    assert change is not None
    assert change.outcome == outcome
    assert len(ats_server.requests("GET", "/v1/archive_reasons")) == 1


def test_lever_opportunity_without_a_posting_is_not_an_application(ats_server: AtsServer) -> None:
    client = lever_reads(ats_server, lever_opportunity(posting=None))

    assert client.opportunity_stage_change(OPPORTUNITY) is None
    assert ats_server.requests("GET", "/v1/postings/{id}") == []


def test_lever_opportunity_without_update_time_is_dated_by_its_last_advance(
    ats_server: AtsServer,
) -> None:
    opportunity = lever_opportunity()
    opportunity.update(updatedAt=None, lastAdvancedAt=1775700000000)
    client = lever_reads(ats_server, opportunity)

    change = client.opportunity_stage_change(OPPORTUNITY)

    assert change is not None
    assert change.occurred_at == dt.datetime.fromtimestamp(1775700000, tz=dt.UTC)


def test_lever_opportunity_id_from_a_webhook_body_stays_one_path_segment(
    ats_server: AtsServer,
) -> None:
    client = lever_reads(ats_server, Reply(404, json={"code": "ResourceNotFound"}))

    with pytest.raises(AtsPermanentError, match="HTTP 404"):
        client.opportunity_stage_change("../stages/x?expand=y")

    [read] = ats_server.requests("GET", "/v1/opportunities/{id}")
    assert read.path == "/v1/opportunities/..%2Fstages%2Fx%3Fexpand%3Dy"
    assert read.query_list == {"expand": ["stage", "applications", "contact"]}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply.server_error(503), AtsServerError),
        (Reply(200, json={"data": []}), AtsServerError),
        (Reply(403, json={"code": "Forbidden", "message": "confidential"}), AtsAuthError),
    ],
)
def test_lever_opportunity_read_errors_are_typed(
    ats_server: AtsServer, reply: Reply, error: type[Exception]
) -> None:
    client = lever_reads(ats_server, reply)

    with pytest.raises(error):
        client.opportunity_stage_change(OPPORTUNITY)

    # 5xx is retried in-call (READ_RETRIES); a bad 200 or a 403 is not.
    expected = 4 if reply.status >= 500 else 1
    assert len(ats_server.requests("GET", "/v1/opportunities/{id}")) == expected


# --- Ashby ------------------------------------------------------------------------------------
ASHBY_APPLICATION = "3ae2b801-19f6-41ef-ad28-214bd731948f"
ASHBY_CANDIDATE = "152fc51a-69f1-4815-b642-2f314ed22975"


def ashby_job(server: AtsServer, kind: str, payload: Any) -> WritebackJob:
    connection = loopback_connection(server, "ashby")
    return make_job(
        connection, kind, payload, remote_id=ASHBY_APPLICATION, candidate__remote_id=ASHBY_CANDIDATE
    )


def test_ashby_custom_fields_are_set_one_rpc_call_per_field(ats_server: AtsServer) -> None:
    job = ashby_job(
        ats_server,
        WritebackKind.CUSTOM_FIELDS,
        {"custom_fields": {"f-band": "Strong", "f-score": 82}},
    )
    outcome = send(job)
    assert (outcome.status_code, outcome.remote_reference) == (200, ASHBY_APPLICATION)
    first, second = ats_server.requests("POST", "/customField.setValue")
    for request in (first, second):
        assert request.header("authorization") == basic(LOOPBACK_API_KEY)
        assert request.header("accept") == "application/json; version=1"
        assert request.header("content-type") == "application/json"
    assert first.json == {
        "objectId": ASHBY_APPLICATION,
        "objectType": "Application",
        "fieldId": "f-band",
        "fieldValue": "Strong",
    }
    assert second.json["fieldId"] == "f-score"
    assert second.json["fieldValue"] == 82


def test_ashby_note_is_created_on_the_candidate(ats_server: AtsServer) -> None:
    job = ashby_job(ats_server, WritebackKind.NOTE, {"body": NOTE_TEXT})
    outcome = send(job)
    assert outcome.remote_reference == "546e6d7c-5f5c-4b6b-9e3a-2f6b9f3d1c11"
    [request] = ats_server.requests("POST", "/candidate.createNote")
    assert request.json == {
        "candidateId": ASHBY_CANDIDATE,
        "note": {"type": "text/plain", "value": NOTE_TEXT},
        "sendNotifications": False,
    }
    assert request.header("accept") == "application/json; version=1"


def test_ashby_http_200_with_success_false_is_permanent(ats_server: AtsServer) -> None:
    job = ashby_job(ats_server, WritebackKind.NOTE, {"body": NOTE_TEXT})
    ats_server.on(
        "POST",
        "/candidate.createNote",
        Reply(200, json={"success": False, "errors": ["candidate_not_found"]}),
    )
    with pytest.raises(AtsPermanentError) as caught:
        send(job)
    assert caught.value.status_code == 200
    assert "candidate_not_found" in caught.value.excerpt
    assert "candidate_not_found" in str(caught.value)
    assert not is_retryable(caught.value)
    assert len(ats_server.requests("POST", "/candidate.createNote")) == 1


def test_ashby_reconcile_follows_the_cursor_and_keeps_recent_updates(
    ats_server: AtsServer,
) -> None:
    applications = load("ashby_applications.json")

    def pages(request: RecordedRequest) -> Reply:
        index = {None: 0, "c2": 1, "c3": 2}[request.json.get("cursor")]
        more = index < 2
        body = {"success": True, "results": [applications[index]], "moreDataAvailable": more}
        if more:
            body["nextCursor"] = f"c{index + 2}"
        return Reply(200, json=body)

    ats_server.on("POST", "/application.list", pages)
    connection = loopback_connection(ats_server, "ashby")

    changes = list(AshbyClient(connection).iter_stage_changes(since=SINCE))

    bodies = [r.json for r in ats_server.requests("POST", "/application.list")]
    assert bodies == [
        {"limit": 100},
        {"limit": 100, "cursor": "c2"},
        {"limit": 100, "cursor": "c3"},
    ]
    # The January update is older than `since`; the other two are kept.
    assert [c.application_remote_id for c in changes] == [
        ASHBY_APPLICATION,
        "9d8c7b6a-6666-4666-8666-666666666666",
    ]
    jane, sam = changes
    assert jane.candidate == jane.candidate.__class__(
        remote_id=ASHBY_CANDIDATE, first_name="Jane", last_name="Doe", email="jane@example.com"
    )
    assert (jane.remote_stage_id, jane.remote_stage_name) == (
        "8c2955af-1318-4800-9343-8828bdedd470",
        "AI Interview",
    )
    assert jane.requisition.title == "Support Engineer"
    assert sam.outcome == "rejected"


def test_ashby_stage_name_comes_from_interview_stage_info(ats_server: AtsServer) -> None:
    client = AshbyClient(loopback_connection(ats_server, "ashby"))
    assert client.stage_name("8c2955af") == "AI Interview"
    [request] = ats_server.requests("POST", "/interviewStage.info")
    assert request.json == {"interviewStageId": "8c2955af"}


# --- generic ----------------------------------------------------------------------------------
def verify_standard_webhook(secret: str, request: RecordedRequest, body: bytes) -> bool:
    """An independent Standard Webhooks v1 check (spec: HMAC-SHA256 over id.timestamp.body)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.header('webhook-id')}.{request.header('webhook-timestamp')}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + body, hashlib.sha256).digest()).decode()
    offered = [
        part.split(",", 1)[1]
        for part in (request.header("webhook-signature") or "").split()
        if part.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


def test_generic_writeback_is_signed_json_with_the_idempotency_key_as_webhook_id(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "generic")
    job = make_job(
        connection, WritebackKind.GENERIC, {"band": "strong", "note": "Ünïcode ✓"}, remote_id="A-1"
    )
    outcome = send(job)
    assert outcome.status_code == 200
    assert outcome.remote_reference.startswith("wb-")

    [request] = ats_server.requests("POST", "/writebacks")
    assert request.header("webhook-id") == str(job.idempotency_key)
    assert request.header("content-type") == "application/json"
    assert (
        abs(int(request.header("webhook-timestamp") or 0) - dt.datetime.now(tz=dt.UTC).timestamp())
        < 60
    )
    assert verify_standard_webhook(LOOPBACK_WHSEC, request, request.raw_body)
    assert request.json == {
        "type": "screenbridge.writeback",
        "kind": "generic",
        "application_id": "A-1",
        "payload": {"band": "strong", "note": "Ünïcode ✓"},
    }
    assert request.header("authorization") is None  # the secret never travels


def test_generic_signature_verifies_with_the_standard_webhooks_library(
    ats_server: AtsServer,
) -> None:
    import standardwebhooks  # a runtime dependency: never skip silently when it is missing

    connection = loopback_connection(ats_server, "generic")
    job = make_job(connection, WritebackKind.NOTE, {"body": "hello"})
    send(job)
    [request] = ats_server.requests("POST", "/writebacks")
    verified = standardwebhooks.Webhook(LOOPBACK_WHSEC).verify(
        request.raw_body, dict(request.headers)
    )
    assert verified["kind"] == "note"


def test_generic_retries_carry_the_same_webhook_id(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "generic")
    job = make_job(connection, WritebackKind.GENERIC, {"x": 1})
    ats_server.on("POST", "/writebacks", Reply(503), Reply(200, json={}))
    with pytest.raises(AtsServerError):
        send(job)
    send(job)
    first, second = ats_server.requests("POST", "/writebacks")
    assert first.header("webhook-id") == second.header("webhook-id") == str(job.idempotency_key)


def test_generic_bad_signing_secret_is_an_auth_error(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "generic", api_key="whsec_not base64!!")
    job = make_job(connection, WritebackKind.GENERIC, {"x": 1})
    with pytest.raises(AtsAuthError, match="whsec_"):
        send(job)
    assert ats_server.requests() == []


def test_generic_reconcile_pages_by_cursor_with_signed_reads(ats_server: AtsServer) -> None:
    items = load("generic_stage_changes.json")

    def pages(request: RecordedRequest) -> Reply:
        if request.query.get("cursor") == "n2":
            return Reply(200, json={"data": items[2:], "next_cursor": None})
        return Reply(200, json={"data": items[:2], "next_cursor": "n2"})

    ats_server.on("GET", "/applications", pages)
    connection = loopback_connection(ats_server, "generic")

    changes = list(GenericClient(connection).iter_stage_changes(since=SINCE))

    first, second = ats_server.requests("GET", "/applications")
    assert first.query == {"since": "2026-04-01T00:00:00+00:00"}
    assert second.query == {"since": "2026-04-01T00:00:00+00:00", "cursor": "n2"}
    for request in (first, second):
        assert verify_standard_webhook(LOOPBACK_WHSEC, request, b"")
    assert first.header("webhook-id") != second.header("webhook-id")
    assert [c.application_remote_id for c in changes] == ["A-100", "A-101", "A-102"]
    mia, omar, third = changes
    assert isinstance(mia, StageChange)
    assert (mia.candidate.first_name, mia.requisition.department) == ("Mia", "Sales")
    assert (mia.remote_stage_id, mia.remote_stage_name) == ("S-2", "Phone Screen")
    assert mia.applied_at == dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
    assert omar.outcome == "rejected"
    assert omar.requisition.title == "SDR"
    assert third.remote_stage_name == "Onsite"  # no "type": read as a stage change
    assert third.occurred_at == dt.datetime(2026, 4, 11, 8, 0, tzinfo=dt.UTC)


def test_generic_reconcile_stops_on_a_malformed_item(ats_server: AtsServer) -> None:
    item = {"type": "application.stage_changed", "application": {"id": "A-1"}, "stage": {}}
    ats_server.on("GET", "/applications", Reply(200, json={"data": [item], "next_cursor": None}))
    connection = loopback_connection(ats_server, "generic")
    with pytest.raises(AtsPermanentError, match="malformed"):
        list(GenericClient(connection).iter_stage_changes(since=None))


def test_generic_reconcile_needs_a_list_path(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "generic", settings={"list_path": ""})
    with pytest.raises(AtsPermanentError, match="list_path"):
        list(GenericClient(connection).iter_stage_changes(since=None))
