"""Greenhouse Harvest client: v3 with OAuth2 client credentials (default) and legacy v1.

Connection fields used:

- ``base_url``: Harvest root, default ``https://harvest.greenhouse.io``.
- ``api_client_id``: the Harvest v3 OAuth client id (v3 only).
- ``api_key()``: the v3 client secret, or the v1 API token.
- ``on_behalf_of``: a Greenhouse user id. v3: the token's ``sub`` (the acting user). v1: the
  ``On-Behalf-Of`` header on writes and the note's ``user_id``.
- ``settings``: ``harvest_version`` (``"v3"`` default, ``"v1"`` legacy), ``token_url`` (default
  ``https://auth.greenhouse.io/token``; tests point it at the loopback server), ``http_timeout``.

Writes (``WritebackJob.kind``):

- ``custom_fields``: ``PATCH /{v}/applications/{application remote id}`` with
  ``{"custom_fields": [{"name_key": k, "value": v}, ...]}``. The payload is
  ``{"custom_fields": {name_key: value}}`` or a list of ``{"name_key"|"id", "value", ...}`` items.
- ``note``: a candidate note with payload ``{"body": text, "visibility"?: "private"}``.
- ``assessment`` (Assessment Partner API): ``PATCH <payload["callback_url"]>`` with no body,
  Basic auth ``<partner key>:``. The URL is the ``url`` Greenhouse sent with ``send_test``
  (absolute, on ``*.greenhouse.io``); the call makes Greenhouse fetch ``test_status``. Payload
  ``{"callback_url": url, "partner_interview_id": id}`` (see ``interviews.partners``).

Harvest accepts no idempotency key. PATCHing custom fields (or a completion URL) is idempotent.
A note retried after a timeout that Greenhouse did process can show up twice.

Access tokens are cached in the Django cache per connection until shortly before they expire. A
401 from the API drops the cached token, fetches a new one and retries the call once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from integrations.connectors.base import (
    AtsClient,
    CandidateData,
    RequisitionData,
    StageChange,
    WritebackOutcome,
)
from integrations.http import (
    AtsAuthError,
    AtsPermanentError,
    HttpClient,
    HttpResponse,
    client_for_settings,
    read_credential,
    same_origin,
)
from integrations.models import WritebackKind

if TYPE_CHECKING:
    from integrations.models import AtsConnection, WritebackJob

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://harvest.greenhouse.io"
DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"  # noqa: S105 - a URL, not a secret
# Access tokens live 1 h; stop using a cached one this long before it expires.
TOKEN_EXPIRY_MARGIN = 120
DEFAULT_TOKEN_TTL = 3600
PER_PAGE = 100
# Harvest caps id-list filters (v1 candidate_ids) at 50.
IDS_PER_CALL = 50
# Reads (reconcile) retry timeouts, 429 and 5xx in-call; writes never do (the outbox does).
READ_RETRIES = 3
STAGE_NAME_TTL = 3600
NOTE_VISIBILITIES = frozenset({"private", "public", "admin_only"})
# Send Test completion URLs live on Greenhouse's app hosts (app.greenhouse.io, app.eu...).
ASSESSMENT_CALLBACK_DOMAIN = "greenhouse.io"


class Client(AtsClient):
    """Outbound Greenhouse Harvest calls for one connection."""

    def __init__(self, connection: AtsConnection, *, http: HttpClient | None = None) -> None:
        super().__init__(connection)
        settings = connection.settings or {}
        version = str(settings.get("harvest_version") or "v3").lower()
        self.version = "v1" if version == "v1" else "v3"
        self.token_url = str(settings.get("token_url") or DEFAULT_TOKEN_URL)
        self.http = http or client_for_settings(connection.base_url or DEFAULT_BASE_URL, settings)

    # -- writes --------------------------------------------------------------------------------
    def send_writeback(self, job: WritebackJob) -> WritebackOutcome:
        """Perform one writeback job (custom fields or a candidate note)."""
        if job.kind == WritebackKind.CUSTOM_FIELDS:
            return self._write_custom_fields(job)
        if job.kind == WritebackKind.NOTE:
            return self._write_note(job)
        if job.kind == WritebackKind.ASSESSMENT:
            return self._complete_assessment(job)
        raise AtsPermanentError(f"the Greenhouse connector cannot write '{job.kind}' jobs")

    def _write_custom_fields(self, job: WritebackJob) -> WritebackOutcome:
        fields = _custom_fields(job.payload)
        application_id = _application(job).remote_id
        # v1: https://developers.greenhouse.io/harvest.html#patch-update-application
        # v3: https://harvestdocs.greenhouse.io/docs/write-endpoint-migration-guide maps the v1
        # PATCH to PATCH /v3/applications/{id}; the v3 body is assumed unchanged (UNVERIFIED).
        response = self._call(
            "PATCH",
            f"/{self.version}/applications/{application_id}",
            json={"custom_fields": fields},
            write=True,
        )
        return WritebackOutcome(status_code=response.status_code, remote_reference=application_id)

    def _write_note(self, job: WritebackJob) -> WritebackOutcome:
        payload = job.payload or {}
        body = payload.get("body") or payload.get("text")
        if not isinstance(body, str) or not body.strip():
            raise AtsPermanentError("note payload has no 'body' text")
        visibility = payload.get("visibility") or "private"
        if visibility not in NOTE_VISIBILITIES:
            raise AtsPermanentError(
                f"note visibility {visibility!r} is not one of {NOTE_VISIBILITIES}"
            )
        candidate_id = _application(job).candidate.remote_id
        if self.version == "v1":
            user_id = self.connection.on_behalf_of
            # https://developers.greenhouse.io/harvest.html#post-add-note
            response = self._call(
                "POST",
                f"/v1/candidates/{candidate_id}/activity_feed/notes",
                json={"user_id": _gh_id(user_id), "body": body, "visibility": visibility},
                write=True,
            )
        else:
            # UNVERIFIED: the research found the scope harvest:notes:create and GET /v3/notes,
            # not the create call; POST /v3/notes {candidate_id, body, visibility} is presumed.
            # https://harvestdocs.greenhouse.io/docs/write-endpoint-migration-guide
            response = self._call(
                "POST",
                "/v3/notes",
                json={"candidate_id": _gh_id(candidate_id), "body": body, "visibility": visibility},
                write=True,
            )
        created = response.json_or_none()
        reference = str(created["id"]) if isinstance(created, dict) and "id" in created else ""
        return WritebackOutcome(status_code=response.status_code, remote_reference=reference)

    def _complete_assessment(self, job: WritebackJob) -> WritebackOutcome:
        """Mark a Send Test instance complete: PATCH its callback URL (no body, no Harvest auth).

        Greenhouse authenticates the call with the organization's partner key, the same key it
        presents to our endpoints. It answers with a status code only and then calls
        ``test_status`` for the result. It refuses updates for hired or inactive candidates
        (a 4xx: the job ends dead and visible).
        """
        payload = job.payload or {}
        url = payload.get("callback_url")
        if not isinstance(url, str) or not assessment_callback_allowed(self.connection, url):
            raise AtsPermanentError(
                "assessment payload needs a 'callback_url' on a Greenhouse host "
                "(or on the connection's base URL)"
            )
        key = read_credential(self.connection.partner_key, "Greenhouse assessment partner key")
        self.http.add_secret(key)
        # https://developers.greenhouse.io/assessment.html#patch-mark-test-as-completed
        response = self.http.request("PATCH", url, auth=(key, ""))
        return WritebackOutcome(
            status_code=response.status_code,
            remote_reference=str(payload.get("partner_interview_id") or ""),
        )

    # -- reads ---------------------------------------------------------------------------------
    def iter_stage_changes(self, *, since: dt.datetime | None) -> Iterator[StageChange]:
        """Applications changed since ``since``, page by page (Link ``rel="next"``).

        v3 list items carry ids only (``candidate_id``, ``job_id``, ``current_stage_id``; the exact
        v3 application shape is UNVERIFIED, nested objects are used when present). Per page,
        the missing candidates, jobs and stages are fetched in batches by id (``?ids=``, at most
        50 per call; jobs and stages are remembered for the whole run), so a page of 100 costs
        at most a handful of extra calls. v1 items already carry the stage and job names; only
        the candidates are fetched (``/v1/candidates?candidate_ids=``).
        """
        path = f"/{self.version}/applications"
        params: dict[str, Any] = {"per_page": PER_PAGE}
        if since is not None:
            if self.version == "v1":
                # https://developers.greenhouse.io/harvest.html#get-list-applications
                params["last_activity_after"] = _iso(since)
            else:
                # https://harvestdocs.greenhouse.io/docs/list-endpoints: date filters take an
                # operator, e.g. updated_at=gte|2024-01-01T00:00:00Z.
                params["updated_at"] = f"gte|{_iso(since)}"
        jobs: dict[str, dict[str, Any]] = {}
        stages: dict[str, dict[str, Any]] = {}
        first_url = self.http.url(path)
        url: str | None = first_url
        page_params: dict[str, Any] | None = params
        while url:
            # https://harvestdocs.greenhouse.io/docs/pagination (v3: follow the Link header
            # exactly, a cursor URL takes no other parameter); v1: the same Link header.
            response = self._call("GET", url, params=page_params, retries=READ_RETRIES)
            items = [item for item in _list_items(response.json()) if isinstance(item, dict)]
            yield from self._stage_changes(items, jobs, stages)
            url = response.next_link
            page_params = None
            if url and not same_origin(url, first_url):
                raise AtsPermanentError("Greenhouse pagination link points to another host")

    def _stage_changes(
        self,
        items: list[dict[str, Any]],
        jobs: dict[str, dict[str, Any]],
        stages: dict[str, dict[str, Any]],
    ) -> Iterator[StageChange]:
        # Only for items that do not carry the candidate object themselves.
        candidate_ids = {
            cid
            for item in items
            if not isinstance(item.get("candidate"), Mapping)
            and (cid := _ref_id(item, "candidate"))
        }
        candidates = self._fetch_by_ids(
            f"/{self.version}/candidates",
            "candidate_ids" if self.version == "v1" else "ids",
            candidate_ids,
        )
        if self.version == "v3":
            wanted_jobs = {j for item in items if (j := _job_id(item)) and j not in jobs}
            jobs.update(self._fetch_by_ids("/v3/jobs", "ids", wanted_jobs))
            unnamed = (_stage(item) for item in items)
            wanted_stages = {sid for sid, name in unnamed if sid and not name and sid not in stages}
            stages.update(self._fetch_by_ids("/v3/job_interview_stages", "ids", wanted_stages))
        for item in items:
            change = _stage_change(item, candidates, jobs, stages)
            if change is None:
                logger.info("skipping Greenhouse application %s without a job", item.get("id"))
                continue
            yield change

    def _fetch_by_ids(
        self, path: str, id_param: str, ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ordered = sorted(set(ids))
        for start in range(0, len(ordered), IDS_PER_CALL):
            chunk = ordered[start : start + IDS_PER_CALL]
            response = self._call(
                "GET",
                path,
                params={id_param: ",".join(chunk), "per_page": PER_PAGE},
                retries=READ_RETRIES,
            )
            for item in _list_items(response.json()):
                if isinstance(item, dict) and item.get("id") is not None:
                    found[str(item["id"])] = item
        return found

    def stage_name(self, remote_stage_id: str) -> str:
        """Name of a job stage (cached for an hour); events usually carry it already."""
        key = f"screenbridge:greenhouse:stage:{self.connection.pk}:{remote_stage_id}"
        name = cache.get(key)
        if name is None:
            if self.version == "v1":
                # https://developers.greenhouse.io/harvest.html#get-retrieve-job-stage
                stage = self._call(
                    "GET", f"/v1/job_stages/{remote_stage_id}", retries=READ_RETRIES
                ).json()
            else:
                # v3 job_interview_stages with the standard ids filter (list-endpoints guide).
                stage = self._fetch_by_ids(
                    "/v3/job_interview_stages", "ids", [remote_stage_id]
                ).get(str(remote_stage_id), {})
            name = str(stage.get("name") or "") if isinstance(stage, dict) else ""
            cache.set(key, name, STAGE_NAME_TTL)
        return str(name)

    # -- transport -----------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path_or_url: str,
        *,
        write: bool = False,
        retries: int = 0,
        **kwargs: Any,
    ) -> HttpResponse:
        headers: dict[str, str] = {}
        if self.version == "v1":
            secret = self._secret()
            if write:
                if not self.connection.on_behalf_of:
                    raise AtsPermanentError(
                        "Greenhouse v1 writes need the connection's on_behalf_of user id"
                    )
                headers["On-Behalf-Of"] = self.connection.on_behalf_of
            return self.http.request(
                method, path_or_url, auth=(secret, ""), headers=headers, retries=retries, **kwargs
            )
        headers["Authorization"] = f"Bearer {self._access_token()}"
        try:
            return self.http.request(
                method, path_or_url, headers=headers, retries=retries, **kwargs
            )
        except AtsAuthError as exc:
            if exc.status_code != 401:
                raise
            # An expired or revoked token: fetch a fresh one and try exactly once more.
            logger.info("Greenhouse answered 401; refreshing the access token once")
            headers["Authorization"] = f"Bearer {self._access_token(force_refresh=True)}"
            return self.http.request(
                method, path_or_url, headers=headers, retries=retries, **kwargs
            )

    def _secret(self) -> str:
        secret = read_credential(self.connection.api_key, "Greenhouse API key/client secret")
        self.http.add_secret(secret)
        return secret

    def _token_cache_key(self) -> str:
        fingerprint = hashlib.sha256(
            "|".join(
                (self.connection.api_client_id, self.connection.on_behalf_of, self.token_url)
            ).encode()
        ).hexdigest()[:16]
        return f"screenbridge:greenhouse:token:{self.connection.pk}:{fingerprint}"

    def _access_token(self, *, force_refresh: bool = False) -> str:
        """A v3 access token from the cache, or from the token endpoint (client credentials)."""
        key = self._token_cache_key()
        if force_refresh:
            cache.delete(key)
        else:
            cached = cache.get(key)
            if cached:
                self.http.add_secret(cached)
                return str(cached)
        client_id = self.connection.api_client_id
        if not client_id:
            raise AtsAuthError("Greenhouse v3 needs the connection's api_client_id (OAuth client)")
        form = {"grant_type": "client_credentials"}
        if self.connection.on_behalf_of:
            form["sub"] = self.connection.on_behalf_of
        # https://harvestdocs.greenhouse.io/docs/authentication (client credentials flow)
        try:
            response = self.http.request(
                "POST", self.token_url, auth=(client_id, self._secret()), data=form
            )
        except AtsPermanentError as exc:  # 400 invalid_client/invalid_grant: bad credentials
            raise AtsAuthError(
                f"Greenhouse token request refused: {exc.message}",
                status_code=exc.status_code,
                excerpt=exc.excerpt,
                elapsed_ms=exc.elapsed_ms,
            ) from None
        body = response.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AtsAuthError("Greenhouse token endpoint answered without an access_token")
        self.http.add_secret(token)
        ttl = _token_ttl(body) - TOKEN_EXPIRY_MARGIN
        if ttl > 0:
            cache.set(key, token, ttl)
        return token


# --- helpers ----------------------------------------------------------------------------------
def assessment_callback_allowed(connection: AtsConnection, url: str) -> bool:
    """Whether Screenbridge may PATCH ``url`` as a Send Test completion URL.

    The URL arrives in the request body, so it is checked before it is stored and again before
    it is called: HTTPS on ``greenhouse.io`` or a subdomain, or the origin of the connection's
    own ``base_url`` (an admin-set value; the loopback server in tests), or a host listed in
    ``settings["assessment_callback_hosts"]``. Anything else would let a caller holding the
    partner key make Screenbridge send that key to a host of its choosing.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or not host:
        return False
    if connection.base_url and same_origin(url, connection.base_url):
        return True
    extra = (connection.settings or {}).get("assessment_callback_hosts") or []
    if isinstance(extra, list) and host in {str(h).lower() for h in extra}:
        return True
    return parts.scheme == "https" and (
        host == ASSESSMENT_CALLBACK_DOMAIN or host.endswith(f".{ASSESSMENT_CALLBACK_DOMAIN}")
    )


def _application(job: WritebackJob) -> Any:
    if job.application is None:
        raise AtsPermanentError("writeback job has no application to write to")
    return job.application


def _gh_id(value: str) -> int | str:
    """Greenhouse ids are integers; remote ids are stored as strings."""
    return int(value) if value.isdigit() else value


_FIELD_KEYS = frozenset(
    {"id", "name_key", "value", "unit", "min_value", "max_value", "delete_value"}
)


def _custom_fields(payload: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    raw = (payload or {}).get("custom_fields")
    fields: list[dict[str, Any]] = []
    if isinstance(raw, Mapping):
        fields = [{"name_key": str(key), "value": value} for key, value in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            if not isinstance(item, Mapping) or not (item.get("name_key") or item.get("id")):
                raise AtsPermanentError("each custom field needs a 'name_key' or an 'id'")
            fields.append({k: v for k, v in item.items() if k in _FIELD_KEYS})
    if not fields:
        raise AtsPermanentError("custom_fields payload is empty")
    return fields


def _token_ttl(body: Mapping[str, Any]) -> int:
    """Seconds the token lives: ``expires_in``, else ``expires_at`` (ISO), else one hour."""
    expires_in = body.get("expires_in")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        return int(expires_in)
    if isinstance(expires_in, str) and expires_in.isdigit():
        return int(expires_in)
    expires_at = body.get("expires_at")
    if isinstance(expires_at, str):
        when = _parse_time(expires_at)
        if when is not None:
            return int((when - dt.datetime.now(tz=dt.UTC)).total_seconds())
    return DEFAULT_TOKEN_TTL


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _list_items(body: Any) -> list[Any]:
    """List endpoints answer a JSON array (v1); accept an object with ``data`` too (v3)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("data", "results", "items"):
            if isinstance(body.get(key), list):
                return list(body[key])
    return []


def _ref_id(item: Mapping[str, Any], name: str) -> str:
    """``<name>_id`` or ``<name>.id`` as a string ('' when absent)."""
    value = item.get(f"{name}_id")
    if value is None and isinstance(item.get(name), Mapping):
        value = item[name].get("id")
    return "" if value is None else str(value)


def _job_id(item: Mapping[str, Any]) -> str:
    job_id = _ref_id(item, "job")
    if not job_id and isinstance(item.get("jobs"), list) and item["jobs"]:
        first = item["jobs"][0]
        job_id = str(first.get("id", "")) if isinstance(first, Mapping) else str(first)
    return job_id


def _stage(item: Mapping[str, Any]) -> tuple[str, str]:
    """(stage id, stage name if the item carries it)."""
    current = item.get("current_stage")
    if isinstance(current, Mapping):
        return str(current.get("id") or ""), str(current.get("name") or "")
    return _ref_id(item, "current_stage"), ""


def _email(candidate: Mapping[str, Any]) -> str:
    for key in ("email_addresses", "emails"):
        values = candidate.get(key)
        if isinstance(values, list) and values:
            first = values[0]
            return str(first.get("value", "") if isinstance(first, Mapping) else first)
    return str(candidate.get("email") or "")


_OUTCOMES = {"rejected": "rejected", "hired": "hired"}
_REQUISITION_STATUSES = {"open": "open", "closed": "closed", "draft": "draft"}


def _stage_change(
    item: Mapping[str, Any],
    candidates: Mapping[str, Mapping[str, Any]],
    jobs: Mapping[str, Mapping[str, Any]],
    stages: Mapping[str, Mapping[str, Any]],
) -> StageChange | None:
    job_id = _job_id(item)
    candidate_id = _ref_id(item, "candidate")
    if not job_id or not candidate_id or item.get("id") is None:
        return None  # prospects without a job cannot be an Application
    candidate = candidates.get(candidate_id) or (
        item["candidate"] if isinstance(item.get("candidate"), Mapping) else {}
    )
    job: Mapping[str, Any] = jobs.get(job_id) or {}
    if not job and isinstance(item.get("jobs"), list) and item["jobs"]:
        first = item["jobs"][0]
        job = first if isinstance(first, Mapping) else {}
    stage_id, stage_name = _stage(item)
    if not stage_name and stage_id:
        stage_name = str((stages.get(stage_id) or {}).get("name") or "")
    status = str(item.get("status") or "").lower()
    return StageChange(
        application_remote_id=str(item["id"]),
        candidate=CandidateData(
            remote_id=candidate_id,
            first_name=str(candidate.get("first_name") or ""),
            last_name=str(candidate.get("last_name") or ""),
            email=_email(candidate),
        ),
        requisition=RequisitionData(
            remote_id=job_id,
            title=str(job.get("name") or job.get("title") or ""),
            # "" when the job status is unknown (v1 lists): the sync keeps the stored one.
            status=_REQUISITION_STATUSES.get(str(job.get("status") or "").lower(), ""),
        ),
        remote_stage_id=stage_id,
        remote_stage_name=stage_name,
        outcome=_OUTCOMES.get(status, ""),
        occurred_at=_parse_time(item.get("updated_at") or item.get("last_activity_at")),
        applied_at=_parse_time(item.get("applied_at") or item.get("created_at")),
        extra={"provider_status": status, "source": "reconcile"},
    )
