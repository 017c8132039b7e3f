"""Consent and notice gating per jurisdiction profile (public service of ``governance``).

:func:`jurisdictions_for` reads a requisition's location text (synced from the ATS office /
location fields) and answers the profiles that apply: ``il``, ``nyc``, ``eu``, ``co``. The rules
are regular expressions, configurable with ``SCREENBRIDGE_JURISDICTION_RULES`` (a list of
``[code, regex]`` pairs, matched case-insensitively; the default is :data:`DEFAULT_RULES`).

:func:`launch_gate` is called by the launch path (``interviews.services.launch``) before any AI
interview is launched or invited. In order, the first failing rule refuses:

| rule                                   | applies to | refusal reason (LaunchSkip)      |
|----------------------------------------|------------|----------------------------------|
| the candidate opted out (any record)   | everyone   | ``human_only``                   |
| a consent recorded before the launch   | ``il``     | ``il_consent_missing``           |
| a notice sent ≥ 10 business days ago   | ``nyc``    | ``nyc_notice_missing``           |
| a bias audit of the vendor's current   | ``nyc``    | ``nyc_bias_audit``               |
|   tool version ≤ 365 days old          |            |                                  |

Business days are Monday–Friday in the project's time zone (``TIME_ZONE``), minus the ISO dates
in ``SCREENBRIDGE_BUSINESS_HOLIDAYS`` (empty by default: public holidays count as business days
unless you list them). "≥ 10 business days before use" means at least 10 business days lie
after the day the notice was sent, up to and including the launch day: a notice sent on a Friday
allows a launch from the Friday two weeks later.

This encodes the research in docs/governance.md; it is not legal advice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from governance.models import BiasAudit, ConsentDecision, ConsentRecord, Jurisdiction, NoticeRecord
from integrations.models import Application, Candidate, Requisition
from interviews.models import InterviewPlan, LaunchSkipReason

__all__ = [
    "BIAS_AUDIT_MAX_AGE_DAYS",
    "DEFAULT_RULES",
    "NOTICE_BUSINESS_DAYS",
    "GateRefusal",
    "business_days_after",
    "candidate_opted_out",
    "jurisdictions_for",
    "jurisdictions_for_location",
    "launch_gate",
]

NOTICE_BUSINESS_DAYS = 10
BIAS_AUDIT_MAX_AGE_DAYS = 365

_EU_COUNTRIES = (
    "austria|belgium|bulgaria|croatia|cyprus|czechia|czech republic|denmark|estonia|finland|"
    "france|germany|greece|hungary|ireland|italy|latvia|lithuania|luxembourg|malta|netherlands|"
    "poland|portugal|romania|slovakia|slovenia|spain|sweden"
)
_EU_CITIES = (
    "amsterdam|berlin|munich|hamburg|paris|lyon|dublin|madrid|barcelona|lisbon|rome|milan|"
    "vienna|brussels|copenhagen|stockholm|helsinki|warsaw|prague|budapest|athens"
)
DEFAULT_RULES: tuple[tuple[str, str], ...] = (
    (
        Jurisdiction.NYC,
        r"\bnyc\b|new york city|\bnew york,?\s*(ny|new york)\b|manhattan|brooklyn|"
        r"\bqueens\b|\bbronx\b|staten island",
    ),
    (Jurisdiction.IL, r"\billinois\b|\bchicago\b|,\s*il\b|\bil,?\s*(us|usa)\b"),
    (Jurisdiction.CO, r"\bcolorado\b|\bdenver\b|\bboulder\b|,\s*co\b"),
    (Jurisdiction.EU, rf"\b({_EU_COUNTRIES}|{_EU_CITIES})\b|\beu\b|\beurope\b"),
)


@dataclasses.dataclass(frozen=True)
class GateRefusal:
    """Why a launch is refused: a LaunchSkip reason and a detail naming no person."""

    reason: str
    detail: str


# -- jurisdictions -----------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _compiled(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((str(code), re.compile(pattern, re.IGNORECASE)) for code, pattern in rules)


def _rules() -> tuple[tuple[str, re.Pattern[str]], ...]:
    configured = getattr(settings, "SCREENBRIDGE_JURISDICTION_RULES", None)
    rules = tuple(tuple(rule) for rule in configured) if configured else DEFAULT_RULES
    return _compiled(rules)  # type: ignore[arg-type]


def jurisdictions_for_location(location: str) -> frozenset[str]:
    """The jurisdiction codes a location text falls under ("Chicago, IL" → {"il"})."""
    if not location:
        return frozenset()
    return frozenset(code for code, pattern in _rules() if pattern.search(location))


def jurisdictions_for(requisition: Requisition) -> frozenset[str]:
    """The jurisdiction profiles of a requisition, from its location."""
    return jurisdictions_for_location(requisition.location)


def locations_in(jurisdiction: str) -> list[str]:
    """Every distinct requisition location text that falls under ``jurisdiction`` (one query)."""
    locations = Requisition.objects.order_by().values_list("location", flat=True).distinct()
    return [loc for loc in locations if jurisdiction in jurisdictions_for_location(loc)]


# -- business days -----------------------------------------------------------------------------


def _holidays() -> frozenset[dt.date]:
    return frozenset(
        dt.date.fromisoformat(str(day))
        for day in getattr(settings, "SCREENBRIDGE_BUSINESS_HOLIDAYS", ()) or ()
    )


def business_days_after(start: dt.date, end: dt.date) -> int:
    """Business days d with ``start < d <= end`` (weekdays not in the holiday list)."""
    holidays = _holidays()
    count = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        if day.weekday() < 5 and day not in holidays:
            count += 1
        day += dt.timedelta(days=1)
    return count


# -- the gate ----------------------------------------------------------------------------------


def _consents(candidate: Candidate, application: Application | None) -> Any:
    scope = Q(application__isnull=True)
    if application is not None:
        scope |= Q(application=application)
    return ConsentRecord.objects.filter(scope, candidate=candidate, withdrawn_at__isnull=True)


def candidate_opted_out(*, candidate: Candidate, application: Application | None = None) -> bool:
    """True when the candidate chose the human-only path (an active opt-out record)."""
    return _consents(candidate, application).filter(decision=ConsentDecision.OPTED_OUT).exists()


def launch_gate(
    *, application: Application, plan: InterviewPlan, now: dt.datetime | None = None
) -> GateRefusal | None:
    """The first consent/notice/audit rule that forbids launching ``plan`` for ``application``.

    ``None``: the law as configured here allows the launch. See the module docstring.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    candidate = application.candidate
    if candidate_opted_out(candidate=candidate, application=application):
        return GateRefusal(
            LaunchSkipReason.HUMAN_ONLY,
            "The candidate opted out of the AI interview: assess them on the human-only path.",
        )
    places = jurisdictions_for(application.requisition)
    if Jurisdiction.IL in places:
        consented = (
            _consents(candidate, application)
            .filter(decision=ConsentDecision.GIVEN, recorded_at__lte=now)
            .filter(Q(jurisdiction="") | Q(jurisdiction=Jurisdiction.IL))
            .exists()
        )
        if not consented:
            return GateRefusal(
                LaunchSkipReason.IL_CONSENT_MISSING,
                "Illinois position: no consent to the AI interview is recorded (820 ILCS 42/5).",
            )
    if Jurisdiction.NYC in places:
        notice_scope = Q(application__isnull=True) | Q(application=application)
        sent = (
            NoticeRecord.objects.filter(
                notice_scope, candidate=candidate, jurisdiction=Jurisdiction.NYC, sent_at__lte=now
            )
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        days = business_days_after(timezone.localdate(sent), today) if sent else None
        if days is None or days < NOTICE_BUSINESS_DAYS:
            have = "no notice was sent" if days is None else f"notice sent {days} business days ago"
            return GateRefusal(
                LaunchSkipReason.NYC_NOTICE_MISSING,
                f"NYC position: {have}; {NOTICE_BUSINESS_DAYS} are required (LL144 §20-871(b)).",
            )
        if not bias_audit_current(plan.vendor, today):
            return GateRefusal(LaunchSkipReason.NYC_BIAS_AUDIT, _no_audit(plan.vendor))
    return None


def bias_audit_current(vendor: Any, today: dt.date) -> bool:
    """A bias audit of the vendor's current tool version, at most 365 days old, is registered."""
    oldest = today - dt.timedelta(days=BIAS_AUDIT_MAX_AGE_DAYS)
    return bool(vendor.model_version) and (
        BiasAudit.objects.filter(
            vendor=vendor, tool_version=vendor.model_version, audit_date__gte=oldest
        ).exists()
    )


def _no_audit(vendor: Any) -> str:
    version = vendor.model_version or "(no version set)"
    return (
        f"NYC position: vendor “{vendor.name}” {version} has no bias audit dated "
        f"within {BIAS_AUDIT_MAX_AGE_DAYS} days (6 RCNY §5-301)."
    )


def plan_jurisdiction_gaps(
    *, plan: InterviewPlan, requisitions: Any, now: dt.datetime | None = None
) -> tuple[dict[str, int], list[str]]:
    """For the go-live checklist: how many of ``requisitions`` fall in each jurisdiction, and
    what the plan lacks to launch lawfully there (empty: all registered).

    Per-candidate rules (a consent recorded, a notice 10 business days before) are enforced at
    each launch by :func:`launch_gate`; here the plan must be able to meet them: Illinois needs
    the plan to ask for consent, NYC needs a current bias audit of the vendor's tool version.
    """
    today = timezone.localdate(now or timezone.now())
    places: dict[str, int] = {}
    for requisition in requisitions:
        for code in jurisdictions_for(requisition):
            places[code] = places.get(code, 0) + 1
    gaps = []
    if Jurisdiction.IL in places and not plan.required_consents:
        gaps.append(
            f"Illinois ({places[Jurisdiction.IL]} requisitions): the plan asks for no consent "
            "(required_consents is empty), so every Illinois launch would be refused."
        )
    if Jurisdiction.NYC in places and not bias_audit_current(plan.vendor, today):
        gaps.append(f"{_no_audit(plan.vendor)} ({places[Jurisdiction.NYC]} NYC requisitions)")
    return places, gaps
