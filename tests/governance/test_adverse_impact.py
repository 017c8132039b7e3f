"""The adverse-impact report: DCWP worked example, the 0.80 boundary, the 2 % rule, the unknown
count, scoring rate against the median, p-values against scipy, the auditor-only page and the
LL144 CSV export; plus the demographics import and the EEOC mapping."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from scipy.stats import chi2_contingency, fisher_exact

from governance.adverse_impact import impact_table, report_build
from governance.demographics import (
    CandidateDemographics,
    DemographicsSource,
    from_greenhouse_eeoc,
)
from governance.models import AuditEvent
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN, RECRUITER
from tests.factories import (
    ApplicationFactory,
    CandidateDemographicsFactory,
    DecisionFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    RequisitionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SEX = {"male": "Male", "female": "Female"}


# -- the arithmetic ----------------------------------------------------------------------------


def test_the_dcwp_worked_example() -> None:
    table = impact_table(
        "sex", "Sex", {"male": (50, 92), "female": (34, 76)}, SEX, total=168, unknown=0, min_n=30
    )
    male, female = table.rows

    assert f"{male.rate_percent:.1f}" == "54.3"
    assert f"{female.rate_percent:.1f}" == "44.7"
    assert male.is_reference
    assert male.impact_ratio == 1
    assert f"{female.impact_ratio_value:.2f}" == "0.82"
    assert female.impact_ratio == Fraction(34 * 92, 76 * 50)
    assert table.alerts == []


@pytest.mark.parametrize(
    ("hits", "min_n", "alert"),
    [(79, 30, True), (80, 30, False), (81, 30, False), (79, 100, True), (79, 101, False)],
)
def test_the_four_fifths_alert_boundary(hits: int, min_n: int, alert: bool) -> None:
    table = impact_table(
        "sex",
        "Sex",
        {"male": (100, 100), "female": (hits, 100)},
        SEX,
        total=200,
        unknown=0,
        min_n=min_n,
    )
    female = table.rows[1]

    assert female.impact_ratio == Fraction(hits, 100)
    assert female.alert is alert
    assert [row.label for row in table.alerts] == (["Female"] if alert else [])


def test_an_exact_ratio_of_four_fifths_does_not_alert_despite_floating_point() -> None:
    # 0.56 / 0.70 is 0.8000000000000002 or 0.7999999999999999 in floats, depending on the route.
    table = impact_table(
        "sex",
        "Sex",
        {"male": (70, 100), "female": (56, 100)},
        SEX,
        total=200,
        unknown=0,
        min_n=1,
    )
    assert table.rows[1].impact_ratio == Fraction(4, 5)
    assert not table.rows[1].alert


def test_a_category_under_two_percent_is_shown_but_kept_out_of_the_ratios() -> None:
    labels = {"a": "A", "b": "B", "tiny": "Tiny"}
    table = impact_table(
        "race",
        "Race",
        {"a": (40, 100), "b": (30, 99), "tiny": (3, 3)},
        labels,
        total=210,
        unknown=8,
        min_n=1,
    )
    a, b, tiny = table.rows

    assert tiny.excluded
    assert (tiny.n, tiny.rate) == (3, 1)
    assert tiny.impact_ratio is None
    assert not tiny.is_reference
    assert not tiny.alert
    assert a.is_reference  # the highest *included* rate, not the tiny category's 100 %
    assert b.impact_ratio == Fraction(30, 99) / Fraction(40, 100)
    assert table.unknown == 8


def test_two_percent_is_not_excluded() -> None:
    table = impact_table(
        "sex", "Sex", {"male": (1, 2), "female": (50, 98)}, SEX, total=100, unknown=0, min_n=1
    )
    assert not table.rows[0].excluded


def test_p_values_match_scipy() -> None:
    table = impact_table(
        "sex", "Sex", {"male": (50, 92), "female": (34, 76)}, SEX, total=168, unknown=0, min_n=30
    )
    female = table.rows[1]
    contingency = [[34, 42], [50, 42]]

    assert female.fisher_p == pytest.approx(fisher_exact(contingency).pvalue, rel=1e-6)
    assert female.z_p == pytest.approx(chi2_contingency(contingency, correction=False).pvalue)
    assert table.rows[0].z_p is None  # the reference is not tested against itself


# -- the report over real records --------------------------------------------------------------


def _assessed(
    plan: Any, requisition: Any, score: str, demographics: dict | None, *, advanced: bool
) -> Any:
    application = ApplicationFactory(connection=requisition.connection, requisition=requisition)
    result = InterviewResultFactory(
        interview__application=application, interview__plan=plan, score=Decimal(score)
    )
    if demographics is not None:
        CandidateDemographicsFactory(candidate=application.candidate, **demographics)
    DecisionFactory(
        result=result,
        outcome="advance" if advanced else "decline",
        recommended_outcome="advance" if advanced else "decline",
    )
    return result


MAN = {"sex": "male", "hispanic_or_latino": "no", "race": "white"}
WOMAN = {"sex": "female", "hispanic_or_latino": "yes", "race": "unknown"}


@pytest.fixture
def sample(role_groups: None) -> dict[str, Any]:
    plan = InterviewPlanFactory()
    requisition = RequisitionFactory(title="Support agent")
    rows = [
        ("90", MAN, True),
        ("80", MAN, True),
        ("70", MAN, False),
        ("60", MAN, True),
        ("85", WOMAN, True),
        ("55", WOMAN, False),
        ("50", WOMAN, False),
        ("40", WOMAN, False),
        ("75", None, True),
        ("65", {"sex": "unknown", "hispanic_or_latino": "unknown", "race": "unknown"}, False),
    ]
    results = [_assessed(plan, requisition, score, demo, advanced=adv) for score, demo, adv in rows]
    # Not assessed: a rehearsal and an older version of a result.
    InterviewResultFactory(interview__plan=plan, interview__is_rehearsal=True)
    return {"plan": plan, "requisition": requisition, "results": results}


def _row(report: Any, dimension: str, key: str) -> Any:
    table = next(t for t in report.tables if t.dimension == dimension)
    return next(r for r in table.rows if r.key == key)


def test_selection_rates_per_category_with_unknowns(sample: dict) -> None:
    report = report_build(metric="selection", min_n=1)

    assert report.assessed == 10
    men, women = _row(report, "sex", "male"), _row(report, "sex", "female")
    assert (men.hits, men.n, women.hits, women.n) == (3, 4, 1, 4)
    assert women.impact_ratio == Fraction(1, 4) / Fraction(3, 4)
    assert women.alert
    sex_table = report.tables[0]
    assert sex_table.unknown == 2  # no record at all, and "unknown"
    latina = _row(report, "race_ethnicity", "hispanic_or_latino")
    assert (latina.hits, latina.n) == (1, 4)
    assert _row(report, "intersection", "female|hispanic_or_latino").n == 4
    assert _row(report, "intersection", "male|white").n == 4
    assert report.tables[2].unknown == 2


def test_the_decision_in_force_counts(sample: dict) -> None:
    declined = sample["results"][4]  # a woman advanced...
    first = declined.decisions.get()
    DecisionFactory(
        result=declined, outcome="decline", recommended_outcome="decline", corrects=first
    )

    women = _row(report_build(metric="selection", min_n=1), "sex", "female")

    assert (women.hits, women.n) == (0, 4)


def test_scoring_rate_is_the_share_above_the_full_sample_median(sample: dict) -> None:
    report = report_build(metric="scoring", min_n=1)

    assert report.median_score == 67.5  # of all ten, unknowns included
    men, women = _row(report, "sex", "male"), _row(report, "sex", "female")
    assert (men.hits, women.hits) == (3, 1)  # 90, 80, 70 and 85


def test_filters_narrow_the_sample(sample: dict) -> None:
    other = RequisitionFactory(title="Elsewhere")
    _assessed(sample["plan"], other, "99", MAN, advanced=True)

    assert report_build(requisition=sample["requisition"]).assessed == 10
    assert report_build(requisition=other).assessed == 1
    assert report_build(role_family=sample["plan"].role_family).assessed == 11


# -- the page ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "expected"),
    [(AUDITOR, 200), (HIRING_OPS_ADMIN, 403), (RECRUITER, 403), (HIRING_MANAGER, 403), (None, 403)],
)
def test_only_auditors_see_the_report(sample: dict, group: str | None, expected: int) -> None:
    client = Client()
    client.force_login(UserFactory(groups=[group] if group else []))

    response = client.get(reverse("governance:adverse-impact"))
    assert response.status_code == expected
    csv_response = client.get(reverse("governance:adverse-impact"), {"format": "csv"})
    assert csv_response.status_code == expected
    if expected != 200:
        assert b"Hispanic" not in response.content


def test_anonymous_users_go_to_login(sample: dict) -> None:
    response = Client().get(reverse("governance:adverse-impact"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_page_shows_rates_ratios_unknowns_and_the_alert_in_words(
    sample: dict, settings: Any
) -> None:
    settings.SCREENBRIDGE_ADVERSE_IMPACT_MIN_N = 3
    client = Client()
    client.force_login(UserFactory(groups=[AUDITOR]))

    body = client.get(reverse("governance:adverse-impact")).content.decode()

    assert "Possible adverse impact" in body
    assert "Female — ratio 0.333 (N = 4)" in body
    assert "unknown: 2" in body
    assert "Under 2 % of the sample: excluded from impact ratios." in body  # e.g. "Other"


def test_an_inverted_date_range_is_a_form_error(sample: dict) -> None:
    client = Client()
    client.force_login(UserFactory(groups=[AUDITOR]))

    response = client.get(
        reverse("governance:adverse-impact"), {"date_from": "2026-11-10", "date_to": "2026-11-01"}
    )

    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_the_csv_export_follows_the_ll144_summary_layout_and_is_audited(sample: dict) -> None:
    auditor = UserFactory(groups=[AUDITOR])
    client = Client()
    client.force_login(auditor)

    response = client.get(reverse("governance:adverse-impact"), {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    facts = {row[0]: row[1] for row in rows if len(row) == 2}
    assert facts["number_assessed"] == "10"
    assert facts["date_range_from"] == "all"
    assert "tool_and_version" in facts
    header_at = next(i for i, row in enumerate(rows) if row[:2] == ["metric", "table"])
    body = [dict(zip(rows[header_at], row, strict=False)) for row in rows[header_at + 1 :]]
    women = next(
        r
        for r in body
        if r["metric"] == "Selection rate" and r["table"] == "Sex" and r["category"] == "Female"
    )
    assert (women["number_of_applicants"], women["rate"], women["impact_ratio"]) == (
        "4",
        "0.2500",
        "0.333",
    )
    unknown = next(
        r
        for r in body
        if r["metric"] == "Scoring rate" and r["table"] == "Sex" and r["category"] == "Unknown"
    )
    assert unknown["number_of_applicants"] == "2"
    excluded = [r for r in body if r.get("excluded_under_2_percent") == "yes"]
    assert excluded
    assert all("2%" in r["exclusion_justification"] for r in excluded)
    assert AuditEvent.objects.filter(action="adverse_impact.export", actor=auditor).count() == 1


# -- demographics in -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {
                "gender": {"id": 1, "description": "Female"},
                "race": {"id": 5, "description": "Hispanic or Latino"},
            },
            ("female", "yes", "unknown"),
        ),
        (
            {
                "gender": {"description": "Male"},
                "race": {"description": "Black or African American"},
            },
            ("male", "no", "black"),
        ),
        (
            {"gender": "DECLINE_TO_SELF_IDENTIFY", "race": "TWO_OR_MORE_RACES"},
            ("unknown", "no", "two_or_more"),
        ),
        (
            {
                "gender": {"description": "Decline To Self Identify"},
                "race": {"description": "Decline To Self Identify"},
            },
            ("unknown", "unknown", "unknown"),
        ),
        ({"race": {"description": "American Indian or Alaskan Native"}}, ("unknown", "no", "aian")),
        ({}, ("unknown", "unknown", "unknown")),
    ],
)
def test_greenhouse_eeoc_answers_map_to_our_categories(payload: dict, expected: tuple) -> None:
    mapped = from_greenhouse_eeoc(payload)
    assert (mapped["sex"], mapped["hispanic_or_latino"], mapped["race"]) == expected


def _csv_file(tmp_path: Any, lines: list[str]) -> str:
    path = tmp_path / "demographics.csv"
    path.write_text(
        "\n".join(["connection,candidate_id,sex,hispanic_or_latino,race", *lines]) + "\n"
    )
    return str(path)


def test_import_demographics_stores_every_row_and_prints_counts(tmp_path: Any, capsys: Any) -> None:
    first, second = ApplicationFactory(), ApplicationFactory()
    CandidateDemographicsFactory(candidate=second.candidate, sex="male")
    path = _csv_file(
        tmp_path,
        [
            f"{first.connection.slug},{first.candidate.remote_id},female,yes,",
            f"{second.connection.slug},{second.candidate.remote_id},,no,asian",
        ],
    )

    call_command("import_demographics", path)

    assert "Imported 2 row(s): 1 new, 1 replaced." in capsys.readouterr().out
    stored = CandidateDemographics.objects.get(candidate=second.candidate)
    assert (stored.sex, stored.race, stored.source) == (
        "unknown",
        "asian",
        DemographicsSource.CSV_IMPORT,
    )


def test_import_demographics_is_all_or_nothing_and_names_bad_lines(
    tmp_path: Any, capsys: Any
) -> None:
    good = ApplicationFactory()
    path = _csv_file(
        tmp_path,
        [
            f"{good.connection.slug},{good.candidate.remote_id},female,no,white",
            f"{good.connection.slug},nobody,male,no,white",
            f"{good.connection.slug},{good.candidate.remote_id},robot,no,white",
        ],
    )

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_demographics", path)

    errors = capsys.readouterr().err
    assert "line 3: no candidate 'nobody'" in errors
    assert "line 4: sex 'robot'" in errors
    assert not CandidateDemographics.objects.exists()


def test_import_demographics_dry_run_stores_nothing(tmp_path: Any, capsys: Any) -> None:
    application = ApplicationFactory()
    path = _csv_file(
        tmp_path, [f"{application.connection.slug},{application.candidate.remote_id},male,no,white"]
    )

    call_command("import_demographics", path, "--dry-run")

    assert "Would import 1 row(s)" in capsys.readouterr().out
    assert not CandidateDemographics.objects.exists()


def test_import_demographics_needs_every_column(tmp_path: Any) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("candidate_id,sex\n1,male\n")
    with pytest.raises(CommandError):
        call_command("import_demographics", str(path))
