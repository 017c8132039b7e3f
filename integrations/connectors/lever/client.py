"""Lever client (https://hire.lever.co/developer/documentation), HTTP Basic ``<api key>:``.

Connection fields used:

- ``base_url``: default ``https://api.lever.co/v1``; paths below are relative to it.
- ``api_key()``: the Lever API key.
- ``on_behalf_of``: the Lever user id sent as ``perform_as`` on writes.
- ``settings``: ``http_timeout``.

Writes (``WritebackJob.kind``):

- ``note``: ``POST /opportunities/{id}/notes?perform_as=...`` with
  ``{"value": text, "secret": false, "notifyFollowers": false}`` (plus ``score`` 1–4 if the
  payload has one). Lever answers ``201 {"data": {"noteId": ...}}``. Payload: ``{"body": text}``
  (``value`` is accepted too, as are ``secret`` and ``notify_followers``/``notifyFollowers``).
- ``tags``: ``POST /opportunities/{id}/addTags?perform_as=...`` with ``{"tags": [...]}``.
  Payload: ``{"tags": [...]}``.

Custom fields are not written. The research found no opportunity custom-field write, and
Lever's partner guide uses notes and tags instead.

The application's remote id is the Lever opportunity id. Lever accepts no idempotency key.
``addTags`` is idempotent. A note retried after a timeout that Lever did process can show up
twice.

Reads (one parser, :meth:`Client._stage_change`, for both):

- reconcile (:meth:`Client.iter_stage_changes`): ``GET /opportunities`` pages.
- webhooks (:meth:`Client.opportunity_stage_change`, called by ``mapping.normalize``):
  ``GET /opportunities/{id}?expand=stage&expand=applications&expand=contact``. Lever signs only
  ``token + triggeredAt``, not the body, so a stage or archive event is a notification and the
  opportunity's current state is read back from here (see ``mapping``).

``expand=stage`` inlines ``{id, text}``, ``expand=applications`` the application objects (whose
``posting`` is the posting id), ``expand=contact`` the person ``{id, name, emails, ...}``
(https://hire.lever.co/developer/documentation#opportunities, "expand"). The posting's title,
team and location come from ``GET /postings/{id}``; an archived opportunity is "hired" when its
archive reason has ``type: hired`` (``GET /archive_reasons``), else "rejected". Opportunities
without a posting (general leads) are not applications: reconcile skips them and
``opportunity_stage_change`` returns None. Ordering timestamp: ``updatedAt``, else
``lastAdvancedAt`` (epoch ms); reads retry timeouts, 429 and 5xx in-call (``READ_RETRIES``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.core.cache import cache

from integrations.connectors.base import (
    AtsClient,
    CandidateData,
    RequisitionData,
    StageChange,
    WritebackOutcome,
)
from integrations.http import (
    AtsPermanentError,
    AtsServerError,
    HttpClient,
    HttpResponse,
    client_for_settings,
    read_credential,
)
from integrations.models import WritebackKind

if TYPE_CHECKING:
    from integrations.models import AtsConnection, WritebackJob

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.lever.co/v1"
PAGE_LIMIT = 100
READ_RETRIES = 3
STAGE_NAME_TTL = 3600
# Lever posting state -> requisition status; an unknown state gives "" (the sync keeps the stored).
_POSTING_STATUSES = {
    "published": "open",
    "internal": "open",
    "closed": "closed",
    "rejected": "closed",
    "draft": "draft",
    "pending": "draft",
}


class Client(AtsClient):
    """Outbound Lever calls for one connection."""

    def __init__(self, connection: AtsConnection, *, http: HttpClient | None = None) -> None:
        super().__init__(connection)
        self.http = http or client_for_settings(
            connection.base_url or DEFAULT_BASE_URL, connection.settings
        )

    # -- writes --------------------------------------------------------------------------------
    def send_writeback(self, job: WritebackJob) -> WritebackOutcome:
        """Perform one writeback job (a note or tags on the opportunity)."""
        if job.application is None:
            raise AtsPermanentError("writeback job has no application (opportunity) to write to")
        opportunity_id = job.application.remote_id
        payload = job.payload or {}
        if job.kind == WritebackKind.NOTE:
            text = payload.get("body") or payload.get("text") or payload.get("value")
            if not isinstance(text, str) or not text.strip():
                raise AtsPermanentError("note payload has no 'body' text")
            note: dict[str, Any] = {
                "value": text,
                "secret": bool(payload.get("secret", False)),
                "notifyFollowers": bool(
                    payload.get("notify_followers", payload.get("notifyFollowers", False))
                ),
            }
            score = payload.get("score")
            if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 4:
                note["score"] = score
            # https://hire.lever.co/developer/documentation#create-a-note
            response = self._call(
                "POST", f"/opportunities/{opportunity_id}/notes", json=note, write=True
            )
            created = response.json_or_none()
            data = created.get("data") if isinstance(created, dict) else None
            note_id = data.get("noteId") if isinstance(data, dict) else None
            return WritebackOutcome(
                status_code=response.status_code, remote_reference=str(note_id or "")
            )
        if job.kind == WritebackKind.TAGS:
            tags = payload.get("tags")
            if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
                raise AtsPermanentError("tags payload needs a non-empty list of strings")
            # https://hire.lever.co/developer/documentation#update-opportunity-tags
            response = self._call(
                "POST", f"/opportunities/{opportunity_id}/addTags", json={"tags": tags}, write=True
            )
            return WritebackOutcome(
                status_code=response.status_code, remote_reference=opportunity_id
            )
        raise AtsPermanentError(f"the Lever connector cannot write '{job.kind}' jobs")

    # -- reads ---------------------------------------------------------------------------------
    def stage_name(self, remote_stage_id: str) -> str:
        """The stage's display name (Lever stages are account-wide); cached for an hour."""
        key = f"screenbridge:lever:stage:{self.connection.pk}:{remote_stage_id}"
        name = cache.get(key)
        if name is None:
            # https://hire.lever.co/developer/documentation#retrieve-a-single-stage
            body = self._call("GET", f"/stages/{remote_stage_id}", retries=READ_RETRIES).json()
            data = body.get("data") if isinstance(body, dict) else None
            name = str(data.get("text") or "") if isinstance(data, dict) else ""
            cache.set(key, name, STAGE_NAME_TTL)
        return str(name)

    def iter_stage_changes(self, *, since: dt.datetime | None) -> Iterator[StageChange]:
        """Opportunities updated since ``since``, following ``next`` while ``hasNext``.

        ``expand=stage`` gives the stage name and ``expand=applications`` the posting id. Posting
        titles and archive-reason types are fetched once per run when needed (see the module
        docstring). Opportunities with no posting (general leads) are skipped, because an
        Application needs a requisition.
        """
        base: list[tuple[str, Any]] = [
            ("limit", PAGE_LIMIT),
            ("expand", "stage"),
            ("expand", "applications"),
        ]
        if since is not None:
            base.append(("updated_at_start", _epoch_ms(since)))
        lookups = _Lookups(self)
        offset: str | None = None
        while True:
            params = [*base, ("offset", offset)] if offset else base
            # https://hire.lever.co/developer/documentation#list-all-opportunities (pagination:
            # pass the previous answer's "next" as "offset" while "hasNext" is true)
            body = self._call("GET", "/opportunities", params=params, retries=READ_RETRIES).json()
            if not isinstance(body, dict):
                raise AtsPermanentError("Lever answered an opportunity list that is not an object")
            for item in body.get("data") or []:
                if not isinstance(item, dict):
                    continue
                change = self._opportunity_change(item, lookups, source="reconcile")
                if change is None:
                    logger.info("skipping Lever opportunity %s without a posting", item.get("id"))
                    continue
                yield change
            offset = body.get("next") if body.get("hasNext") else None
            if not offset:
                return

    def opportunity_stage_change(self, opportunity_id: str) -> StageChange | None:
        """One opportunity's current state in Lever as a stage change (webhook processing).

        Stage, archive state, posting and the candidate's name and e-mail all come from Lever,
        never from the (unsigned) webhook body. None when the opportunity has no posting.
        Raises the typed errors of ``integrations.http`` (timeouts and 5xx are retried in-call
        first); an answer that is not an opportunity is an :class:`AtsServerError`.
        """
        # https://hire.lever.co/developer/documentation#retrieve-a-single-opportunity
        # (expand works on every request; the id comes from an unsigned body, so it is quoted)
        body = self._call(
            "GET",
            f"/opportunities/{quote(opportunity_id, safe='')}",
            params=[("expand", "stage"), ("expand", "applications"), ("expand", "contact")],
            retries=READ_RETRIES,
        ).json()
        item = body.get("data") if isinstance(body, dict) else None
        if not isinstance(item, dict) or not item.get("id"):
            raise AtsServerError(f"Lever answered no opportunity object for {opportunity_id}")
        return self._opportunity_change(item, _Lookups(self), source="opportunity")

    def _opportunity_change(
        self, item: Mapping[str, Any], lookups: _Lookups, *, source: str
    ) -> StageChange | None:
        posting_id = _posting_id(item)
        if not posting_id:
            return None
        return self._stage_change(
            item, lookups.posting(posting_id), lookups.outcome(item), source=source
        )

    def _stage_change(
        self, item: Mapping[str, Any], posting: Mapping[str, Any], outcome: str, *, source: str
    ) -> StageChange:
        stage = item.get("stage")
        if isinstance(stage, dict):
            stage_id, stage_name = str(stage.get("id") or ""), str(stage.get("text") or "")
        else:
            stage_id = str(stage or "")
            stage_name = self.stage_name(stage_id) if stage_id else ""
        # expand=contact inlines the person; without it only its id is there. Lever also copies
        # the contact's name and e-mails onto every opportunity, so either source will do.
        contact = item.get("contact")
        person: Mapping[str, Any] = contact if isinstance(contact, dict) else {}
        contact_id = person.get("id") if person else contact
        name = person.get("name") or item.get("name")
        first, _, last = str(name or "").strip().partition(" ")
        emails = person.get("emails") or item.get("emails") or []
        categories = posting.get("categories") if isinstance(posting, Mapping) else None
        categories = categories if isinstance(categories, Mapping) else {}
        applications = item.get("applications") or []
        first_application = applications[0] if applications else {}
        applied = (
            first_application.get("createdAt") if isinstance(first_application, dict) else None
        )
        return StageChange(
            application_remote_id=str(item["id"]),
            candidate=CandidateData(
                # The contact is the person; opportunity ids are per candidacy.
                remote_id=str(contact_id or item["id"]),
                first_name=first,
                last_name=last.strip(),
                email=str(emails[0]) if isinstance(emails, list) and emails else "",
            ),
            requisition=RequisitionData(
                remote_id=_posting_id(item),
                title=str(posting.get("text") or ""),
                department=str(categories.get("department") or categories.get("team") or ""),
                location=str(categories.get("location") or ""),
                status=_POSTING_STATUSES.get(str(posting.get("state") or ""), ""),
            ),
            remote_stage_id=stage_id,
            remote_stage_name=stage_name,
            outcome=outcome,
            # updatedAt moves with every change (stage, archive, ...); it is null on opportunities
            # untouched since Lever added it, where lastAdvancedAt is the best left.
            occurred_at=_from_ms(item.get("updatedAt")) or _from_ms(item.get("lastAdvancedAt")),
            applied_at=_from_ms(applied or item.get("createdAt")),
            extra={"source": source, "last_advanced_at": item.get("lastAdvancedAt")},
        )

    def _posting(self, posting_id: str) -> Mapping[str, Any]:
        # https://hire.lever.co/developer/documentation#retrieve-a-single-posting
        body = self._call("GET", f"/postings/{posting_id}", retries=READ_RETRIES).json()
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    def _archive_reason_types(self) -> dict[str, str]:
        # https://hire.lever.co/developer/documentation#list-all-archive-reasons
        body = self._call("GET", "/archive_reasons", retries=READ_RETRIES).json()
        reasons = body.get("data") if isinstance(body, dict) else None
        return {
            str(reason.get("id")): str(reason.get("type") or "")
            for reason in reasons or []
            if isinstance(reason, dict)
        }

    # -- transport -----------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, write: bool = False, retries: int = 0, **kwargs: Any
    ) -> HttpResponse:
        key = read_credential(self.connection.api_key, "Lever API key")
        if write and self.connection.on_behalf_of:
            kwargs["params"] = {"perform_as": self.connection.on_behalf_of}
        return self.http.request(method, path, auth=(key, ""), retries=retries, **kwargs)


class _Lookups:
    """Postings and archive-reason types, each fetched at most once per read (a reconcile run or
    one opportunity)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._postings: dict[str, Mapping[str, Any]] = {}
        self._archive_types: dict[str, str] | None = None

    def posting(self, posting_id: str) -> Mapping[str, Any]:
        if posting_id not in self._postings:
            self._postings[posting_id] = self._client._posting(posting_id)
        return self._postings[posting_id]

    def outcome(self, item: Mapping[str, Any]) -> str:
        """The outcome of an archived opportunity, by its reason's type; "" when not archived."""
        archived = item.get("archived")
        if not isinstance(archived, dict) or not archived.get("reason"):
            return ""
        if self._archive_types is None:
            self._archive_types = self._client._archive_reason_types()
        hired = self._archive_types.get(str(archived["reason"])) == "hired"
        return "hired" if hired else "rejected"


def _posting_id(item: Mapping[str, Any]) -> str:
    for application in item.get("applications") or []:
        if isinstance(application, dict) and application.get("posting"):
            posting = application["posting"]
            return str(posting.get("id") if isinstance(posting, dict) else posting)
    return ""


def _epoch_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _from_ms(value: Any) -> dt.datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    return None
