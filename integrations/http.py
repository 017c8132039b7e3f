"""The one door to the outside: every ATS call goes through :class:`HttpClient`.

This is the only module that imports ``requests`` (ruff bans it elsewhere). It gives every
connector the same guarantees:

- one ``requests.Session`` per client, so connections are pooled and kept alive;
- a timeout on every call — 5 s to connect, 30 s to read by default, configurable per call, never
  ``None``;
- no redirects on writes (a 3xx answer to a write is an error, never silently re-sent elsewhere);
- ``User-Agent: Screenbridge/<version>``;
- typed errors the writeback relay decides on (:func:`is_retryable`): :class:`AtsTimeout`,
  :class:`AtsRateLimited`, :class:`AtsServerError` (retryable) and :class:`AtsAuthError`,
  :class:`AtsPermanentError` (permanent). Each carries ``status_code``, a short body
  ``excerpt`` with secrets removed, and ``retry_after`` seconds when the ATS said so;
- an optional bounded in-call retry (``retries=N``) for reads such as reconcile paging.
  Writebacks use ``retries=0``: the outbox schedules their retries with :func:`backoff_delay`.

Secrets (API keys, client secrets, access tokens) are registered with :meth:`HttpClient.add_secret`
and scrubbed from every message and excerpt; headers are never logged.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import importlib.metadata
import json as jsonlib
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests  # noqa: TID251 - this module is the one allowed importer

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return importlib.metadata.version("screenbridge")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"


USER_AGENT = f"Screenbridge/{_version()}"

EXCERPT_CHARS = 500
REDACTED = "[redacted]"


# --- timeouts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for the TCP connection and then for each read of the answer."""

    connect: float = 5.0
    read: float = 30.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"timeout {name} must be a positive number of seconds")

    def as_tuple(self) -> tuple[float, float]:
        return (float(self.connect), float(self.read))


DEFAULT_TIMEOUT = Timeout()

type TimeoutLike = Timeout | float | int | tuple[float, float] | list[float] | None


def coerce_timeout(value: TimeoutLike, default: Timeout = DEFAULT_TIMEOUT) -> Timeout:
    """A :class:`Timeout` from a number (both parts), a pair, a Timeout or ``None`` (default).

    ``None`` means "the default", never "wait forever".
    """
    if value is None:
        return default
    if isinstance(value, Timeout):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Timeout(connect=float(value), read=float(value))
    if isinstance(value, tuple | list) and len(value) == 2:
        return Timeout(connect=float(value[0]), read=float(value[1]))
    raise ValueError(f"not a timeout: {value!r}")


# --- errors -----------------------------------------------------------------------------------
class AtsError(Exception):
    """An ATS call that did not succeed. ``retryable`` tells the relay whether to try again."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        excerpt: str = "",
        retry_after: float | None = None,
        elapsed_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.excerpt = excerpt
        self.retry_after = retry_after
        self.elapsed_ms = elapsed_ms

    @property
    def permanent(self) -> bool:
        return not self.retryable


class AtsTimeout(AtsError):
    """Connect or read timeout, refused/reset connection (or HTTP 408). Retryable."""

    retryable = True


class AtsRateLimited(AtsError):
    """HTTP 429; ``retry_after`` comes from ``Retry-After`` or ``X-RateLimit-Reset``. Retryable."""

    retryable = True


class AtsServerError(AtsError):
    """HTTP 5xx, or a success answer the client cannot read. Retryable."""

    retryable = True


class AtsAuthError(AtsError):
    """HTTP 401/403, or credentials that cannot be read or exchanged. Permanent."""


class AtsPermanentError(AtsError):
    """Any other 4xx (422 validation errors included), an unexpected redirect, or a write the
    ATS refused in its body (Ashby ``success: false``). Permanent: retrying cannot help."""


def is_retryable(exc: BaseException) -> bool:
    """True for the errors worth another attempt (timeouts, 429, 5xx)."""
    return isinstance(exc, AtsError) and exc.retryable


# --- backoff ----------------------------------------------------------------------------------
class _Uniform(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def backoff_delay(
    attempt: int,
    *,
    base: float = 2.0,
    cap: float = 600,
    retry_after: float | None = None,
    rng: _Uniform = random,  # type: ignore[assignment]
) -> float:
    """Seconds to wait before the next try, after ``attempt`` failed tries (1 = first failure).

    Exponential backoff with full jitter — uniform in ``[0, min(cap, base * 2**(attempt-1))]`` —
    so many jobs failing together do not retry together. A ``retry_after`` from the ATS is a
    floor (the ATS said "not before"), itself capped at ``cap``. Never negative, never above cap.
    """
    attempt = max(1, attempt)
    # min() before the power would overflow for silly attempt numbers.
    exponent = min(attempt - 1, 64)
    ceiling = min(float(cap), base * (2.0**exponent))
    delay = rng.uniform(0.0, ceiling)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(float(retry_after), float(cap)))
    return max(0.0, min(delay, float(cap)))


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the ATS asked us to wait, from ``Retry-After`` or ``X-RateLimit-Reset``.

    ``Retry-After`` is delta-seconds or an HTTP-date (RFC 9110). ``X-RateLimit-Reset`` is an epoch
    timestamp (seconds, or milliseconds) or seconds-until-reset, depending on the ATS (Greenhouse
    documents it as "the timestamp when you may retry"). ``None`` when neither is usable.
    """
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        seconds = _seconds_from_value(retry_after.strip(), now, numeric_is_epoch=False)
        if seconds is not None:
            return seconds
    reset = lowered.get("x-ratelimit-reset")
    if reset:
        return _seconds_from_value(reset.strip(), now, numeric_is_epoch=True)
    return None


def _seconds_from_value(value: str, now: float, *, numeric_is_epoch: bool) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number != number or number < 0:  # NaN or negative
            return None
        if numeric_is_epoch and number > 1e12:  # epoch milliseconds
            return max(0.0, number / 1000.0 - now)
        if numeric_is_epoch and number > 1e9:  # epoch seconds
            return max(0.0, number - now)
        return number
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


# --- redaction --------------------------------------------------------------------------------
_AUTH_VALUE_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}")
# Standard Webhooks secrets and keys (whsec_/whsk_/whpk_ + base64).
_WEBHOOK_KEY_RE = re.compile(r"\bwh(?:sec|sk|pk)_[A-Za-z0-9+/=]{8,}")
_SECRET_JSON_RE = re.compile(
    r'(?i)("(?:access_token|refresh_token|id_token|client_secret|api_key|apikey|password|secret|'
    r'token)"\s*:\s*)"[^"]*"'
)
_SECRET_FORM_RE = re.compile(
    r"(?i)\b(access_token|refresh_token|client_secret|api_key|password|token)=[^&\s]+"
)
_SENSITIVE_QUERY_KEY_RE = re.compile(r"(?i)token|secret|password|key|signature|sig|code|auth")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets and anything that looks like a credential replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _AUTH_VALUE_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _WEBHOOK_KEY_RE.sub(REDACTED, text)
    text = _SECRET_JSON_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return _SECRET_FORM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def display_url(url: str) -> str:
    """``url`` safe to show: no user info, credential-looking query values redacted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = urlencode(
        [
            (k, REDACTED if _SENSITIVE_QUERY_KEY_RE.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="[]|:",
    )
    shown = urlunsplit((parts.scheme, host, parts.path, query, ""))
    return shown if len(shown) <= 300 else shown[:297] + "..."


def same_origin(url: str, other: str) -> bool:
    """True if both URLs have the same scheme, host and port (pagination links stay home)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


# --- responses --------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpResponse:
    """A successful (2xx) answer, read completely; connectors never touch ``requests`` objects."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    elapsed_ms: int
    links: Mapping[str, str] = field(default_factory=dict)
    _secrets: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is the ATS's fault (retryable)."""
        try:
            return jsonlib.loads(self.content or b"null")
        except ValueError:
            raise AtsServerError(
                f"HTTP {self.status_code} from {display_url(self.url)}: answer is not JSON",
                status_code=self.status_code,
                excerpt=_excerpt(self.text, self._secrets),
                elapsed_ms=self.elapsed_ms,
            ) from None

    def json_or_none(self) -> Any:
        """The body as JSON, or ``None`` if it is empty or not JSON (optional details only)."""
        try:
            return jsonlib.loads(self.content) if self.content else None
        except ValueError:
            return None

    @property
    def next_link(self) -> str | None:
        """The ``Link: <...>; rel="next"`` URL (RFC 8288), if any."""
        return self.links.get("next")


def _with_params(url: str, params: Any) -> str:
    """``url`` with ``params`` encoded the way requests will send them (for messages)."""
    if not params:
        return url
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, params)
    except requests.exceptions.RequestException:
        return url
    return prepared.url or url


def _excerpt(text: str, secrets: Iterable[str]) -> str:
    cleaned = redact(" ".join(text.split()), secrets)
    return cleaned if len(cleaned) <= EXCERPT_CHARS else cleaned[: EXCERPT_CHARS - 3] + "..."


# --- client -----------------------------------------------------------------------------------
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HttpClient:
    """One pooled HTTP session for one ATS connection.

    ``base_url`` is prefixed to relative paths; absolute URLs (pagination links, token endpoints)
    are used as given. ``auth`` is a ``(user, password)`` pair for HTTP Basic. ``sleep`` and
    ``rng`` are injectable so tests can observe in-call retry delays without waiting.
    """

    def __init__(
        self,
        *,
        base_url: str = "",
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        rng: _Uniform = random,  # type: ignore[assignment]
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = coerce_timeout(timeout)
        self.sleep = sleep
        self.rng = rng
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._secrets: set[str] = set()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self.session.max_redirects = 5
        if headers:
            self.session.headers.update(headers)
        if auth is not None:
            self.session.auth = auth
            self.add_secret(auth[0], auth[1])
        self.add_secret(*secrets)

    # -- secrets -----------------------------------------------------------------------------
    def add_secret(self, *values: str) -> None:
        """Scrub these values (and their Basic-auth encodings) from messages and excerpts."""
        for value in values:
            if value and len(value) >= 4:
                self._secrets.add(value)
                self._secrets.add(base64.b64encode(f"{value}:".encode()).decode())

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        if "://" in path_or_url:
            return path_or_url
        if not path_or_url:
            return self.base_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json: Any = None,
        data: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: TimeoutLike = None,
        retries: int = 0,
        allow_redirects: bool | None = None,
    ) -> HttpResponse:
        """Send one request; return the 2xx answer or raise a typed :class:`AtsError`.

        ``retries`` (reads only; writebacks keep 0) retries timeouts, 429 and 5xx up to that many
        extra times, sleeping :func:`backoff_delay` (which honours ``Retry-After``) in between.
        A ``Retry-After`` longer than ``retry_cap`` is not slept through: the error is raised so
        the caller can come back later instead of holding a worker.
        """
        method = method.upper()
        if params is not None and not isinstance(params, Mapping):
            params = list(params)  # a generator would be empty on the second attempt
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send(
                    method,
                    path_or_url,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    auth=auth,
                    timeout=timeout,
                    allow_redirects=allow_redirects,
                )
            except AtsError as exc:
                if not exc.retryable or attempt > retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.retry_cap:
                    raise
                delay = backoff_delay(
                    attempt,
                    base=self.retry_base,
                    cap=self.retry_cap,
                    retry_after=exc.retry_after,
                    rng=self.rng,
                )
                logger.warning(
                    "ATS call failed (%s), retry %d/%d in %.2fs",
                    type(exc).__name__,
                    attempt,
                    retries,
                    delay,
                )
                self.sleep(delay)

    def _send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
        json: Any,
        data: bytes | str | Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        timeout: TimeoutLike,
        allow_redirects: bool | None,
    ) -> HttpResponse:
        url = self.url(path_or_url)
        shown = display_url(_with_params(url, params))
        limits = coerce_timeout(timeout, self.timeout)
        if allow_redirects is None:
            allow_redirects = method in _SAFE_METHODS
        if auth is not None:
            self.add_secret(auth[0], auth[1])
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,  # type: ignore[arg-type]
                json=json,
                data=data,
                headers=dict(headers) if headers else None,
                auth=auth,
                timeout=limits.as_tuple(),
                allow_redirects=allow_redirects,
            )
            content = response.content  # read fully inside the timeout handling
        except requests.exceptions.ConnectTimeout:
            raise self._transport_error(
                AtsTimeout, f"connect timeout after {limits.connect:g}s", method, shown, started
            ) from None
        except requests.exceptions.Timeout:
            raise self._transport_error(
                AtsTimeout, f"read timeout after {limits.read:g}s", method, shown, started
            ) from None
        except requests.exceptions.TooManyRedirects:
            raise self._transport_error(
                AtsPermanentError, "too many redirects", method, shown, started
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ):
            raise self._transport_error(
                AtsPermanentError,
                "invalid URL (check the connection's base URL)",
                method,
                shown,
                started,
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise self._transport_error(
                AtsTimeout, "connection failed", method, shown, started
            ) from None
        except requests.exceptions.RequestException as exc:
            # Anything else on the wire (e.g. a body that cannot be decoded). The class name
            # only: requests' messages can quote the full URL.
            raise self._transport_error(
                AtsServerError, f"transport error ({type(exc).__name__})", method, shown, started
            ) from None
        elapsed_ms = int((time.monotonic() - started) * 1000)
        status = response.status_code
        if 200 <= status < 300:
            logger.info("ATS %s %s -> %s in %dms", method, shown, status, elapsed_ms)
            links = {
                str(rel): str(link["url"])
                for rel, link in (response.links or {}).items()
                if isinstance(link, Mapping) and link.get("url")
            }
            return HttpResponse(
                status_code=status,
                headers=response.headers,
                content=content,
                url=response.url or url,
                elapsed_ms=elapsed_ms,
                links=links,
                _secrets=frozenset(self._secrets),
            )
        raise self.error_for(
            status, response.headers, content, method, response.url or url, elapsed_ms
        )

    def _transport_error(
        self, cls: type[AtsError], what: str, method: str, shown: str, started: float
    ) -> AtsError:
        elapsed_ms = int((time.monotonic() - started) * 1000)
        message = redact(f"{what}: {method} {shown}", self._secrets)
        logger.warning("ATS %s %s failed: %s after %dms", method, shown, what, elapsed_ms)
        return cls(message, elapsed_ms=elapsed_ms)

    def error_for(
        self,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        method: str,
        url: str,
        elapsed_ms: int | None = None,
    ) -> AtsError:
        """The typed error for a non-2xx answer (public so connectors can reuse the mapping)."""
        excerpt = _excerpt(content.decode("utf-8", errors="replace"), self._secrets)
        retry_after = parse_retry_after(headers)
        cls: type[AtsError]
        if status == 429:
            cls = AtsRateLimited
        elif status == 408:
            cls = AtsTimeout
        elif status >= 500:
            cls = AtsServerError
        elif status in (401, 403):
            cls = AtsAuthError
        else:  # other 4xx, and 3xx on writes where redirects are not followed
            cls = AtsPermanentError
        if 300 <= status < 400:
            excerpt = f"unexpected redirect; {excerpt}".strip("; ")
        message = f"HTTP {status} from {method} {display_url(url)}"
        if excerpt:
            message = f"{message}: {excerpt}"
        message = redact(message, self._secrets)
        logger.warning(
            "ATS %s %s -> %s (%s) in %sms",
            method,
            display_url(url),
            status,
            cls.__name__,
            elapsed_ms,
        )
        return cls(
            message,
            status_code=status,
            excerpt=excerpt,
            retry_after=retry_after if cls is not AtsPermanentError else None,
            elapsed_ms=elapsed_ms,
        )


def connection_timeout(settings: Mapping[str, Any] | None) -> Timeout:
    """The timeout a connection's ``settings["http_timeout"]`` asks for (default 5 s / 30 s).

    Accepts a number (both parts), ``[connect, read]`` or ``{"connect": .., "read": ..}``; values
    are clamped to 0.05–120 s so a typo can neither disable the timeout nor hang a worker.
    """
    raw = (settings or {}).get("http_timeout")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        if isinstance(raw, Mapping):
            value = Timeout(
                connect=float(raw.get("connect", DEFAULT_TIMEOUT.connect)),
                read=float(raw.get("read", DEFAULT_TIMEOUT.read)),
            )
        else:
            value = coerce_timeout(raw)
    except (TypeError, ValueError):
        logger.warning("ignoring invalid http_timeout setting; using the default")
        return DEFAULT_TIMEOUT

    def clamp(seconds: float) -> float:
        return min(120.0, max(0.05, seconds))

    return Timeout(connect=clamp(value.connect), read=clamp(value.read))


def client_for_settings(base_url: str, settings: Mapping[str, Any] | None) -> HttpClient:
    """An :class:`HttpClient` on ``base_url`` with the ``settings["http_timeout"]`` it asks for.

    The one place ATS clients and interview vendors build their HTTP client, so every outbound
    call gets the configured (clamped) timeout.
    """
    return HttpClient(base_url=base_url, timeout=connection_timeout(settings))


def read_credential(read: Callable[[], str], label: str) -> str:
    """Call a secret accessor (``connection.api_key``) and turn "not configured/undecryptable"
    into a permanent :class:`AtsAuthError` the relay shows on the job, instead of a crash."""
    from django.core.exceptions import ImproperlyConfigured

    from integrations.crypto import SecretUnavailableError

    try:
        value = read()
    except (SecretUnavailableError, ImproperlyConfigured) as exc:
        raise AtsAuthError(f"{label} unavailable: {exc}") from None
    if not value:
        raise AtsAuthError(f"{label} is empty")
    return value
