"""Artifact links: permission-checked, short-lived links to a result's transcript, recording
and vendor report.

Pages never show the vendor's URL. :func:`artifact_url` gives a signed link
``/artifacts/<token>/`` — or ``None`` when the user may not open that artifact, so the page shows
no link at all. The token (``django.core.signing``, timestamped, salted) names the result, the
kind and the user it was made for; it carries no URL and no name.

Opening it (:func:`artifact_open`, the view in ``governance.artifact_urls``) checks, in order:

| check                                          | answer                                 |
|------------------------------------------------|----------------------------------------|
| signature broken, or not a token of ours       | 404                                    |
| older than ``SCREENBRIDGE_ARTIFACT_LINK_TTL``  | 403 "link expired, reopen it from the  |
|   (seconds, default 300)                       | score card"                            |
| made for another user                          | 403                                    |
| the result is gone                             | 404                                    |
| the user no longer holds the capability        | 403 (checked again: grants can change) |
| the artifacts were deleted (retention)         | 410 Gone                               |
| no URL of that kind on the result              | 404                                    |

**Decision (deleted artifacts → 410):** the checks before it established that this user may see
the result, so saying "deleted under the retention policy" leaks nothing they could not see on
the score card and tells them it is no use trying again; 404 would read like a broken link.

Every success writes a view event (``governance.audit.record_view``) — who opened which
transcript, recording or report — and redirects (302) to the vendor's URL with
``Referrer-Policy: no-referrer`` and no caching. No failure answer names the URL, the candidate
or the result.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from governance.capabilities import can
from interviews.models import Interview, InterviewResult

__all__ = [
    "ARTIFACT_KINDS",
    "DEFAULT_TTL_SECONDS",
    "ArtifactLinkError",
    "artifact_open",
    "artifact_url",
]

SALT = "screenbridge.governance.artifact-link"
DEFAULT_TTL_SECONDS = 300


@dataclasses.dataclass(frozen=True)
class ArtifactKind:
    url_field: str
    capability: str


ARTIFACT_KINDS: dict[str, ArtifactKind] = {
    "transcript": ArtifactKind("transcript_url", "view_transcript"),
    "recording": ArtifactKind("recording_url", "view_recording"),
    "report": ArtifactKind("report_url", "view_summary"),
}


class ArtifactLinkError(Exception):
    """A link that must not open; ``status`` and ``message`` are safe to show to anyone."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


NOT_FOUND = "This artifact link is not valid."
EXPIRED = "This artifact link has expired. Reopen it from the score card."
FORBIDDEN = "You may not open this artifact."
DELETED = "This artifact was deleted under the retention policy."


def artifact_url(
    *, user: Any, interview_or_result: Interview | InterviewResult, kind: str
) -> str | None:
    """A signed, expiring link for ``user`` to one artifact, or None if they may not open it.

    An interview stands for its current result. None also when there is no such artifact (no
    result yet, no URL of that kind, or the artifacts were deleted).
    """
    spec = _kind(kind)
    result = _result_of(interview_or_result)
    if result is None or result.artifacts_deleted_at is not None:
        return None
    if not getattr(result, spec.url_field):
        return None
    if not getattr(user, "is_authenticated", False) or not can(user, spec.capability, result):
        return None
    token = signing.dumps({"r": result.pk, "k": kind, "u": user.pk}, salt=SALT)
    return reverse("governance:artifact", args=[token])


def artifact_open(*, user: Any, token: str) -> tuple[InterviewResult, str, str]:
    """Check a link for ``user``; return (result, kind, vendor URL) or raise ArtifactLinkError.

    Does not record the view: the caller does, in the same transaction as its answer.
    """
    try:
        payload = signing.loads(token, salt=SALT, max_age=_ttl())
    except signing.SignatureExpired:
        raise ArtifactLinkError(403, EXPIRED) from None
    except signing.BadSignature:
        raise ArtifactLinkError(404, NOT_FOUND) from None
    if not isinstance(payload, dict) or set(payload) != {"r", "k", "u"}:
        raise ArtifactLinkError(404, NOT_FOUND)
    result_id, kind, user_id = payload["r"], payload["k"], payload["u"]
    if not isinstance(result_id, int) or not isinstance(user_id, int) or kind not in ARTIFACT_KINDS:
        raise ArtifactLinkError(404, NOT_FOUND)
    if user_id != user.pk:
        raise ArtifactLinkError(403, FORBIDDEN)
    result = (
        InterviewResult.objects.select_related("interview__application")
        .filter(pk=result_id)
        .first()
    )
    if result is None:
        raise ArtifactLinkError(404, NOT_FOUND)
    spec = ARTIFACT_KINDS[kind]
    # Again at opening time: a grant or role removed since the link was made counts at once.
    if not can(user, spec.capability, result):
        raise ArtifactLinkError(403, FORBIDDEN)
    if result.artifacts_deleted_at is not None:
        raise ArtifactLinkError(410, DELETED)
    url = getattr(result, spec.url_field)
    if not url:
        raise ArtifactLinkError(404, NOT_FOUND)
    return result, kind, url


def _kind(kind: str) -> ArtifactKind:
    try:
        return ARTIFACT_KINDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown artifact kind {kind!r}: use {', '.join(ARTIFACT_KINDS)}"
        ) from None


def _result_of(obj: Interview | InterviewResult) -> InterviewResult | None:
    if isinstance(obj, InterviewResult):
        return obj
    if isinstance(obj, Interview):
        return obj.results.filter(is_current=True).first()
    raise TypeError(f"artifact links are made for interviews and results, not {type(obj).__name__}")


def _ttl() -> int:
    return int(getattr(settings, "SCREENBRIDGE_ARTIFACT_LINK_TTL", DEFAULT_TTL_SECONDS))
