"""Ashby client: JSON RPC over ``POST https://api.ashbyhq.com/<category>.<method>``.

Every call uses HTTP Basic ``<api key>:`` and ``Accept: application/json; version=1``
(https://developers.ashbyhq.com/reference/introduction).

Connection fields used:

- ``base_url``: default ``https://api.ashbyhq.com``.
- ``api_key()``: the Ashby API key (needs ``candidatesRead`` / ``candidatesWrite``).
- ``settings``: ``http_timeout``.

Ashby answers failures with **HTTP 200** and ``{"success": false, "errors": [...]}``. These
become :class:`~integrations.http.AtsPermanentError` with the errors in the excerpt.

Writes (``WritebackJob.kind``):

- ``custom_fields``: one ``customField.setValue`` per field, with
  ``{"objectId": <application remote id>, "objectType": "Application", "fieldId", "fieldValue"}``.
  The payload is ``{"custom_fields": {field_id: value}}`` or a list of
  ``{"field_id", "value"}`` items. ``customField.setValues`` would be atomic, but its body is
  UNVERIFIED. ``setValue`` is idempotent, so retrying a half-done job is safe.
- ``note``: ``candidate.createNote`` with
  ``{"candidateId", "note": {"type": "text/plain", "value": text}, "sendNotifications": false}``.
  The ``note.type`` values are UNVERIFIED; a plain-string note is the documented alternative.

- ``assessment`` (assessments partner API): ``assessment.update`` with the payload as its body,
  ``{"assessment_id", "timestamp" (epoch ms), "assessment_status" | "cancelled_reason",
  "assessment_result"?, "assessment_profile_url"?, "metadata"?: [...]}``; each field but the
  first two is a typed item ``{identifier, label, type, value}`` (built by
  ``interviews.partners.ashby``). Sending ``assessment_result`` marks the assessment complete;
  re-sending the same update is harmless (Ashby keeps the latest values).

Reconcile results are parsed by ``connectors/ashby/mapping.normalize``, the same parser the
webhooks use: ``application.list`` results have the same schema as the webhook's application.

Ashby accepts no idempotency key. A note retried after a timeout that Ashby did process can
show up twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.core.cache import cache

from integrations.connectors.ashby import mapping
from integrations.connectors.base import (
    AtsClient,
    MalformedPayloadError,
    StageChange,
    WritebackOutcome,
)
from integrations.http import (
    AtsPermanentError,
    HttpClient,
    HttpResponse,
    connection_timeout,
    read_credential,
    redact,
)
from integrations.models import WritebackKind

if TYPE_CHECKING:
    from integrations.models import AtsConnection, WritebackJob

DEFAULT_BASE_URL = "https://api.ashbyhq.com"
# The documented keys of an assessment.update body; anything else in a payload is not sent.
ASSESSMENT_UPDATE_KEYS = (
    "assessment_id",
    "timestamp",
    "assessment_status",
    "assessment_profile_url",
    "assessment_result",
    "cancelled_reason",
    "metadata",
)
ACCEPT = "application/json; version=1"
PAGE_LIMIT = 100
READ_RETRIES = 3
STAGE_NAME_TTL = 3600


class Client(AtsClient):
    """Outbound Ashby calls for one connection."""

    def __init__(self, connection: AtsConnection, *, http: HttpClient | None = None) -> None:
        super().__init__(connection)
        self.http = http or HttpClient(
            base_url=connection.base_url or DEFAULT_BASE_URL,
            headers={"Accept": ACCEPT},
            timeout=connection_timeout(connection.settings),
        )

    # -- writes --------------------------------------------------------------------------------
    def send_writeback(self, job: WritebackJob) -> WritebackOutcome:
        """Perform one writeback job (application custom fields or a candidate note)."""
        if job.application is None:
            raise AtsPermanentError("writeback job has no application to write to")
        payload = job.payload or {}
        if job.kind == WritebackKind.CUSTOM_FIELDS:
            fields = _custom_fields(payload)
            status_code = 200
            for field_id, value in fields:
                # https://developers.ashbyhq.com/reference/customfieldsetvalue
                response, _ = self._rpc(
                    "customField.setValue",
                    {
                        "objectId": job.application.remote_id,
                        "objectType": "Application",
                        "fieldId": field_id,
                        "fieldValue": value,
                    },
                )
                status_code = response.status_code
            return WritebackOutcome(
                status_code=status_code, remote_reference=job.application.remote_id
            )
        if job.kind == WritebackKind.NOTE:
            text = payload.get("body") or payload.get("text")
            if not isinstance(text, str) or not text.strip():
                raise AtsPermanentError("note payload has no 'body' text")
            content_type = payload.get("content_type") or "text/plain"
            # https://developers.ashbyhq.com/reference/candidatecreatenote
            response, results = self._rpc(
                "candidate.createNote",
                {
                    "candidateId": job.application.candidate.remote_id,
                    "note": {"type": content_type, "value": text},
                    "sendNotifications": bool(payload.get("send_notifications", False)),
                },
            )
            note_id = results.get("id") if isinstance(results, dict) else None
            return WritebackOutcome(
                status_code=response.status_code, remote_reference=str(note_id or "")
            )
        if job.kind == WritebackKind.ASSESSMENT:
            return self._update_assessment(payload)
        raise AtsPermanentError(f"the Ashby connector cannot write '{job.kind}' jobs")

    def _update_assessment(self, payload: Mapping[str, Any]) -> WritebackOutcome:
        """Report an assessment's progress or result to Ashby (``assessment.update``)."""
        body = {key: payload[key] for key in ASSESSMENT_UPDATE_KEYS if key in payload}
        assessment_id = body.get("assessment_id")
        if not isinstance(assessment_id, str) or not assessment_id:
            raise AtsPermanentError("assessment payload has no 'assessment_id'")
        if isinstance(body.get("timestamp"), bool) or not isinstance(body.get("timestamp"), int):
            raise AtsPermanentError("assessment payload needs an integer 'timestamp' (epoch ms)")
        if "assessment_status" not in body and "cancelled_reason" not in body:
            raise AtsPermanentError(
                "assessment payload needs 'assessment_status' unless 'cancelled_reason' is set"
            )
        if "assessment_result" in body and "assessment_profile_url" not in body:
            raise AtsPermanentError("'assessment_result' requires 'assessment_profile_url'")
        key = read_credential(self.connection.api_key, "Ashby API key")
        # https://developers.ashbyhq.com/reference/assessmentupdate (needs candidatesWrite).
        response = self.http.request("POST", "/assessment.update", json=body, auth=(key, ""))
        # The success body is not documented: only an explicit success=false is a refusal.
        envelope = response.json_or_none()
        if isinstance(envelope, dict) and envelope.get("success") is False:
            raise self._refusal("assessment.update", response, envelope)
        return WritebackOutcome(status_code=response.status_code, remote_reference=assessment_id)

    # -- reads ---------------------------------------------------------------------------------
    def iter_stage_changes(self, *, since: dt.datetime | None) -> Iterator[StageChange]:
        """Applications updated since ``since``, following ``nextCursor`` while
        ``moreDataAvailable``.

        ``application.list`` filters only by ``createdAfter`` (epoch ms), not by update time. That
        filter would miss stage changes on older applications, so the client lists everything
        and keeps items whose ``updatedAt`` is at or after ``since``. ``syncToken`` incremental
        sync would be cheaper, but it needs somewhere to keep the token between runs.
        """
        body: dict[str, Any] = {"limit": PAGE_LIMIT}
        while True:
            # https://developers.ashbyhq.com/reference/applicationlist and
            # https://developers.ashbyhq.com/docs/pagination-and-incremental-sync
            _, results, envelope = self._rpc_page("application.list", body, retries=READ_RETRIES)
            for item in results if isinstance(results, list) else []:
                for change in self._stage_changes(item):
                    if since is not None and (
                        change.occurred_at is None or change.occurred_at < _aware(since)
                    ):
                        continue
                    yield change
            cursor = envelope.get("nextCursor")
            if not envelope.get("moreDataAvailable") or not cursor:
                return
            body = {"limit": PAGE_LIMIT, "cursor": cursor}

    def _stage_changes(self, item: Any) -> list[StageChange]:
        """A listed application read by the webhook mapping: ``application.list`` results and
        ``applicationUpdate`` deliveries share one application schema, so they share a parser."""
        if not isinstance(item, dict):
            raise AtsPermanentError("an Ashby application.list result is not an object")
        envelope = {"action": "applicationUpdate", "data": {"application": item}}
        try:
            return mapping.normalize(self.connection, "applicationUpdate", envelope, client=self)
        except MalformedPayloadError as exc:
            raise AtsPermanentError(f"an Ashby application is malformed: {exc}") from None

    def stage_name(self, remote_stage_id: str) -> str:
        """Title of an interview stage (cached for an hour); events usually carry it."""
        key = f"screenbridge:ashby:stage:{self.connection.pk}:{remote_stage_id}"
        name = cache.get(key)
        if name is None:
            # https://developers.ashbyhq.com/reference/interviewstageinfo
            _, results = self._rpc(
                "interviewStage.info", {"interviewStageId": remote_stage_id}, retries=READ_RETRIES
            )
            name = str(results.get("title") or "") if isinstance(results, dict) else ""
            cache.set(key, name, STAGE_NAME_TTL)
        return str(name)

    # -- transport -----------------------------------------------------------------------------
    def _rpc(
        self, method: str, body: Mapping[str, Any], *, retries: int = 0
    ) -> tuple[HttpResponse, Any]:
        response, results, _ = self._rpc_page(method, body, retries=retries)
        return response, results

    def _rpc_page(
        self, method: str, body: Mapping[str, Any], *, retries: int
    ) -> tuple[HttpResponse, Any, dict[str, Any]]:
        key = read_credential(self.connection.api_key, "Ashby API key")
        response = self.http.request(
            "POST", f"/{method}", json=dict(body), auth=(key, ""), retries=retries
        )
        envelope = response.json()
        if not isinstance(envelope, dict) or envelope.get("success") is not True:
            raise self._refusal(method, response, envelope)
        return response, envelope.get("results"), envelope

    def _refusal(self, method: str, response: HttpResponse, envelope: Any) -> AtsPermanentError:
        errors: Any = envelope.get("errors") if isinstance(envelope, dict) else None
        info = envelope.get("errorInfo") if isinstance(envelope, dict) else None
        parts = [str(e) for e in errors] if isinstance(errors, list) else []
        if isinstance(info, dict) and info.get("message"):
            parts.append(str(info["message"]))
        detail = redact("; ".join(parts) or response.text[:300], self.http.secrets)
        return AtsPermanentError(
            f"Ashby {method} refused (HTTP {response.status_code}, success=false): {detail}",
            status_code=response.status_code,
            excerpt=detail[:500],
            elapsed_ms=response.elapsed_ms,
        )


def _custom_fields(payload: Mapping[str, Any]) -> list[tuple[str, Any]]:
    raw = payload.get("custom_fields")
    fields: list[tuple[str, Any]] = []
    if isinstance(raw, Mapping):
        fields = [(str(key), value) for key, value in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            field_id = (
                (item.get("field_id") or item.get("fieldId") or item.get("id"))
                if isinstance(item, Mapping)
                else None
            )
            if not field_id:
                raise AtsPermanentError("each Ashby custom field needs a 'field_id'")
            fields.append((str(field_id), item.get("value")))
    if not fields:
        raise AtsPermanentError("custom_fields payload is empty")
    return fields


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
