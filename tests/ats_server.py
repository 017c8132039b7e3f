"""A loopback HTTP server that stands in for an ATS (Greenhouse, Lever, Ashby, generic).

The server uses real sockets: a ``ThreadingHTTPServer`` on ``127.0.0.1`` (port 0, so the OS
picks a free port), running in a thread that the ``ats_server`` fixture starts and stops. It
records every request and answers from a script you program per route. Realistic default
answers for every provider are preloaded, so a test only scripts what it cares about.

Register the fixture once in ``tests/conftest.py``::

    pytest_plugins = ["tests.browser", "tests.ats_server"]

API (everything a test needs)::

    def test_x(ats_server):
        conn = loopback_connection(ats_server, "lever", on_behalf_of="user-1")  # needs db
        ats_server.on("POST", "/v1/opportunities/{id}/notes",
                      Reply(500), Reply(201, json={"data": {"noteId": "n-1"}}))
        ...call the client...
        [req] = ats_server.requests("POST", "/v1/opportunities/{id}/notes")
        req.json, req.query["perform_as"], req.header("authorization"), req.raw_body

- ``ats_server.url`` is the server's root, ``http://127.0.0.1:<port>``.
- ``ats_server.on(method, path, *replies)`` scripts a route.
  - Each matching request takes the next reply, and the last reply repeats.
  - A reply may also be a callable ``(RecordedRequest) -> Reply``.
  - ``path`` matches exactly, or with ``{name}`` placeholders for one path segment. ``method``
    may be ``"*"``. The query string is never part of the match.
  - Routes scripted later win over earlier ones and over the defaults.
- ``Reply(status=200, json=..., body=b"...", headers={...}, delay=0.0)``.
  - ``delay`` holds the answer back that many seconds, to force a client read timeout. It ends
    early when the server stops.
  - Shorthands: ``Reply.rate_limited(retry_after=1)``, ``Reply.server_error()``,
    ``Reply.slow(seconds)``.
- ``ats_server.requests(method=None, path=None)`` lists the recorded requests, oldest first, as
  ``RecordedRequest`` objects with ``method, path, query (name -> first value), query_list,
  raw_query, headers (lower-case names), raw_body, json, form, client_port``.
  - ``ats_server.unmatched`` lists the requests no route answered (each got a 404). A
    well-scripted test keeps it empty, because unmatched requests must fail.
- ``ats_server.reset()`` forgets recorded requests and scripted routes, but keeps the defaults.
- ``loopback_connection(server, provider, **fields)`` creates a LIVE ``AtsConnection`` wired to
  the server, with the API key ``LOOPBACK_API_KEY``. Generic connections get
  ``LOOPBACK_WHSEC`` instead. Greenhouse connections also get ``api_client_id`` and
  ``settings["token_url"]``. Every connection gets short timeouts (2 s connect, 5 s read).
  Pass ``settings={...}`` to add or override settings, e.g.
  ``{"http_timeout": [1, 0.3]}`` for a timeout test.

Default routes (``DEFAULT_ROUTES``), by provider path prefix:

- **Greenhouse**:
  - ``POST /token`` → ``{"access_token": "loopback-token-<n>", "token_type": "bearer",
    "expires_in": 3600}``, with a new token every call.
  - ``PATCH /v3|v1/applications/{id}`` → 200 with the application.
  - ``POST /v3/notes`` and ``/v1/candidates/{id}/activity_feed/notes`` → 201 with the note.
  - ``GET /v3|v1/applications`` → ``[]``.
- **Lever**:
  - ``POST /v1/opportunities/{id}/notes`` → 201 ``{"data": {"noteId": ...}}``.
  - ``POST .../addTags`` → 200.
  - ``GET /v1/stages/{id}`` → ``{"data": {"id", "text": "Phone Screen"}}``.
  - ``GET /v1/opportunities`` → ``{"data": [], "hasNext": false}``.
- **Ashby** (RPC):
  - ``POST /customField.setValue`` and ``/candidate.createNote`` → 200 ``{"success": true,
    "results": {...}}``.
  - ``POST /application.list`` → ``{"success": true, "results": [], "moreDataAvailable": false}``.
  - ``POST /interviewStage.info`` → a stage.
- **Generic**:
  - ``POST /writebacks`` → 200 ``{"id": "wb-<n>"}``.
  - ``GET /applications`` → ``{"data": [], "next_cursor": null}``.
"""

from __future__ import annotations

import base64
import itertools
import json as jsonlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

LOOPBACK_API_KEY = "sk-loopback-api-key-0123456789"
LOOPBACK_CLIENT_ID = "loopback-client-id"
# A Standard Webhooks secret: "whsec_" + base64 of 32 bytes.
LOOPBACK_WHSEC = "whsec_" + base64.b64encode(b"screenbridge-loopback-signing-k!").decode()
# Loopback tests should fail fast, not after the production 30 s read timeout.
LOOPBACK_TIMEOUT = [2.0, 5.0]

_UNSET: Any = object()


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = _UNSET
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1, **kwargs: Any) -> Reply:
        headers = {"Retry-After": str(retry_after), **kwargs.pop("headers", {})}
        return cls(429, json={"message": "Rate limit exceeded"}, headers=headers, **kwargs)

    @classmethod
    def server_error(cls, status: int = 500, **kwargs: Any) -> Reply:
        return cls(status, json={"message": "Internal server error"}, **kwargs)

    @classmethod
    def slow(cls, seconds: float, **kwargs: Any) -> Reply:
        return cls(delay=seconds, **kwargs)

    def encoded(self) -> tuple[bytes, str | None]:
        if self.json is not _UNSET:
            return jsonlib.dumps(self.json).encode(), "application/json"
        body = self.body.encode() if isinstance(self.body, str) else self.body
        return body, None


type Responder = Reply | Callable[[RecordedRequest], Reply]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    raw_query: str
    query_list: Mapping[str, list[str]]
    headers: Mapping[str, str]
    raw_body: bytes
    client_port: int

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value of each (use ``query_list`` for repeated ones)."""
        return {name: values[0] for name, values in self.query_list.items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.raw_body) if self.raw_body else None

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw_body.decode()).items()}

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """``(user, password)`` from an ``Authorization: Basic`` header."""
        value = self.header("authorization") or ""
        if not value.lower().startswith("basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password


class _Route:
    def __init__(self, method: str, path: str, replies: Sequence[Responder]) -> None:
        if not replies:
            raise ValueError("a route needs at least one reply")
        self.method = method.upper()
        self.path = path
        pattern = re.sub(r"\\\{[^/{}]+\\\}", "[^/]+", re.escape(path))
        self.pattern = re.compile(f"^{pattern}$")
        self.replies = list(replies)
        self.served = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and bool(self.pattern.match(path))

    def next_reply(self, request: RecordedRequest) -> Reply:
        responder = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return responder(request) if callable(responder) else responder


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection pooling is observable
    disable_nagle_algorithm = True  # headers and body go out as separate small writes
    server: _LoopbackHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            raw_query=parts.query,
            query_list=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            raw_body=raw_body,
            client_port=self.client_address[1],
        )
        reply = self.server.owner.dispatch(request)
        if reply.delay and self.server.owner.stopping.wait(reply.delay):
            return
        body, content_type = reply.encoded()
        try:
            self.send_response(reply.status)
            headers = {k.lower(): v for k, v in reply.headers.items()}
            if content_type and "content-type" not in headers:
                self.send_header("Content-Type", content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: AtsServer


class AtsServer:
    """The loopback ATS; see the module docstring for the API."""

    def __init__(self, *, defaults: bool = True) -> None:
        self._lock = threading.Lock()
        self._routes: list[_Route] = []
        self._defaults: list[_Route] = []
        self._requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._httpd = _LoopbackHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None
        if defaults:
            for method, path, responder in DEFAULT_ROUTES:
                self._defaults.append(_Route(method, path, [responder]))

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AtsServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # release delayed answers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> AtsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------------
    def on(self, method: str, path: str, *replies: Responder) -> None:
        """Answer ``method path`` with ``replies`` in order; the last one repeats."""
        with self._lock:
            self._routes.append(_Route(method, path, replies))

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._requests.clear()
            self.unmatched.clear()

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first, optionally filtered like a route."""
        with self._lock:
            recorded = list(self._requests)
        if method is None and path is None:
            return recorded
        probe = _Route(method or "*", path or "{any}", [Reply()])
        if path is None:
            return [r for r in recorded if probe.method in ("*", r.method)]
        return [r for r in recorded if probe.matches(r.method, r.path)]

    def dispatch(self, request: RecordedRequest) -> Reply:
        """Record ``request`` and pick its reply (under the lock: handlers run in threads)."""
        with self._lock:
            self._requests.append(request)
            for route in itertools.chain(reversed(self._routes), reversed(self._defaults)):
                if route.matches(request.method, request.path):
                    return route.next_reply(request)
            self.unmatched.append(request)
        return Reply(404, json={"error": f"loopback: no route for {request.method} {request.path}"})


# --- realistic default answers ----------------------------------------------------------------
def _counter(prefix: str) -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


_next_token = _counter("loopback-token-")
_next_writeback = _counter("wb-")


def _segment(request: RecordedRequest, index: int) -> str:
    return request.path.strip("/").split("/")[index]


def _gh_token(request: RecordedRequest) -> Reply:
    # https://harvestdocs.greenhouse.io/docs/authentication
    return Reply(
        200, json={"access_token": _next_token(), "token_type": "bearer", "expires_in": 3600}
    )


def _gh_application(request: RecordedRequest) -> Reply:
    app_id = _segment(request, 2)
    return Reply(
        200,
        json={
            "id": int(app_id) if app_id.isdigit() else app_id,
            "candidate_id": 265772,
            "status": "active",
            "current_stage": {"id": 71416, "name": "AI Interview"},
            "keyed_custom_fields": {},
        },
    )


def _gh_note(request: RecordedRequest) -> Reply:
    sent = request.json or {}
    visibility = sent.get("visibility", "private")
    return Reply(
        201,
        json={
            "id": 226809052,
            "created_at": "2026-04-10T15:02:00.000Z",
            "body": sent.get("body", ""),
            "user": {
                "id": 4080,
                "first_name": "Kate",
                "last_name": "Austen",
                "name": "Kate Austen",
            },
            "private": visibility == "private",
            "visibility": visibility,
            "visiblity": visibility,  # Greenhouse's legacy typo key, kept for realism
        },
    )


def _lever_note(request: RecordedRequest) -> Reply:
    return Reply(201, json={"data": {"noteId": "915a6cef-4f91-4f3d-b8ff-a49e1eae2c30"}})


def _lever_tags(request: RecordedRequest) -> Reply:
    sent = request.json or {}
    return Reply(200, json={"data": {"id": _segment(request, 2), "tags": sent.get("tags", [])}})


def _lever_stage(request: RecordedRequest) -> Reply:
    return Reply(200, json={"data": {"id": _segment(request, 2), "text": "Phone Screen"}})


def _ashby_ok(results: Any) -> Reply:
    return Reply(200, json={"success": True, "results": results})


def _ashby_set_value(request: RecordedRequest) -> Reply:
    sent = request.json or {}
    return _ashby_ok({"id": sent.get("objectId"), "customFields": [sent]})


def _ashby_note(request: RecordedRequest) -> Reply:
    sent = request.json or {}
    note = sent.get("note")
    content = note.get("value") if isinstance(note, dict) else note
    return _ashby_ok(
        {
            "id": "546e6d7c-5f5c-4b6b-9e3a-2f6b9f3d1c11",
            "createdAt": "2026-04-10T15:02:00.000Z",
            "content": content,
            "author": {"id": "u-1", "firstName": "Ada", "lastName": "Lacey", "email": "a@x.io"},
        }
    )


def _ashby_stage(request: RecordedRequest) -> Reply:
    sent = request.json or {}
    return _ashby_ok(
        {
            "id": sent.get("interviewStageId"),
            "title": "AI Interview",
            "type": "Active",
            "orderInInterviewPlan": 2,
            "interviewPlanId": "651e04ab-3651-459b-9a75-77a792bf7aec",
        }
    )


DEFAULT_ROUTES: list[tuple[str, str, Responder]] = [
    # Greenhouse
    ("POST", "/token", _gh_token),
    ("PATCH", "/v3/applications/{id}", _gh_application),
    ("PATCH", "/v1/applications/{id}", _gh_application),
    ("POST", "/v3/notes", _gh_note),
    ("POST", "/v1/candidates/{id}/activity_feed/notes", _gh_note),
    ("GET", "/v3/applications", Reply(200, json=[])),
    ("GET", "/v1/applications", Reply(200, json=[])),
    # Lever (base URL <server>/v1)
    ("POST", "/v1/opportunities/{id}/notes", _lever_note),
    ("POST", "/v1/opportunities/{id}/addTags", _lever_tags),
    ("GET", "/v1/stages/{id}", _lever_stage),
    ("GET", "/v1/opportunities", Reply(200, json={"data": [], "hasNext": False})),
    # Ashby
    ("POST", "/customField.setValue", _ashby_set_value),
    ("POST", "/candidate.createNote", _ashby_note),
    ("POST", "/interviewStage.info", _ashby_stage),
    (
        "POST",
        "/application.list",
        Reply(200, json={"success": True, "results": [], "moreDataAvailable": False}),
    ),
    # Generic
    ("POST", "/writebacks", lambda request: Reply(200, json={"id": _next_writeback()})),
    ("GET", "/applications", Reply(200, json={"data": [], "next_cursor": None})),
]


# --- connections wired to the server ----------------------------------------------------------
def loopback_connection(server: AtsServer, provider: str, **fields: Any) -> Any:
    """A LIVE ``AtsConnection`` for ``provider`` that talks to ``server`` (needs the db)."""
    from integrations.models import ConnectionMode
    from tests.factories import AtsConnectionFactory

    settings: dict[str, Any] = {"http_timeout": LOOPBACK_TIMEOUT}
    base_url = server.url
    api_key = LOOPBACK_API_KEY
    if provider == "greenhouse":
        settings["token_url"] = f"{server.url}/token"
        fields.setdefault("api_client_id", LOOPBACK_CLIENT_ID)
        fields.setdefault("on_behalf_of", "4080")
    elif provider == "lever":
        base_url = f"{server.url}/v1"
    elif provider == "generic":
        settings.update({"writeback_path": "/writebacks", "list_path": "/applications"})
        api_key = LOOPBACK_WHSEC
    settings.update(fields.pop("settings", {}))
    api_key = fields.pop("api_key", api_key)
    connection = AtsConnectionFactory(
        provider=provider,
        mode=ConnectionMode.LIVE,
        base_url=fields.pop("base_url", base_url),
        settings=settings,
        **fields,
    )
    connection.set_api_key(api_key)
    connection.save(update_fields=["api_key_encrypted"])
    return connection


@pytest.fixture
def ats_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[AtsServer]:
    """A started loopback ATS, stopped after the test."""
    # Loopback traffic must never go through a proxy configured in the environment.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = AtsServer().start()
    try:
        yield server
    finally:
        server.stop()
