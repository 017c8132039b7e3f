"""Voluntary demographic data (sex, ethnicity, race), kept apart from everything that scores.

``CandidateDemographics`` is read by exactly one thing: the auditors' adverse-impact report
(``governance.adverse_impact``). It is never used in scoring, routing or decisions and never shown
to reviewers; ``tests/test_architecture.py`` checks that no ``interviews`` module mentions it.

Data comes from the ATS's EEOC answers (:func:`from_greenhouse_eeoc`) or a CSV
(``manage.py import_demographics``, :func:`import_csv`). Categories follow the EEO-1 / DCWP
tables: sex (male, female, other), Hispanic or Latino (yes/no), and race for people who are not
Hispanic or Latino. Anything missing or declined is "unknown" and counted as such.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import AtsConnection, Candidate, choices_check

UNKNOWN = "unknown"


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Other"
    UNKNOWN = UNKNOWN, "Unknown or declined"


class Ethnicity(models.TextChoices):
    HISPANIC_OR_LATINO = "yes", "Hispanic or Latino"
    NOT_HISPANIC_OR_LATINO = "no", "Not Hispanic or Latino"
    UNKNOWN = UNKNOWN, "Unknown or declined"


class Race(models.TextChoices):
    WHITE = "white", "White"
    BLACK = "black", "Black or African American"
    NATIVE_HAWAIIAN_PACIFIC_ISLANDER = "nhpi", "Native Hawaiian or Pacific Islander"
    ASIAN = "asian", "Asian"
    NATIVE_AMERICAN_ALASKA_NATIVE = "aian", "Native American or Alaska Native"
    TWO_OR_MORE = "two_or_more", "Two or More Races"
    UNKNOWN = UNKNOWN, "Unknown or declined"


class DemographicsSource(models.TextChoices):
    ATS_EEOC = "ats_eeoc", "ATS EEOC answers"
    CSV_IMPORT = "csv_import", "Imported CSV"


class CandidateDemographics(models.Model):
    """One candidate's self-identified sex, ethnicity and race (auditors only)."""

    candidate = models.OneToOneField(
        Candidate, on_delete=models.CASCADE, related_name="demographics"
    )
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    hispanic_or_latino = models.CharField(
        max_length=10, choices=Ethnicity.choices, default=Ethnicity.UNKNOWN
    )
    race = models.CharField(max_length=12, choices=Race.choices, default=Race.UNKNOWN)
    source = models.CharField(max_length=12, choices=DemographicsSource.choices)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "candidate demographics"
        ordering = ["candidate"]
        permissions = [("view_adverse_impact", "Can see the adverse-impact report")]
        constraints = [
            choices_check("sex", Sex, "demographics_sex_valid"),
            choices_check("hispanic_or_latino", Ethnicity, "demographics_ethnicity_valid"),
            choices_check("race", Race, "demographics_race_valid"),
            choices_check("source", DemographicsSource, "demographics_source_valid"),
            # Race is recorded for people who are not Hispanic or Latino (EEO-1 / DCWP tables).
            models.CheckConstraint(
                condition=~Q(hispanic_or_latino="yes") | Q(race=UNKNOWN),
                name="demographics_hispanic_has_no_race",
            ),
        ]

    def __str__(self) -> str:
        return f"Demographics of candidate {self.candidate_id}"


# -- categories of the report ------------------------------------------------------------------


def race_ethnicity_category(hispanic_or_latino: str, race: str) -> str:
    """The DCWP race/ethnicity category: "hispanic_or_latino", a race (not Hispanic or Latino)
    or "unknown"."""
    if hispanic_or_latino == Ethnicity.HISPANIC_OR_LATINO:
        return "hispanic_or_latino"
    if hispanic_or_latino == Ethnicity.NOT_HISPANIC_OR_LATINO and race != UNKNOWN:
        return race
    return UNKNOWN


RACE_ETHNICITY_LABELS: dict[str, str] = {
    "hispanic_or_latino": "Hispanic or Latino",
    **{
        race.value: f"{race.label} (Not Hispanic or Latino)"
        for race in Race
        if race != Race.UNKNOWN
    },
}
SEX_LABELS: dict[str, str] = {sex.value: sex.label for sex in Sex if sex != Sex.UNKNOWN}


# -- Greenhouse EEOC answers -------------------------------------------------------------------

# Greenhouse Harvest returns EEOC answers per application, each question as
# {"id": …, "description": "…"} (GET /v1/applications/{id}/eeoc, GET /v1/eeoc); unified APIs
# (Merge) send enum strings such as "HISPANIC_OR_LATINO". Both are matched on their words.
_SEX_WORDS = {"male": Sex.MALE, "female": Sex.FEMALE, "non binary": Sex.OTHER, "other": Sex.OTHER}
_RACE_WORDS = {
    "white": Race.WHITE,
    "black or african american": Race.BLACK,
    "native hawaiian or other pacific islander": Race.NATIVE_HAWAIIAN_PACIFIC_ISLANDER,
    "native hawaiian or pacific islander": Race.NATIVE_HAWAIIAN_PACIFIC_ISLANDER,
    "asian": Race.ASIAN,
    "american indian or alaskan native": Race.NATIVE_AMERICAN_ALASKA_NATIVE,
    "american indian or alaska native": Race.NATIVE_AMERICAN_ALASKA_NATIVE,
    "native american or alaska native": Race.NATIVE_AMERICAN_ALASKA_NATIVE,
    "two or more races": Race.TWO_OR_MORE,
}


def _words(value: Any) -> str:
    """An EEOC answer as lower-case words: {"description": "Two or More Races"}, "TWO_OR_MORE_RACES"
    and "Two or more races (Not Hispanic or Latino)" all become "two or more races…"."""
    if isinstance(value, Mapping):
        value = value.get("description") or value.get("value") or value.get("name") or ""
    if not isinstance(value, str):
        return ""
    return re.sub(r"[\s_\-]+", " ", value).strip().casefold()


def from_greenhouse_eeoc(payload: Mapping[str, Any]) -> dict[str, str]:
    """Our fields (sex, hispanic_or_latino, race) from one application's EEOC answers.

    Greenhouse asks race and ethnicity in one question, where "Hispanic or Latino" is one of the
    answers; "Decline To Self Identify" and anything unrecognised become unknown.
    """
    gender = _words(payload.get("gender"))
    race_text = _words(payload.get("race"))
    ethnicity_text = _words(payload.get("ethnicity") or payload.get("hispanic_or_latino"))
    sex = _SEX_WORDS.get(gender, Sex.UNKNOWN)
    race = Race.UNKNOWN
    hispanic = Ethnicity.UNKNOWN
    if "hispanic or latino" in race_text and not race_text.startswith(("not ", "non ")):
        hispanic = Ethnicity.HISPANIC_OR_LATINO
    else:
        base = re.sub(r"\s*\(.*\)$", "", race_text)
        race = _RACE_WORDS.get(base, Race.UNKNOWN)
        if ethnicity_text in ("yes", "hispanic or latino"):
            hispanic, race = Ethnicity.HISPANIC_OR_LATINO, Race.UNKNOWN
        elif race != Race.UNKNOWN or ethnicity_text in ("no", "not hispanic or latino"):
            # A race answer in Greenhouse's combined question implies not Hispanic or Latino.
            hispanic = Ethnicity.NOT_HISPANIC_OR_LATINO
    return {"sex": sex, "hispanic_or_latino": hispanic, "race": race}


def demographics_upsert_from_eeoc(
    *, candidate: Candidate, payload: Mapping[str, Any]
) -> CandidateDemographics:
    """Store (or replace) a candidate's demographics from ATS EEOC answers."""
    values = from_greenhouse_eeoc(payload)
    record, _ = CandidateDemographics.objects.update_or_create(
        candidate=candidate,
        defaults={**values, "source": DemographicsSource.ATS_EEOC, "imported_at": timezone.now()},
    )
    return record


# -- CSV import --------------------------------------------------------------------------------

CSV_COLUMNS = ("connection", "candidate_id", "sex", "hispanic_or_latino", "race")
_CSV_VALUES = {
    "sex": {**{c.value: c.value for c in Sex}, "": UNKNOWN, "m": "male", "f": "female"},
    "hispanic_or_latino": {
        **{c.value: c.value for c in Ethnicity},
        "": UNKNOWN,
        "true": "yes",
        "false": "no",
    },
    "race": {**{c.value: c.value for c in Race}, "": UNKNOWN},
}


@dataclass
class ImportOutcome:
    """What a CSV import did, or would have done; ``errors`` name the bad lines."""

    created: int = 0
    updated: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)


def _parse_row(
    line: int, row: Mapping[str, str], candidates: Mapping[tuple[str, str], int]
) -> tuple[int, dict[str, str]] | str:
    values: dict[str, str] = {}
    for column, allowed in _CSV_VALUES.items():
        raw = (row.get(column) or "").strip().casefold()
        if raw not in allowed:
            return f"line {line}: {column} {raw!r} is not one of {sorted(set(allowed.values()))}"
        values[column] = allowed[raw]
    if values["hispanic_or_latino"] == "yes" and values["race"] != UNKNOWN:
        return f"line {line}: race is recorded only for people not Hispanic or Latino"
    key = ((row.get("connection") or "").strip(), (row.get("candidate_id") or "").strip())
    candidate_id = candidates.get(key)
    if candidate_id is None:
        return f"line {line}: no candidate {key[1]!r} on connection {key[0]!r}"
    return candidate_id, values


def import_csv(text: str | Iterable[str], *, dry_run: bool = False) -> ImportOutcome:
    """Import demographics from CSV, all or nothing: one bad line and nothing is stored.

    Columns: ``connection`` (the ATS connection slug), ``candidate_id`` (the ATS's candidate
    id), ``sex``, ``hispanic_or_latino`` (yes/no/unknown), ``race``; values as in the model's
    choices, empty meaning unknown.
    """
    reader = csv.DictReader(io.StringIO(text) if isinstance(text, str) else text)
    outcome = ImportOutcome()
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        outcome.errors.append(f"line 1: missing column(s) {', '.join(sorted(missing))}")
        return outcome
    rows = list(reader)
    wanted = {
        ((row.get("connection") or "").strip(), (row.get("candidate_id") or "").strip())
        for row in rows
    }
    slugs = {slug for slug, _ in wanted}
    connection_ids = dict(AtsConnection.objects.filter(slug__in=slugs).values_list("pk", "slug"))
    candidates = {
        (connection_ids[connection_id], remote_id): pk
        for pk, connection_id, remote_id in Candidate.objects.filter(
            connection_id__in=connection_ids, remote_id__in={remote for _, remote in wanted}
        ).values_list("pk", "connection_id", "remote_id")
    }
    parsed: dict[int, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        result = _parse_row(line, row, candidates)
        if isinstance(result, str):
            outcome.errors.append(result)
            continue
        candidate_id, values = result
        if candidate_id in parsed:
            outcome.errors.append(f"line {line}: the candidate appears twice in the file")
            continue
        parsed[candidate_id] = values
    outcome.rows = len(rows)
    if outcome.errors:
        return outcome
    existing = set(
        CandidateDemographics.objects.filter(candidate_id__in=parsed).values_list(
            "candidate_id", flat=True
        )
    )
    outcome.updated = len(existing)
    outcome.created = len(parsed) - len(existing)
    if dry_run:
        return outcome
    now = timezone.now()
    with transaction.atomic():
        for candidate_id, values in parsed.items():
            CandidateDemographics.objects.update_or_create(
                candidate_id=candidate_id,
                defaults={**values, "source": DemographicsSource.CSV_IMPORT, "imported_at": now},
            )
    return outcome
