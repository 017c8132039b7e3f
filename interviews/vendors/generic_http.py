"""The generic HTTP interview vendor: Screenbridge's published vendor API.

Any automated-interview vendor can integrate by implementing the two halves below. Both
directions are signed with Standard Webhooks 1.0
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw body}")>``), with
``whsec_<base64>`` secrets. Receivers accept timestamps within 5 minutes either way.

Vendor fields used: ``base_url`` (the vendor's API root), ``api_key()`` (the ``whsec_`` secret
Screenbridge signs its requests with), ``webhook_secret()`` (the secret the vendor signs its
webhooks with; several may be configured, separated by whitespace, for rotation) and
``settings``: ``invite_path`` (default ``/interviews``) and ``http_timeout`` (seconds, a
``[connect, read]`` pair or ``{"connect", "read"}``; default 5 s / 30 s).

1. Invitation (Screenbridge → vendor)
-------------------------------------

``POST {base_url}{invite_path}`` with ``Content-Type: application/json``::

    {
      "interview_id": "6f1c7e0e-5a0b-4a57-9d55-0d7f2c1e9b3a",
      "test_id": "support-screen-v2",
      "candidate": {"first_name": "Amara", "last_name": "Okafor",
                    "email": "amara.okafor@example.com"},
      "requisition": {"title": "Customer Support Specialist"},
      "expires_at": "2026-04-14T16:40:00+00:00",
      "callback_url": "https://screenbridge.example/webhooks/vendor/acme-interviews/"
    }

- ``interview_id`` is our id for the interview; ``webhook-id`` carries the same value, so a retry
  of the same invitation is the same message and the vendor must answer it with the same
  interview (idempotency).
- ``test_id`` is the plan's vendor test id; ``expires_at`` the invitation deadline (ISO-8601);
  ``callback_url`` where to post the webhooks of part 2.
- Answer: any 2xx with a JSON object ``{"id": "<vendor reference>", "invite_url": "https://..."}``.
  ``id`` is required (a string or integer, at most 200 characters); ``invite_url`` (the
  candidate's link) and ``expires_at`` are optional.
- Errors: a timeout, 429 (``Retry-After`` is honoured) and 5xx are retried later with backoff;
  401/403 and other 4xx (e.g. 422 for an unknown ``test_id``) are permanent and shown to admins.
  A 2xx without a readable ``id`` counts as a server error. Redirects are never followed.

Cancellation: ``DELETE {base_url}{invite_path}/{id}`` signed over an empty body (``webhook-id`` =
``<interview_id>:cancel``). Any 2xx, and 404 (already gone), is success.

Deletion: ``POST {base_url}{deletion_path}`` (setting ``deletion_path``, default
``/deletions``), signed, ``webhook-id`` = ``deletion_id`` (the same on every retry)::

    {"deletion_id": "<uuid>", "artifacts": ["recording", "transcript"],
     "interviews": [{"id": "<vendor reference>", "external_id": "<interview_id>"}]}

``artifacts`` is a subset of ``recording``, ``transcript``, ``report``, ``raw`` or ``["all"]``
(a candidate's erasure request). The vendor deletes them everywhere, backups included, and
answers any 2xx with ``{"deleted": <number of interviews>}``; that answer is recorded as its
confirmation. 404 for an interview it no longer has is fine too. Other errors are retried.

2. Status updates and results (vendor → Screenbridge)
-----------------------------------------------------

``POST {callback_url}`` (``/webhooks/vendor/<vendor-slug>/``), one event per message, a new
``webhook-id`` per event and the same one on every retry of it::

    {
      "type": "interview.completed",
      "occurred_at": "2026-04-10T09:12:44Z",
      "interview": {"id": "<vendor reference>", "external_id": "<interview_id>"},
      "result": {
        "score": 7.4, "scale_max": 10,
        "competencies": [{"key": "empathy", "score": 8}, {"key": "problem_solving", "score": 6.5}],
        "summary": ["Restated the customer's problem before proposing a fix: ...", "..."],
        "flags": ["integrity"],
        "confidence": 0.82,
        "transcript": {"url": "https://vendor.example/t/123", "word_count": 1640},
        "recording_url": "https://vendor.example/r/123",
        "report_url": "https://vendor.example/reports/123"
      }
    }

- ``type``: ``interview.started``, ``interview.completed``, ``interview.expired``,
  ``interview.cancelled`` or ``interview.failed``. Other types are accepted and ignored.
  ``reason`` (a string) may say why an interview expired, was cancelled or failed.
- ``interview``: ``id`` (the reference answered to the invitation) and/or ``external_id`` (our
  ``interview_id``); at least one, and they must name the same interview.
- ``occurred_at``: ISO-8601 (read as UTC without an offset); defaults to ``webhook-timestamp``.
- ``result`` (required for ``interview.completed``):

  - ``score`` on the scale ``0..scale_max`` (``scale_max`` defaults to 100); competency scores use
    the same scale. **Normalization**: ``score / scale_max * 100``, rounded half-up to 2 decimals.
    A score outside ``0..scale_max`` is refused (never clamped).
  - ``competencies``: ``[{"key", "score"}]``, keys as configured on the interview plan.
  - ``summary``: 1 to 3 evidence bullets, each at most 280 characters, citing the candidate's
    answers.
  - ``flags``: ``integrity``, ``technical``, ``low_confidence``, ``short_transcript``
    (``borderline`` is ignored: Screenbridge computes it from the plan's bands).
  - ``confidence`` 0..1; ``transcript`` ``{"url", "word_count"}``; ``recording_url``;
    ``report_url``: all optional (absent transcripts are flagged for human review).

Answers: 200 ``{"status": "accepted"|"duplicate", "event": <id>}``; 401 bad or missing signature;
400 a body that is not a JSON object with a ``type``; 422 ``{"error": "..."}`` for an event that
cannot be applied as sent (e.g. a score out of range, 0 or more than 3 bullets) — nothing is
stored, fix it and send it again; 404 unknown vendor; 413 body over 1 MiB; 503 retry later.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.urls import reverse
from django.utils import timezone

from integrations.connectors import payload as readers
from integrations.connectors import standard_webhooks
from integrations.connectors.base import Delivery, MalformedPayloadError, SignatureError
from integrations.connectors.signing import json_object
from integrations.crypto import SecretUnavailableError
from integrations.http import (
    AtsPermanentError,
    AtsServerError,
    HttpClient,
    HttpResponse,
    client_for_settings,
)
from interviews.models import ResultFlag
from interviews.vendors.base import (
    DeletionConfirmation,
    Invitation,
    ResultData,
    VendorAdapter,
    VendorUpdate,
)

if TYPE_CHECKING:
    from interviews.models import Interview, Vendor

DEFAULT_INVITE_PATH = "/interviews"
DEFAULT_DELETION_PATH = "/deletions"
DEFAULT_SCALE_MAX = 100

# Event type → VendorUpdate.kind (the interview status it reports).
EVENT_KINDS: dict[str, str] = {
    "interview.started": "started",
    "interview.completed": "completed",
    "interview.expired": "expired",
    "interview.cancelled": "cancelled",
    "interview.failed": "failed",
}
# Flags a vendor may report; "borderline" is Screenbridge's own (computed from the bands), so a
# vendor's is dropped.
BORDERLINE = ResultFlag.BORDERLINE.value
VENDOR_FLAGS: tuple[str, ...] = tuple(flag.value for flag in ResultFlag if flag != BORDERLINE)
REFERENCE_MAX_CHARS = 200
URL_MAX_CHARS = 1000
DETAIL_MAX_CHARS = 500
HUNDRED = Decimal(100)
CENTS = Decimal("0.01")

_http_url = URLValidator(schemes=["http", "https"])


def webhook_url(vendor: Vendor) -> str:
    """The absolute URL the vendor posts its webhooks to (sent as ``callback_url``)."""
    path = reverse("interviews:vendor-webhook", args=[vendor.slug])
    return settings.SCREENBRIDGE_PUBLIC_URL.rstrip("/") + path


class GenericHttpVendor(VendorAdapter):
    """A vendor speaking the protocol in this module's docstring."""

    def __init__(self, vendor: Vendor, *, http: HttpClient | None = None) -> None:
        super().__init__(vendor)
        self._http = http

    @property
    def http(self) -> HttpClient:
        # Built on first use: verifying and parsing webhooks needs no HTTP session.
        if self._http is None:
            self._http = client_for_settings(self.vendor.base_url, self.vendor.settings)
        return self._http

    # -- outbound ----------------------------------------------------------------------------

    def invite(self, interview: Interview) -> Invitation:
        """POST the signed invitation; return the vendor's reference and candidate link."""
        expires_at = interview.expires_at or (
            timezone.now() + dt.timedelta(days=interview.plan.expiry_days)
        )
        application = interview.application
        candidate = application.candidate
        body = _json_bytes(
            {
                "interview_id": str(interview.public_id),
                "test_id": interview.plan.vendor_test_id,
                "candidate": {
                    "first_name": candidate.first_name,
                    "last_name": candidate.last_name,
                    "email": candidate.email,
                },
                "requisition": {"title": application.requisition.title},
                "expires_at": expires_at.isoformat(),
                "callback_url": webhook_url(self.vendor),
            }
        )
        # The message id is the interview's: a retried invitation is the same message.
        headers = self._signed_headers(str(interview.public_id), body)
        headers["Content-Type"] = "application/json"
        # Documented in this module's docstring (part 1); data=, not json=: the signature
        # covers these exact bytes.
        response = self.http.request("POST", self._invite_path(), data=body, headers=headers)
        return _invitation_from(response, default_expires_at=expires_at)

    def cancel(self, interview: Interview) -> None:
        """DELETE the invitation; an interview the vendor never heard of is already done."""
        if not interview.vendor_reference:
            return
        path = f"{self._invite_path()}/{quote(interview.vendor_reference, safe='')}"
        headers = self._signed_headers(f"{interview.public_id}:cancel", b"")
        try:
            self.http.request("DELETE", path, headers=headers)
        except AtsPermanentError as exc:
            if exc.status_code != 404:
                raise

    def delete_data(
        self, interviews: list[Interview], *, artifacts: list[str], deletion_id: str
    ) -> DeletionConfirmation:
        """POST the signed deletion request; the vendor's 2xx answer is its confirmation."""
        body = _json_bytes(
            {
                "deletion_id": deletion_id,
                "artifacts": list(artifacts),
                "interviews": [
                    {"id": interview.vendor_reference, "external_id": str(interview.public_id)}
                    for interview in interviews
                ],
            }
        )
        headers = self._signed_headers(deletion_id, body)
        headers["Content-Type"] = "application/json"
        path = "/" + str(
            (self.vendor.settings or {}).get("deletion_path") or DEFAULT_DELETION_PATH
        ).strip("/")
        try:
            response = self.http.request("POST", path, data=body, headers=headers)
        except AtsPermanentError as exc:
            if exc.status_code == 404:  # the vendor holds nothing of these interviews
                return DeletionConfirmation(deleted=0, reference="404")
            raise
        answer = response.json_or_none()
        deleted = answer.get("deleted") if isinstance(answer, dict) else None
        if isinstance(deleted, bool) or not isinstance(deleted, int):
            deleted = len(interviews)
        return DeletionConfirmation(deleted=deleted, reference=f"HTTP {response.status_code}")

    def _invite_path(self) -> str:
        path = str((self.vendor.settings or {}).get("invite_path") or DEFAULT_INVITE_PATH)
        return "/" + path.strip("/")

    def _signed_headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        # The same signer as the generic ATS client (connectors/standard_webhooks.py).
        return standard_webhooks.signed_headers(
            self.http,
            self.vendor.api_key,
            label="vendor signing secret (API key)",
            no_base_url=f"vendor {self.vendor.slug} has no base_url",
            msg_id=msg_id,
            body=body,
        )

    # -- inbound -----------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Standard Webhooks check on the raw body, then name the delivery (part 2).

        SignatureError (401) when the signature is missing, stale or wrong; MalformedPayloadError
        (400) for an authentic body that is not a JSON object with a ``type``.
        """
        message = standard_webhooks.verify(self._webhook_secrets, headers, body, owner="vendor")
        payload = json_object(message.text)
        event_type = payload.get("type")
        if not isinstance(event_type, str) or not event_type.strip():
            raise MalformedPayloadError("body has no 'type'")
        occurred_at = readers.iso_datetime(payload, "occurred_at") or message.sent_at
        return Delivery(
            delivery_id=message.message_id, action=event_type.strip(), occurred_at=occurred_at
        )

    def _webhook_secrets(self) -> list[str]:
        try:
            configured = self.vendor.webhook_secret()
        except SecretUnavailableError:
            configured = ""
        secrets = configured.split()
        if not secrets:
            raise SignatureError("no usable webhook secret is configured for this vendor")
        return secrets

    def parse(self, event_type: str, payload: dict[str, Any]) -> list[VendorUpdate]:
        return parse_event(event_type, payload)


# -- parsing events (shared with the rehearsal vendor) -----------------------------------------


def parse_event(event_type: str, payload: Mapping[str, Any]) -> list[VendorUpdate]:
    """One event of part 2 as :class:`VendorUpdate` facts; ``[]`` for types we do not use.

    Raises MalformedPayloadError naming the field for anything that cannot be applied as sent,
    including scores outside ``0..scale_max``.
    """
    kind = EVENT_KINDS.get(event_type)
    if kind is None:
        return []
    interview = readers.require_object(payload, "interview")
    reference = _reference(interview)
    public_id = _public_id(interview)
    if not reference and not public_id:
        raise MalformedPayloadError("interview needs an 'id' or an 'external_id'")
    result = None
    if kind == "completed":
        result = parse_result(readers.require_object(payload, "result"), raw=payload)
    return [
        VendorUpdate(
            vendor_reference=reference,
            interview_public_id=public_id,
            kind=kind,
            occurred_at=readers.iso_datetime(payload, "occurred_at"),
            result=result,
            detail=readers.text(payload, "reason")[:DETAIL_MAX_CHARS],
        )
    ]


def parse_result(result: Mapping[str, Any], *, raw: Mapping[str, Any]) -> ResultData:
    """A ``result`` object, normalized to 0–100 (see "Normalization" above)."""
    scale_max = _scale_max(result.get("scale_max"))
    score = _normalized(result.get("score"), scale_max, "result.score")
    transcript = result.get("transcript")
    if transcript is not None and not isinstance(transcript, Mapping):
        raise MalformedPayloadError("result.transcript should be an object")
    transcript = transcript or {}
    return ResultData(
        score=score,
        competency_scores=_competencies(result.get("competencies"), scale_max),
        summary_bullets=_summary(result.get("summary")),
        flags=_flags(result.get("flags")),
        confidence=_confidence(result.get("confidence")),
        transcript_word_count=_word_count(transcript.get("word_count")),
        transcript_url=_url(transcript.get("url"), "result.transcript.url"),
        recording_url=_url(result.get("recording_url"), "result.recording_url"),
        report_url=_url(result.get("report_url"), "result.report_url"),
        raw=dict(raw),
    )


def _reference(interview: Mapping[str, Any]) -> str:
    value = interview.get("id")
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayloadError("interview.id should be a string")
    reference = str(value).strip()
    if len(reference) > REFERENCE_MAX_CHARS or not reference.isprintable():
        raise MalformedPayloadError(
            f"interview.id should be printable and at most {REFERENCE_MAX_CHARS} characters"
        )
    return reference


def _public_id(interview: Mapping[str, Any]) -> str:
    value = interview.get("external_id")
    if value is None or value == "":
        return ""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise MalformedPayloadError(
            "interview.external_id is not one of our interview ids (a UUID)"
        ) from None


def _number(value: Any, field: str) -> float:
    # bool is an int in Python but never a score; NaN/Infinity are JSON extensions we refuse.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayloadError(f"{field} should be a number")
    if not math.isfinite(value):
        raise MalformedPayloadError(f"{field} should be a finite number")
    return value


def _scale_max(value: Any) -> Decimal:
    if value is None:
        return Decimal(DEFAULT_SCALE_MAX)
    number = _number(value, "result.scale_max")
    if number <= 0:
        raise MalformedPayloadError("result.scale_max should be greater than 0")
    return Decimal(str(number))


def _normalized(value: Any, scale_max: Decimal, field: str) -> Decimal:
    """A required score on ``0..scale_max`` as 0–100, rounded half-up to 2 decimals."""
    if value is None:
        raise MalformedPayloadError(f"missing required field {field}")
    number = Decimal(str(_number(value, field)))
    if number < 0 or number > scale_max:
        raise MalformedPayloadError(
            f"{field} {value} is outside the result's scale 0–{scale_max.normalize():f} "
            "(scores are refused, never clamped)"
        )
    return (number / scale_max * HUNDRED).quantize(CENTS, rounding=ROUND_HALF_UP)


def _competencies(value: Any, scale_max: Decimal) -> dict[str, Decimal]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise MalformedPayloadError("result.competencies should be a list of {key, score}")
    scores: dict[str, Decimal] = {}
    for index, item in enumerate(value):
        field = f"result.competencies.{index}"
        if not isinstance(item, Mapping):
            raise MalformedPayloadError(f"{field} should be an object {{key, score}}")
        key = item.get("key")
        if not isinstance(key, str) or not key.strip():
            raise MalformedPayloadError(f"{field}.key should be a non-empty string")
        key = key.strip()
        if key in scores:
            raise MalformedPayloadError(f"competency {key!r} is scored twice")
        scores[key] = _normalized(item.get("score"), scale_max, f"{field}.score")
    return scores


def _summary(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedPayloadError("result.summary should be a list of strings")
    return tuple(item.strip() for item in value)


def _flags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedPayloadError("result.flags should be a list of strings")
    unknown = sorted({flag for flag in value if flag not in VENDOR_FLAGS} - {BORDERLINE})
    if unknown:
        raise MalformedPayloadError(
            f"result.flags has unknown flag(s) {', '.join(unknown)}; "
            f"known: {', '.join(VENDOR_FLAGS)}"
        )
    # De-duplicated, order kept; "borderline" is ours to compute from the plan's bands.
    return tuple(flag for flag in dict.fromkeys(value) if flag != BORDERLINE)


def _confidence(value: Any) -> float | None:
    if value is None:
        return None
    number = _number(value, "result.confidence")
    if not 0 <= number <= 1:
        raise MalformedPayloadError(f"result.confidence {value} is outside 0–1")
    return float(number)


def _word_count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedPayloadError("result.transcript.word_count should be a whole number ≥ 0")
    return value


def _url(value: Any, field: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise MalformedPayloadError(f"{field} should be a URL string")
    try:
        if len(value) > URL_MAX_CHARS:
            raise ValidationError("too long")
        _http_url(value)
    except ValidationError:
        raise MalformedPayloadError(
            f"{field} should be an http(s) URL of at most {URL_MAX_CHARS} characters"
        ) from None
    return value


# -- the invitation answer ---------------------------------------------------------------------


def _invitation_from(response: HttpResponse, *, default_expires_at: dt.datetime) -> Invitation:
    """The vendor's answer to an invitation; an unreadable 2xx is the vendor's (retryable) fault."""

    def unreadable(why: str) -> AtsServerError:
        return AtsServerError(
            f"HTTP {response.status_code} from the vendor's invitation endpoint: {why}",
            status_code=response.status_code,
            elapsed_ms=response.elapsed_ms,
        )

    answer = response.json()
    if not isinstance(answer, dict):
        raise unreadable("the answer is not a JSON object")
    try:
        reference = _reference({"id": answer.get("id")})
        invite_url = _url(answer.get("invite_url"), "invite_url")
        expires_at = readers.iso_datetime(answer, "expires_at")
    except MalformedPayloadError as exc:
        raise unreadable(str(exc)) from None
    if not reference:
        raise unreadable("the answer has no 'id'")
    return Invitation(
        vendor_reference=reference,
        invite_url=invite_url,
        expires_at=expires_at or default_expires_at,
    )


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
