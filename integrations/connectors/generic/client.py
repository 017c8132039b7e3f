"""Generic ATS client: signed JSON out, a simple cursor-paged list in.

Every request is signed the Standard Webhooks way
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md), by
``standard_webhooks.signed_headers``, the signer the generic interview vendor uses too.
The secret is ``connection.api_key()``, a ``whsec_<base64>`` key. Three headers are sent:

- ``webhook-id``: the job's ``idempotency_key`` for writes, the same on every retry so the receiver
  can drop duplicates. Reads get a fresh UUID.
- ``webhook-timestamp``: Unix seconds of this attempt.
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{raw body}")>``.

Reads are signed over an empty body, so any Standard Webhooks library can verify them with
``verify("", headers)``. No long-lived secret goes over the wire.

Connection fields used:

- ``base_url``: the receiver's root URL.
- ``api_key()``: the ``whsec_`` signing secret.
- ``settings``:
  - ``writeback_path``: optional path appended to ``base_url`` for writes.
  - ``list_path``: required for reconcile.
  - ``http_timeout``.

Write (every ``WritebackJob.kind``): ``POST <base_url><writeback_path>`` with body::

    {"type": "screenbridge.writeback", "kind": "<job.kind>",
     "application_id": "<application remote id or null>", "payload": {...job.payload...}}

Any 2xx is success. A 3xx is not followed and counts as a permanent error, as does any other
4xx except 429. If the answer has an ``id``, it is kept as the remote reference.

Reconcile: ``GET <base_url><list_path>?since=<ISO-8601>[&cursor=<next_cursor>]`` answers::

    {"data": [<event>, ...], "next_cursor": "<opaque>" | null}

Each ``<event>`` is a generic ``application.stage_changed`` event, exactly as the generic
webhook delivers it (see ``connectors/generic/mapping.py``), e.g.::

    {"type": "application.stage_changed", "occurred_at": "2026-04-09T16:38:36Z",
     "application": {"id": "A-1", "applied_at": "..."},
     "candidate": {"id": "C-1", "first_name": "", "last_name": "", "email": ""},
     "job": {"id": "R-1", "title": "", "department": "", "location": "", "status": "open"},
     "stage": {"id": "S-1", "name": "Phone Screen"}, "outcome": ""}

Items are parsed by that same ``mapping.normalize``, so webhooks and reconcile cannot drift. An
item without ``type`` counts as a stage change. A malformed item stops the run with a permanent
error that names the field.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from integrations.connectors import standard_webhooks
from integrations.connectors.base import (
    AtsClient,
    MalformedPayloadError,
    StageChange,
    WritebackOutcome,
)
from integrations.connectors.generic import mapping
from integrations.http import AtsPermanentError, HttpClient, HttpResponse, client_for_settings

if TYPE_CHECKING:
    from integrations.models import AtsConnection, WritebackJob

READ_RETRIES = 3
EVENT_TYPE = "screenbridge.writeback"


class Client(AtsClient):
    """Outbound calls to a generic, Standard Webhooks–speaking ATS."""

    def __init__(self, connection: AtsConnection, *, http: HttpClient | None = None) -> None:
        super().__init__(connection)
        self.http = http or client_for_settings(connection.base_url, connection.settings)

    def _headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        return standard_webhooks.signed_headers(
            self.http,
            self.connection.api_key,
            label="generic signing secret",
            no_base_url="the generic connection has no base_url",
            msg_id=msg_id,
            body=body,
        )

    def _path(self, setting: str) -> str:
        return str((self.connection.settings or {}).get(setting) or "")

    def send_writeback(self, job: WritebackJob) -> WritebackOutcome:
        """POST the job as signed JSON; the idempotency key travels as ``webhook-id``."""
        body = json.dumps(
            {
                "type": EVENT_TYPE,
                "kind": job.kind,
                "application_id": job.application.remote_id if job.application else None,
                "payload": job.payload,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        headers = self._headers(str(job.idempotency_key), body)
        headers["Content-Type"] = "application/json"
        # The signature covers these exact bytes, so they are sent as data, not re-serialized.
        response = self.http.request(
            "POST", self._path("writeback_path"), data=body, headers=headers
        )
        answer = response.json_or_none()
        reference = answer.get("id") if isinstance(answer, dict) else None
        return WritebackOutcome(
            status_code=response.status_code, remote_reference=str(reference or "")
        )

    def iter_stage_changes(self, *, since: dt.datetime | None) -> Iterator[StageChange]:
        """Items from ``list_path`` page by page (``next_cursor``), as documented above."""
        list_path = self._path("list_path")
        if not list_path:
            raise AtsPermanentError("the generic connection has no settings['list_path']")
        cursor: str | None = None
        while True:
            params: dict[str, str] = {}
            if since is not None:
                params["since"] = _aware(since).isoformat()
            if cursor:
                params["cursor"] = cursor
            response: HttpResponse = self.http.request(
                "GET",
                list_path,
                params=params,
                headers=self._headers(f"msg_{uuid.uuid4().hex}", b""),
                retries=READ_RETRIES,
            )
            page = response.json()
            if not isinstance(page, dict):
                raise AtsPermanentError("the generic list answer is not a JSON object")
            for item in page.get("data") or []:
                yield from self._stage_changes(item)
            cursor = page.get("next_cursor") or None
            if not cursor:
                return

    def _stage_changes(self, item: Any) -> list[StageChange]:
        if not isinstance(item, Mapping):
            raise AtsPermanentError("a generic list item is not a JSON object")
        action = str(item.get("type") or mapping.STAGE_ACTION)
        try:
            return mapping.normalize(self.connection, action, dict(item), client=self)
        except MalformedPayloadError as exc:
            raise AtsPermanentError(f"a generic list item is malformed: {exc}") from None

    def stage_name(self, remote_stage_id: str) -> str:
        """The generic ATS sends stage names with its events; there is nothing to look up."""
        return ""


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
