"""What a result (and later a human decision) writes back to the ATS.

:func:`result_writeback_compose` turns a result into :class:`WritebackSpec` jobs, following the
connection's active :class:`~interviews.models.WritebackFieldMapping` rows;
:func:`result_writeback_enqueue` puts them in the outbox (``integrations.services.outbox``) inside
the caller's transaction. Sandbox connections record the jobs as ``sandboxed`` and never send
them, which is what a rehearsal shows.

Canonical values (``ResultField``)
  completion status "completed"; band label ("Proceed"); overall score (a JSON number, 0–100);
  each competency subscore (by competency key; an unscored competency is left out, never
  written as empty); the 1–3 evidence bullets; the link to our score card
  (``results.result_profile_url``). Never the transcript, the recording or the band's
  recommendation.

Per target kind (the shape each connector's ``client.py`` documents)
  ``custom_fields``  one job ``{"custom_fields": {target_key: value}}``; bullets joined by new
                     lines. Greenhouse: application custom field ``name_key``; Ashby: field id.
  ``note``           one job ``{"body": text}``: a heading, then one line per mapped field
                     ("<label>: <value>", label = target_key or the field's default label).
  ``tags``           one job ``{"tags": ["<label>: <value>", ...]}``, e.g. "AI interview:
                     Proceed". Only short values (status, band, scores) can be tags. Lever tags
                     are additive: a resubmission adds its tag next to the older one.
  ``generic``        one job ``{"interview_id", "version", "result": {target_key: value}}``,
                     bullets as a list.
  ``assessment``     not composed here: assessment-partner APIs read
                     ``results.result_partner_summary`` (Greenhouse test_status, Ashby update).

Providers accept (:data:`SUPPORTED_KINDS`): Greenhouse and Ashby custom fields and notes, Lever
notes and tags, the generic ATS anything. A mapping the provider cannot take is skipped with a
warning (the admin form refuses it in the first place).

No mapping rows at all → the provider default (:func:`_provider_default`): Greenhouse and Ashby
a note with every field (custom fields need keys only the customer knows), Lever a note plus a
band tag, generic the full canonical JSON. Rows that all are inactive → nothing is written: that
is how an admin switches a connection's result writebacks off.

Decisions: a decision-like object (``.outcome``, ``.is_override``) adds the human decision to
notes ("Human decision: Decline (overrides the band's recommendation)"), tags ("AI interview
decision: Decline") and generic JSON (``"decision": {...}``); custom fields have no decision
field. This is the only way "decline" reaches an ATS: a result alone never carries an outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction

from governance.selectors import result_competency_scores
from integrations.models import Provider, WritebackKind
from interviews.models import InterviewResult, ResultField, WritebackFieldMapping
from interviews.services.results import band_label, result_profile_url, score_number

if TYPE_CHECKING:
    from integrations.models import WritebackJob

logger = logging.getLogger(__name__)

# Every result write uses this outbox target: a newer result (or a decision on it) supersedes
# an older unsent write of the same kind for the same application.
RESULT_TARGET = "result"
COMPLETED = "completed"
NOTE_HEADING = "Automated interview result"
DEFAULT_TAG_LABEL = "AI interview"

SUPPORTED_KINDS: dict[str, frozenset[str]] = {
    Provider.GREENHOUSE: frozenset({WritebackKind.CUSTOM_FIELDS, WritebackKind.NOTE}),
    Provider.ASHBY: frozenset({WritebackKind.CUSTOM_FIELDS, WritebackKind.NOTE}),
    Provider.LEVER: frozenset({WritebackKind.NOTE, WritebackKind.TAGS}),
    Provider.GENERIC: frozenset(
        {
            WritebackKind.CUSTOM_FIELDS,
            WritebackKind.NOTE,
            WritebackKind.TAGS,
            WritebackKind.GENERIC,
        }
    ),
}
# Order of the jobs a result produces.
KIND_ORDER = [
    WritebackKind.CUSTOM_FIELDS,
    WritebackKind.NOTE,
    WritebackKind.TAGS,
    WritebackKind.GENERIC,
]
# A tag is a short label: long text and links make no sense as one.
TAG_SOURCES = frozenset(
    {
        ResultField.COMPLETION_STATUS,
        ResultField.BAND,
        ResultField.OVERALL_SCORE,
        ResultField.COMPETENCY_SCORE,
    }
)
# Kinds whose target_key is the field's identifier (required), not just a label (optional).
KEYED_KINDS = frozenset({WritebackKind.CUSTOM_FIELDS, WritebackKind.GENERIC})
SOURCE_ORDER = list(ResultField.values)
DEFAULT_LABELS: dict[str, str] = {
    ResultField.COMPLETION_STATUS: "AI interview",
    ResultField.BAND: "Band",
    ResultField.OVERALL_SCORE: "Overall score",
    ResultField.SUMMARY_BULLETS: "Evidence",
    ResultField.ARTIFACT_LINK: "Full results",
}


class DecisionLike(Protocol):
    """What composition reads from a human decision (``governance.models.Decision``)."""

    outcome: str
    is_override: bool


@dataclass(frozen=True)
class WritebackSpec:
    """One write owed to the ATS: an outbox job's kind, target and payload."""

    kind: str
    target: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Competency:
    key: str
    name: str
    score: int | float


@dataclass(frozen=True)
class _Facts:
    """A result's canonical writeback values."""

    interview_id: str
    version: int
    band: str
    band_label: str
    score: int | float
    competencies: list[_Competency]
    bullets: list[str]
    profile_url: str
    completed_at: str | None

    def competency(self, key: str) -> _Competency | None:
        return next((c for c in self.competencies if c.key == key), None)


def _facts(result: InterviewResult) -> _Facts:
    interview = result.interview
    rows = result_competency_scores(result=result)
    completed_at = interview.completed_at or result.received_at
    return _Facts(
        interview_id=str(interview.public_id),
        version=result.version,
        band=result.band,
        band_label=band_label(result.band),
        score=score_number(Decimal(result.score)),
        competencies=[
            _Competency(row.competency.key, row.competency.name, score_number(row.score))
            for row in rows
        ],
        bullets=list(result.summary_bullets or []),
        profile_url=result_profile_url(interview),
        completed_at=completed_at.isoformat() if completed_at else None,
    )


def _decision(decision: DecisionLike | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    outcome = str(decision.outcome)
    return {
        "outcome": outcome,
        "outcome_label": outcome.replace("_", " ").capitalize(),
        "is_override": bool(decision.is_override),
    }


# -- mapping rules (shared with the admin form) -----------------------------------------------


def mapping_problems(
    *, provider: str, source: str, competency_key: str, target_kind: str, target_key: str
) -> dict[str, str]:
    """Why a mapping cannot be written, by form field; empty when it is fine."""
    problems: dict[str, str] = {}
    if target_kind == WritebackKind.ASSESSMENT:
        problems["target_kind"] = (
            "Assessment-partner results are reported by the partner endpoints (Greenhouse "
            "test_status, Ashby assessment.update) with the band, subscores and bullets; "
            "they need no mapping."
        )
    elif target_kind not in SUPPORTED_KINDS.get(provider, frozenset()):
        kinds = ", ".join(sorted(SUPPORTED_KINDS.get(provider, frozenset())))
        problems["target_kind"] = (
            f"A {Provider(provider).label if provider in Provider.values else provider} "
            f"connection cannot receive {target_kind!r} writes; it accepts: {kinds}."
        )
    if source == ResultField.COMPETENCY_SCORE and not competency_key:
        problems["competency_key"] = "Name the competency (its key) whose subscore is written."
    elif source != ResultField.COMPETENCY_SCORE and competency_key:
        problems["competency_key"] = "Only competency subscores take a competency key."
    if target_kind in KEYED_KINDS and not target_key.strip():
        problems["target_key"] = (
            "Custom fields and generic JSON need the target key (Greenhouse name_key, "
            "Ashby field id or JSON key)."
        )
    if target_kind == WritebackKind.TAGS and source not in TAG_SOURCES:
        problems["source"] = (
            "Only the completion status, band and scores can be tags; write the summary or "
            "the link as a note or a custom field."
        )
    return problems


# -- composition -------------------------------------------------------------------------------


def result_writeback_compose(
    *, result: InterviewResult, decision: DecisionLike | None = None
) -> list[WritebackSpec]:
    """The writes a result (and optionally a human decision on it) owes its ATS connection."""
    connection = result.interview.application.connection
    facts = _facts(result)
    human = _decision(decision)
    mappings = list(connection.field_mappings.all())
    if not mappings:
        return _provider_default(connection.provider, facts, human)
    usable: dict[str, list[WritebackFieldMapping]] = {}
    for mapping in sorted(mappings, key=_mapping_order):
        if not mapping.active:
            continue
        problems = _problems_of(connection.provider, mapping)
        if problems:
            logger.warning(
                "Skipping writeback mapping %s of connection %s: %s",
                mapping.pk,
                connection.slug,
                "; ".join(problems.values()),
            )
            continue
        usable.setdefault(mapping.target_kind, []).append(mapping)
    specs = []
    for kind in KIND_ORDER:
        if kind in usable:
            spec = _compose_kind(kind, usable[kind], facts, human)
            if spec is not None:
                specs.append(spec)
    return specs


@dataclass(frozen=True)
class MappingOutcome:
    """Whether one active field mapping wrote a value for a result, and why not."""

    mapping: str
    signature: tuple[str, str, str, str]
    written: bool
    problem: str = ""


def mapping_signature(mapping: WritebackFieldMapping) -> tuple[str, str, str, str]:
    """What identifies a mapping across connections: source, competency, kind, target key."""
    return (mapping.source, mapping.competency_key, mapping.target_kind, mapping.target_key)


def result_mapping_outcomes(*, result: InterviewResult) -> list[MappingOutcome]:
    """For each active field mapping of the result's connection: written, or rejected and why.

    A mapping is rejected when the provider cannot take it (:func:`mapping_problems`) or when
    it has no value for this result (a competency the plan does not score): in both cases
    :func:`result_writeback_compose` leaves it out, so the ATS field stays as it was.
    """
    connection = result.interview.application.connection
    facts = _facts(result)
    outcomes = []
    active = [m for m in connection.field_mappings.all() if m.active]
    for mapping in sorted(active, key=_mapping_order):
        problems = _problems_of(connection.provider, mapping)
        if problems:
            problem = "; ".join(problems.values())
        elif not _items([mapping], facts):
            problem = (
                f"no value: competency “{mapping.competency_key}” has no subscore in this "
                "result (the plan does not score it)"
            )
        else:
            problem = ""
        outcomes.append(
            MappingOutcome(str(mapping), mapping_signature(mapping), not problem, problem)
        )
    return outcomes


def _problems_of(provider: str, mapping: WritebackFieldMapping) -> dict[str, str]:
    return mapping_problems(
        provider=provider,
        source=mapping.source,
        competency_key=mapping.competency_key,
        target_kind=mapping.target_kind,
        target_key=mapping.target_key,
    )


def _mapping_order(mapping: WritebackFieldMapping) -> tuple[int, str, int]:
    return (SOURCE_ORDER.index(mapping.source), mapping.competency_key, mapping.pk or 0)


@dataclass(frozen=True)
class _Item:
    """One mapped field: where it goes (key/label) and its value (None: nothing to write)."""

    source: str
    key: str
    label: str
    value: Any


def _items(mappings: Iterable[WritebackFieldMapping], facts: _Facts) -> list[_Item]:
    items = []
    for mapping in mappings:
        value: Any
        default_label = DEFAULT_LABELS.get(mapping.source, "")
        if mapping.source == ResultField.COMPLETION_STATUS:
            value = COMPLETED
        elif mapping.source == ResultField.BAND:
            value = facts.band_label
        elif mapping.source == ResultField.OVERALL_SCORE:
            value = facts.score
        elif mapping.source == ResultField.COMPETENCY_SCORE:
            competency = facts.competency(mapping.competency_key)
            value = competency.score if competency else None
            default_label = competency.name if competency else mapping.competency_key
        elif mapping.source == ResultField.SUMMARY_BULLETS:
            value = list(facts.bullets)
        else:  # ARTIFACT_LINK
            value = facts.profile_url
        if value is None:
            continue  # an unscored competency: leave the ATS field as it is
        items.append(
            _Item(
                mapping.source,
                mapping.target_key,
                mapping.target_key.strip() or default_label,
                value,
            )
        )
    return items


def _compose_kind(
    kind: str,
    mappings: list[WritebackFieldMapping],
    facts: _Facts,
    human: dict[str, Any] | None,
) -> WritebackSpec | None:
    items = _items(mappings, facts)
    if kind == WritebackKind.CUSTOM_FIELDS:
        fields = {
            item.key: "\n".join(item.value) if isinstance(item.value, list) else item.value
            for item in items
        }
        return _spec(kind, {"custom_fields": fields}) if fields else None
    if kind == WritebackKind.NOTE:
        return _spec(kind, {"body": _note_text(items, facts, human)})
    if kind == WritebackKind.TAGS:
        tags = [f"{item.label}: {item.value}" for item in items]
        if human is not None:
            tags.append(_decision_tag(human))
        return _spec(kind, {"tags": tags}) if tags else None
    # GENERIC
    payload: dict[str, Any] = {
        "interview_id": facts.interview_id,
        "version": facts.version,
        "result": {item.key: item.value for item in items},
    }
    if human is not None:
        payload["decision"] = human
    return _spec(kind, payload)


def _spec(kind: str, payload: dict[str, Any]) -> WritebackSpec:
    return WritebackSpec(kind=str(kind), target=RESULT_TARGET, payload=payload)


def _note_text(items: list[_Item], facts: _Facts, human: dict[str, Any] | None) -> str:
    """A compact, human note: heading, mapped fields, the decision if any. No transcript."""
    lines = [f"{NOTE_HEADING} (version {facts.version})"]
    for item in items:
        if item.source == ResultField.SUMMARY_BULLETS:
            lines.append(f"{item.label}:")
            lines.extend(f"• {bullet}" for bullet in item.value)
        elif item.source in (ResultField.OVERALL_SCORE, ResultField.COMPETENCY_SCORE):
            lines.append(f"{item.label}: {item.value}/100")
        else:
            lines.append(f"{item.label}: {item.value}")
    if human is not None:
        text = f"Human decision: {human['outcome_label']}"
        if human["is_override"]:
            text += " (overrides the band's recommendation)"
        lines.append(text)
    return "\n".join(lines)


def _decision_tag(human: dict[str, Any]) -> str:
    return f"{DEFAULT_TAG_LABEL} decision: {human['outcome_label']}"


def _all_items(facts: _Facts) -> list[_Item]:
    """Every canonical field with its default label (the no-mapping note)."""
    items = [
        _Item(ResultField.COMPLETION_STATUS, "", DEFAULT_LABELS["completion_status"], COMPLETED),
        _Item(ResultField.BAND, "", DEFAULT_LABELS["band"], facts.band_label),
        _Item(ResultField.OVERALL_SCORE, "", DEFAULT_LABELS["overall_score"], facts.score),
    ]
    items += [
        _Item(ResultField.COMPETENCY_SCORE, c.key, c.name, c.score) for c in facts.competencies
    ]
    items += [
        _Item(ResultField.SUMMARY_BULLETS, "", DEFAULT_LABELS["summary_bullets"], facts.bullets),
        _Item(ResultField.ARTIFACT_LINK, "", DEFAULT_LABELS["artifact_link"], facts.profile_url),
    ]
    return items


def result_canonical(result: InterviewResult) -> dict[str, Any]:
    """The full canonical result as JSON (the generic ATS default; rehearsal previews)."""
    return _canonical(_facts(result))


def _canonical(facts: _Facts) -> dict[str, Any]:
    return {
        "status": COMPLETED,
        "band": facts.band,
        "band_label": facts.band_label,
        "score": facts.score,
        "competencies": [
            {"key": c.key, "name": c.name, "score": c.score} for c in facts.competencies
        ],
        "summary_bullets": list(facts.bullets),
        "profile_url": facts.profile_url,
        "completed_at": facts.completed_at,
    }


def _provider_default(
    provider: str, facts: _Facts, human: dict[str, Any] | None
) -> list[WritebackSpec]:
    """What a connection without any mapping row receives (see the module docstring)."""
    note = _spec(WritebackKind.NOTE, {"body": _note_text(_all_items(facts), facts, human)})
    if provider in (Provider.GREENHOUSE, Provider.ASHBY):
        return [note]
    if provider == Provider.LEVER:
        tags = [f"{DEFAULT_TAG_LABEL}: {facts.band_label}"]
        if human is not None:
            tags.append(_decision_tag(human))
        return [note, _spec(WritebackKind.TAGS, {"tags": tags})]
    payload: dict[str, Any] = {
        "interview_id": facts.interview_id,
        "version": facts.version,
        "result": _canonical(facts),
    }
    if human is not None:
        payload["decision"] = human
    return [_spec(WritebackKind.GENERIC, payload)]


# -- enqueue -----------------------------------------------------------------------------------


def result_writeback_enqueue(
    *, result: InterviewResult, decision: DecisionLike | None = None
) -> list[WritebackJob]:
    """Put a result's writes (with the decision, if given) in the outbox; return the jobs.

    Call it inside the transaction that stores the result or the decision. Nothing is written
    for a result that is no longer current (a newer version already wrote, or will write,
    fresher values), nor for a rehearsal interview on a live connection (rehearsal results
    never reach a live ATS). Sandbox connections keep the jobs as ``sandboxed``.
    """
    from integrations.services.outbox import writeback_enqueue

    interview = result.interview
    application = interview.application
    connection = application.connection
    if not InterviewResult.objects.filter(pk=result.pk, is_current=True).exists():
        logger.info("Result %s is no longer current; nothing written back", result.pk)
        return []
    if interview.is_rehearsal and not connection.is_sandbox:
        logger.warning(
            "Rehearsal result %s not written to live connection %s", result.pk, connection.slug
        )
        return []
    with transaction.atomic():
        return [
            writeback_enqueue(
                connection=connection,
                application=application,
                kind=spec.kind,
                payload=spec.payload,
                target=spec.target,
            )
            for spec in result_writeback_compose(result=result, decision=decision)
        ]
