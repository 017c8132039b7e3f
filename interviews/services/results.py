"""Interview results: validation, bands, flags, review routing, versions and the partner summary.

A vendor adapter turns a delivery into :class:`~interviews.vendors.base.VendorUpdate` facts with
scores already on 0–100; :func:`vendor_update_apply` applies one fact and
:func:`interview_result_submit` stores a result. The rules, in one place:

Validation (:func:`result_data_validate`, :class:`ResultValidationError`; nothing is stored when
it fails)
  - the overall score and every competency score are numbers from 0 to 100 (stored rounded to
    two decimals, half up; the band is computed from the stored value);
  - every competency key exists in the plan. A plan competency *without* a score is allowed:
    vendors may leave a competency unscored when the interview gave no evidence for it. It is
    simply absent (no subscore row, nothing written back for it); it is not a flag, because
    ``ResultFlag`` has no such value;
  - 1 to 3 evidence bullets, each non-empty and at most 280 characters after trimming;
  - confidence, when given, from 0 to 1; a transcript word count, when given, 0 or more;
  - vendor flags are ``ResultFlag`` values; a vendor "borderline" is ignored (borderline is
    ours to compute from the plan's thresholds); artifact URLs are http(s), ≤ 1000 characters.

Bands: computed once, from the plan's thresholds *at submission*, and stored with a snapshot of
those thresholds. No code path updates a stored band; a new threshold applies to new results
only (HireVue-style "never re-scored").

Flags
  - ``borderline``: within ``plan.borderline_margin`` of a cut, edges included
    (``scoring.borderline_cut``);
  - ``integrity`` / ``technical``: as reported by the vendor;
  - ``low_confidence``: vendor confidence below ``settings.SCREENBRIDGE_LOW_CONFIDENCE``
    (default :data:`DEFAULT_LOW_CONFIDENCE`, 0.6). No confidence reported is not low confidence;
  - ``short_transcript``: a word count below ``settings.SCREENBRIDGE_MIN_TRANSCRIPT_WORDS``
    (default :data:`DEFAULT_MIN_TRANSCRIPT_WORDS`, 150), or no transcript at all (neither a word
    count nor a transcript URL). A URL without a count is given the benefit of the doubt.

Review routing: one open ReviewTask per interview (a database constraint). Reasons, strongest
first (:data:`REASON_PRIORITY`): ``flagged`` (integrity, technical, short transcript) >
``incomplete`` (the vendor reported a failure, or a result arrived for an interview that can no
longer complete) > ``low_confidence`` > ``borderline`` > ``pilot_sample``. A result with several
reasons opens one task with the strongest reason and every reason in its detail; when a task is
already open it is pointed at the new result, keeps the stronger reason and gains the detail.
A pilot plan also sends ``plan.pilot_review_share`` of all results to review, chosen by a hash of
the interview's ``public_id`` so replays and resubmissions agree (share 0: never, 1: always).

Versions: a result identical to the interview's current one (same score, subscores, bullets,
confidence, artifact URLs and input flags; the raw payload may differ, e.g. a delivery
timestamp) is a replay and changes nothing. A different one is a resubmission: version
``max + 1`` becomes current, the previous one is kept, not current.

Never a decision: a result never declines, advances or creates a Decision; it only informs the
people who do. Writebacks (``services.writeback``) and, for interviews an ATS started as an
assessment partner, the partner completion call (``partners.services``) are enqueued in the same
transaction once the interview is completed. Nothing is written for a replay, nor for a result
that could not complete its interview (a person reviews it first).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max

from governance import audit
from governance.selectors import result_competency_scores
from interviews.models import (
    CompetencyScore,
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    PlanStatus,
    ResultFlag,
    RetentionClass,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
)
from interviews.scoring import band_for, borderline_cut

if TYPE_CHECKING:
    import datetime as dt

    from interviews.vendors.base import ResultData, VendorUpdate

logger = logging.getLogger(__name__)

MIN_BULLETS = 1
MAX_BULLETS = 3
BULLET_MAX_CHARS = 280
URL_MAX_CHARS = 1000  # InterviewResult's URL fields
# Used when settings do not name their own (SCREENBRIDGE_LOW_CONFIDENCE, ..._MIN_TRANSCRIPT_WORDS).
DEFAULT_LOW_CONFIDENCE = 0.6
DEFAULT_MIN_TRANSCRIPT_WORDS = 150

SCORE_STEP = Decimal("0.01")  # InterviewResult.score / CompetencyScore.score: two decimals
DETAIL_MAX_CHARS = 500  # ReviewTask.detail
# Flags a vendor may report; "borderline" is computed here, never taken from a vendor.
VENDOR_FLAGS = (
    ResultFlag.INTEGRITY,
    ResultFlag.TECHNICAL,
    ResultFlag.LOW_CONFIDENCE,
    ResultFlag.SHORT_TRANSCRIPT,
)
FLAG_ORDER = list(ResultFlag.values)
# Statuses from which a result completes the interview; a result for any other status (pending,
# expired, cancelled, failed) is kept and sent to a person, but cannot complete it.
COMPLETABLE = (InterviewStatus.INVITED, InterviewStatus.STARTED)
# Strongest first: an open task keeps the strongest reason it has been given.
REASON_PRIORITY: dict[str, int] = {
    ReviewReason.FLAGGED: 5,
    ReviewReason.INCOMPLETE: 4,
    ReviewReason.LOW_CONFIDENCE: 3,
    ReviewReason.BORDERLINE: 2,
    ReviewReason.PILOT_SAMPLE: 1,
}
FLAG_REASONS: dict[str, str] = {
    ResultFlag.BORDERLINE: ReviewReason.BORDERLINE,
    ResultFlag.INTEGRITY: ReviewReason.FLAGGED,
    ResultFlag.TECHNICAL: ReviewReason.FLAGGED,
    ResultFlag.SHORT_TRANSCRIPT: ReviewReason.FLAGGED,
    ResultFlag.LOW_CONFIDENCE: ReviewReason.LOW_CONFIDENCE,
}
UPDATE_KINDS = ("started", "completed", "expired", "cancelled", "failed")


class ResultValidationError(ValueError):
    """A vendor result that cannot be stored; ``str(error)`` says exactly what is wrong.

    ``field`` names the offending ResultData field, for a 422 body.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def low_confidence_threshold() -> float:
    """Confidence below this is flagged ``low_confidence`` (plan-independent)."""
    return float(getattr(settings, "SCREENBRIDGE_LOW_CONFIDENCE", DEFAULT_LOW_CONFIDENCE))


def min_transcript_words() -> int:
    """A transcript with fewer words is flagged ``short_transcript`` (plan-independent)."""
    return int(getattr(settings, "SCREENBRIDGE_MIN_TRANSCRIPT_WORDS", DEFAULT_MIN_TRANSCRIPT_WORDS))


# -- presentation helpers shared with writebacks and partner endpoints ------------------------


def result_profile_url(interview: Interview) -> str:
    """Our score-card URL for an interview (the one link we give ATSs and partner APIs)."""
    root = str(settings.SCREENBRIDGE_PUBLIC_URL).rstrip("/")
    return f"{root}/results/{interview.public_id}/"


def band_label(band: str) -> str:
    """Human label of a band name: ``insufficient_evidence`` → "Insufficient evidence"."""
    return band.replace("_", " ").strip().capitalize()


def score_number(value: Decimal) -> int | float:
    """A stored score as a JSON number: 72 for 72.00, 72.5 for 72.50."""
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: Decimal) -> str:
    return str(score_number(value))


# -- validation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clean:
    """A validated ResultData: rounded scores, trimmed bullets, JSON-safe raw payload."""

    score: Decimal
    competency_scores: dict[str, Decimal]
    summary_bullets: list[str]
    vendor_flags: list[str]
    confidence: float | None
    transcript_word_count: int | None
    transcript_url: str
    recording_url: str
    report_url: str
    raw: dict[str, Any] = field(default_factory=dict)

    def input_flags(self) -> list[str]:
        """Flags that follow from the result alone (everything but ``borderline``)."""
        flags = set(self.vendor_flags)
        if self.confidence is not None and self.confidence < low_confidence_threshold():
            flags.add(ResultFlag.LOW_CONFIDENCE)
        if self.transcript_missing or self.transcript_short:
            flags.add(ResultFlag.SHORT_TRANSCRIPT)
        return _ordered(flags)

    @property
    def transcript_missing(self) -> bool:
        return self.transcript_word_count is None and not self.transcript_url

    @property
    def transcript_short(self) -> bool:
        count = self.transcript_word_count
        return count is not None and count < min_transcript_words()


def _ordered(flags: Iterable[str]) -> list[str]:
    return sorted(set(flags), key=FLAG_ORDER.index)


def _score(value: Any, *, what: str, field_name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ResultValidationError(
            f"{what} must be a number from 0 to 100, got {value!r}", field=field_name
        )
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not 0 <= number <= 100:
        raise ResultValidationError(
            f"{what} must be a number from 0 to 100, got {value}", field=field_name
        )
    return number.quantize(SCORE_STEP, rounding=ROUND_HALF_UP)


def _url(value: Any, field_name: str) -> str:
    text = "" if value is None else value
    if not isinstance(text, str):
        raise ResultValidationError(f"{field_name} must be a URL string", field=field_name)
    text = text.strip()
    if text and (len(text) > URL_MAX_CHARS or not text.lower().startswith(("https://", "http://"))):
        raise ResultValidationError(
            f"{field_name} must be an http(s) URL of at most {URL_MAX_CHARS} characters",
            field=field_name,
        )
    return text


def _clean(data: ResultData, *, plan: InterviewPlan) -> _Clean:
    score = _score(data.score, what="score", field_name="score")

    known = list(plan.competencies.values_list("key", flat=True))
    competency_scores: dict[str, Decimal] = {}
    for key, value in (data.competency_scores or {}).items():
        if key not in known:
            expected = ", ".join(known) if known else "no competencies"
            raise ResultValidationError(
                f"unknown competency {key!r}: plan {plan.name!r} scores {expected}",
                field="competency_scores",
            )
        competency_scores[key] = _score(
            value, what=f"competency {key!r} score", field_name="competency_scores"
        )
    # Plan order, so stored rows and comparisons do not depend on the vendor's key order.
    competency_scores = {key: competency_scores[key] for key in known if key in competency_scores}

    bullets = list(data.summary_bullets or ())
    if not MIN_BULLETS <= len(bullets) <= MAX_BULLETS:
        raise ResultValidationError(
            f"expected {MIN_BULLETS} to {MAX_BULLETS} evidence bullets, got {len(bullets)}",
            field="summary_bullets",
        )
    cleaned_bullets = []
    for number, bullet in enumerate(bullets, start=1):
        text = bullet.strip() if isinstance(bullet, str) else ""
        if not text:
            raise ResultValidationError(
                f"evidence bullet {number} is empty", field="summary_bullets"
            )
        if len(text) > BULLET_MAX_CHARS:
            raise ResultValidationError(
                f"evidence bullet {number} is {len(text)} characters long; "
                f"the limit is {BULLET_MAX_CHARS}",
                field="summary_bullets",
            )
        cleaned_bullets.append(text)

    confidence = data.confidence
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, int | float | Decimal):
            raise ResultValidationError(
                f"confidence must be a number from 0 to 1, got {confidence!r}", field="confidence"
            )
        confidence = float(confidence)
        if not 0 <= confidence <= 1:  # also false for NaN
            raise ResultValidationError(
                f"confidence must be a number from 0 to 1, got {confidence}", field="confidence"
            )

    words = data.transcript_word_count
    if words is not None and (isinstance(words, bool) or not isinstance(words, int) or words < 0):
        raise ResultValidationError(
            f"transcript_word_count must be a whole number of 0 or more, got {words!r}",
            field="transcript_word_count",
        )

    vendor_flags = set()
    for flag in data.flags or ():
        if flag == ResultFlag.BORDERLINE:
            continue  # ours to compute from the plan's thresholds
        if flag not in VENDOR_FLAGS:
            raise ResultValidationError(
                f"unknown vendor flag {flag!r}; expected one of "
                + ", ".join(str(f) for f in VENDOR_FLAGS),
                field="flags",
            )
        vendor_flags.add(str(flag))

    try:
        raw = json.loads(json.dumps(dict(data.raw or {}), cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise ResultValidationError(
            f"the raw vendor payload is not JSON-serializable: {exc}", field="raw"
        ) from None

    return _Clean(
        score=score,
        competency_scores=competency_scores,
        summary_bullets=cleaned_bullets,
        vendor_flags=_ordered(vendor_flags),
        confidence=confidence,
        transcript_word_count=words,
        transcript_url=_url(data.transcript_url, "transcript_url"),
        recording_url=_url(data.recording_url, "recording_url"),
        report_url=_url(data.report_url, "report_url"),
        raw=raw,
    )


def result_data_validate(data: ResultData, *, plan: InterviewPlan) -> None:
    """Raise :class:`ResultValidationError` unless ``data`` can be stored for ``plan``.

    Vendor webhooks call it before acknowledging a result, to answer 422 with the message.
    """
    _clean(data, plan=plan)


# -- vendor updates ----------------------------------------------------------------------------


def vendor_update_apply(*, interview: Interview, update: VendorUpdate) -> None:
    """Apply one vendor fact to an interview; safe to apply the same fact twice.

    - ``started`` / ``expired`` / ``cancelled``: a guarded status change (ignored when the
      status machine does not allow it, e.g. a late "started" after completion);
    - ``completed`` with a result: :func:`interview_result_submit` (replays change nothing,
      a different result becomes a new version); without one: the status change only, the
      result follows in a later update;
    - ``failed``: the status change, and an ``incomplete`` review task so a person follows up.
    """
    from interviews.services.lifecycle import interview_transition

    kind = update.kind
    if kind not in UPDATE_KINDS:
        raise ValueError(f"unknown vendor update kind {kind!r}; expected one of {UPDATE_KINDS}")
    if kind == "completed" and update.result is not None:
        interview_result_submit(
            interview=interview, data=update.result, completed_at=update.occurred_at
        )
        return
    with transaction.atomic():
        changed = interview_transition(
            interview=interview, to=kind, at=update.occurred_at, reason=update.detail
        )
        if changed and kind == InterviewStatus.FAILED:
            detail = "The vendor reported that the interview failed"
            detail += f": {update.detail}" if update.detail else "."
            _route(interview, result=None, reasons=[(ReviewReason.INCOMPLETE, detail)])


# -- results -----------------------------------------------------------------------------------


def interview_result_submit(
    *, interview: Interview, data: ResultData, completed_at: dt.datetime | None = None
) -> InterviewResult:
    """Store a vendor result as the interview's current version and act on it.

    In one transaction: validate; return the current result unchanged if ``data`` is identical
    to it (replay); otherwise compute band and flags from the plan's current thresholds (kept
    as a snapshot), store version ``max + 1`` with its subscores and raw payload, route it to
    review, complete the interview and enqueue the writebacks. A result for an interview that
    cannot complete (pending, expired, cancelled, failed) is stored and sent to review as
    ``incomplete``, without a status change or writeback. Raises ResultValidationError
    (nothing stored) for invalid data.
    """
    from interviews.partners.services import partner_completion_enqueue
    from interviews.services.lifecycle import interview_transition
    from interviews.services.writeback import result_writeback_enqueue

    with transaction.atomic():
        # Serializes submissions for one interview (versions, the one-current rule, the task).
        # Only the interview row: FOR UPDATE on the joined plan and connection rows would
        # serialize every result of a plan and deadlock with launches, whose foreign-key checks
        # take KEY SHARE on the same plan row while they hold the audit-chain lock.
        locked = (
            Interview.objects.select_for_update(of=("self",))
            .select_related("plan", "application__connection")
            .get(pk=interview.pk)
        )
        # The plan row as it is now: thresholds changed since the interview started apply.
        plan = locked.plan
        clean = _clean(data, plan=plan)
        current = locked.results.filter(is_current=True).first()
        if current is not None and _is_replay(current, clean):
            logger.info("Result for interview %s is a replay of v%s", locked.pk, current.version)
            return current

        thresholds = json.loads(json.dumps(plan.band_thresholds))  # snapshot, not a reference
        band = band_for(clean.score, thresholds)
        cut = borderline_cut(clean.score, thresholds, Decimal(plan.borderline_margin))
        flags = clean.input_flags()
        if cut is not None:
            flags = _ordered([*flags, ResultFlag.BORDERLINE])

        version = (locked.results.aggregate(top=Max("version"))["top"] or 0) + 1
        if current is not None:
            # Before the insert: at most one current result per interview (constraint).
            InterviewResult.objects.filter(pk=current.pk).update(is_current=False)
        result = InterviewResult.objects.create(
            interview=locked,
            version=version,
            is_current=True,
            score=clean.score,
            band=band,
            band_thresholds=thresholds,
            confidence=clean.confidence,
            summary_bullets=clean.summary_bullets,
            flags=flags,
            transcript_url=clean.transcript_url,
            recording_url=clean.recording_url,
            report_url=clean.report_url,
            raw_payload=clean.raw,
            raw_payload_retention_class=RetentionClass.RAW_VENDOR,
        )
        audit.record(
            actor=f"system:vendor:{locked.vendor.slug}",
            action="result.record",
            target=result,
            changes={"version": version, "score": clean.score, "band": band, "flags": flags},
        )
        competencies = {c.key: c for c in plan.competencies.all()}
        CompetencyScore.objects.bulk_create(
            CompetencyScore(result=result, competency=competencies[key], score=score)
            for key, score in clean.competency_scores.items()
        )

        if locked.status in COMPLETABLE:
            interview_transition(interview=locked, to=InterviewStatus.COMPLETED, at=completed_at)
            locked.refresh_from_db(fields=["status", "completed_at", "ended_at"])
        completed = locked.status == InterviewStatus.COMPLETED

        reasons = _reasons(locked, result, clean, cut=cut)
        if not completed:
            reasons.append(
                (
                    ReviewReason.INCOMPLETE,
                    f"Result v{version} arrived while the interview was {locked.status}; "
                    "it was kept but did not complete the interview.",
                )
            )
        if reasons or current is not None:
            _route(locked, result=result, reasons=reasons)

        if completed:
            result_writeback_enqueue(result=result)
            # Assessment-partner interviews also tell the ATS that started them (Greenhouse
            # completion PATCH, Ashby assessment.update); a no-op for every other interview.
            partner_completion_enqueue(interview=locked, result=result)
        else:
            logger.warning(
                "Result v%s for interview %s arrived while it was %s; sent to review, not written",
                version,
                locked.pk,
                locked.status,
            )
    return result


def _is_replay(current: InterviewResult, clean: _Clean) -> bool:
    """Whether ``clean`` carries exactly what the current version holds."""
    stored_scores = {
        row.competency.key: row.score
        for row in current.competency_scores.select_related("competency")
    }
    stored_flags = [flag for flag in current.flags or [] if flag != ResultFlag.BORDERLINE]
    return (
        current.score == clean.score
        and stored_scores == clean.competency_scores
        and list(current.summary_bullets or []) == clean.summary_bullets
        and current.confidence == clean.confidence
        and current.transcript_url == clean.transcript_url
        and current.recording_url == clean.recording_url
        and current.report_url == clean.report_url
        and _ordered(stored_flags) == clean.input_flags()
    )


def pilot_sampled(interview: Interview, share: Decimal | float) -> bool:
    """Whether a pilot plan's review share picks this interview (stable across replays)."""
    share = Decimal(str(share))
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.sha256(f"pilot-review:{interview.public_id}".encode()).digest()
    position = Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)
    return position < share


def _reasons(
    interview: Interview, result: InterviewResult, clean: _Clean, *, cut: Decimal | None
) -> list[tuple[str, str]]:
    """Each (review reason, detail) a result gives, in flag order."""
    reasons: list[tuple[str, str]] = []
    version = f"v{result.version}"
    for flag in result.flags:
        if flag == ResultFlag.BORDERLINE and cut is not None:
            margin = _text(Decimal(interview.plan.borderline_margin))
            detail = (
                f"{version}: score {_text(result.score)} is within {margin} points of the "
                f"band cut at {_text(cut)}."
            )
        elif flag == ResultFlag.LOW_CONFIDENCE and clean.confidence is not None:
            detail = (
                f"{version}: vendor confidence {clean.confidence:g} is below "
                f"{low_confidence_threshold():g}."
            )
        elif flag == ResultFlag.SHORT_TRANSCRIPT and clean.transcript_missing:
            detail = f"{version}: no transcript."
        elif flag == ResultFlag.SHORT_TRANSCRIPT and clean.transcript_short:
            detail = (
                f"{version}: transcript has {clean.transcript_word_count} words "
                f"(minimum {min_transcript_words()})."
            )
        else:
            detail = f"{version}: {ResultFlag(flag).label}."
        reasons.append((FLAG_REASONS[flag], detail))
    plan = interview.plan
    if plan.status == PlanStatus.PILOT and pilot_sampled(interview, plan.pilot_review_share):
        share = Decimal(plan.pilot_review_share) * 100
        reasons.append(
            (
                ReviewReason.PILOT_SAMPLE,
                f"{version}: pilot sample ({_text(share)}% of this pilot plan's results).",
            )
        )
    return reasons


def _route(
    interview: Interview, *, result: InterviewResult | None, reasons: list[tuple[str, str]]
) -> ReviewTask | None:
    """Open the interview's review task, or update the one already open.

    With no reasons, an open task is only pointed at the new result (a reviewer decides on the
    current version); nothing is opened.
    """
    task = (
        ReviewTask.objects.select_for_update()
        .filter(interview=interview, status__in=[ReviewStatus.OPEN, ReviewStatus.CLAIMED])
        .first()
    )
    details = [detail for _, detail in reasons]
    strongest = max((reason for reason, _ in reasons), key=REASON_PRIORITY.__getitem__, default="")
    if task is None:
        if not reasons:
            return None
        return ReviewTask.objects.create(
            interview=interview,
            result=result,
            reason=strongest,
            detail=_detail(details),
        )
    if result is not None and not reasons:
        details = [f"v{result.version} received; it has no review reason of its own."]
    if strongest and REASON_PRIORITY[strongest] > REASON_PRIORITY.get(task.reason, 0):
        task.reason = strongest
    task.detail = _detail([*details, task.detail])
    if result is not None:
        task.result = result
    task.save(update_fields=["reason", "detail", "result"])
    return task


def _detail(parts: Iterable[str]) -> str:
    """Newest first, de-duplicated, cut to the column's length."""
    seen: list[str] = []
    for part in parts:
        for piece in part.split("\n"):
            if piece and piece not in seen:
                seen.append(piece)
    text = "\n".join(seen)
    return text if len(text) <= DETAIL_MAX_CHARS else text[: DETAIL_MAX_CHARS - 1] + "…"


# -- partner summary ---------------------------------------------------------------------------


def result_partner_summary(result: InterviewResult) -> dict[str, Any]:
    """What assessment-partner APIs report for a result (Greenhouse test_status, Ashby update).

    ``metadata`` is flat with primitive values only (Greenhouse's rule): the band label under
    "Score band", each competency's *name* with its 0–100 subscore, "Summary 1".."Summary 3"
    and "Completed At" (ISO 8601) when known. No transcript, no recording, no recommendation.
    ``competencies`` repeats the subscores with their keys for APIs that need identifiers.
    """
    interview = result.interview
    rows = list(result_competency_scores(result=result))
    metadata: dict[str, str | int | float] = {"Score band": band_label(result.band)}
    for row in rows:
        metadata[row.competency.name] = score_number(row.score)
    for number, bullet in enumerate(result.summary_bullets or [], start=1):
        metadata[f"Summary {number}"] = bullet
    completed_at = interview.completed_at
    if completed_at is not None:
        metadata["Completed At"] = completed_at.isoformat()
    return {
        "status": "complete",
        "score": score_number(result.score),
        "band": result.band,
        "band_label": band_label(result.band),
        "profile_url": result_profile_url(interview),
        "metadata": metadata,
        "competencies": [
            {
                "key": row.competency.key,
                "name": row.competency.name,
                "score": score_number(row.score),
            }
            for row in rows
        ],
    }
