"""Calibration sessions: blind scoring, completion, agreement figures, the readiness hook and the
human-vs-tool agreement with its automation-bias warning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import stats
from governance.calibration import latest_alpha_by_competency
from governance.calibration.analysis import human_tool_agreement_by_week, session_agreement
from governance.calibration.models import CalibrationRating, CalibrationStatus
from governance.calibration.services import (
    CalibrationError,
    calibration_ratings_submit,
    calibration_session_create,
    competency_scale,
)
from governance.models import AccessRole, AuditEvent, CalibrationSession
from governance.roles import HIRING_OPS_ADMIN, RECRUITER
from interviews.models import ReviewStatus
from tests.factories import (
    ApplicationFactory,
    CompetencyFactory,
    CompetencyScoreFactory,
    DecisionFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TOOL_SCORE = Decimal("87.35")
TOOL_SUBSCORE = Decimal("61.15")


@pytest.fixture
def panel(role_groups: None) -> dict[str, Any]:
    """A plan with two competencies, three results on one requisition, three recruiters."""
    plan = InterviewPlanFactory()
    empathy = CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=1)
    clarity = CompetencyFactory(
        plan=plan,
        key="clarity",
        name="Clarity",
        position=2,
        rubric_anchors={"1": "Unclear", "2": "Mostly clear", "3": "Crisp"},
    )
    requisition = RequisitionFactory(title="Support agent")
    results = []
    for _ in range(3):
        application = ApplicationFactory(
            connection=requisition.connection,
            requisition=requisition,
            candidate__first_name="Wilhelmina",
            candidate__last_name="Zarathustra",
        )
        result = InterviewResultFactory(
            interview__application=application, interview__plan=plan, score=TOOL_SCORE
        )
        CompetencyScoreFactory(
            result=result,
            competency=empathy,
            score=TOOL_SUBSCORE,
            evidence="Calmed an angry caller and followed up the next day.",
        )
        results.append(result)
    reviewers = []
    for name in ("rita", "rob", "rae"):
        user = UserFactory(
            username=name, first_name=name.title(), last_name="Tester", groups=[RECRUITER]
        )
        RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.RECRUITER)
        reviewers.append(user)
    admin = UserFactory(username="ada", groups=[HIRING_OPS_ADMIN], is_staff=True)
    with _atomic():
        session = calibration_session_create(
            name="November round",
            plan=plan,
            actor=admin,
            panelists=reviewers,
            results=results,
            shuffle=False,
        )
    return {
        "plan": plan,
        "competencies": [empathy, clarity],
        "results": results,
        "reviewers": reviewers,
        "admin": admin,
        "session": session,
    }


def _atomic() -> Any:
    from django.db import transaction

    return transaction.atomic()


def _score_url(session: CalibrationSession, position: int) -> str:
    return reverse("governance:calibration-score", args=[session.public_id, position])


def _post_scores(
    client: Client, session: CalibrationSession, position: int, panel: dict, e: int, c: int
) -> Any:
    empathy, clarity = panel["competencies"]
    page = client.get(_score_url(session, position))
    started = page.context["form"]["started"].value()
    return client.post(
        _score_url(session, position),
        {
            f"competency_{empathy.pk}": str(e),
            f"competency_{clarity.pk}": str(c),
            "started": started,
        },
    )


# Scores (empathy, clarity) per reviewer and candidate position.
SCORES = {
    "rita": {1: (5, 3), 2: (2, 1), 3: (4, 2)},
    "rob": {1: (5, 3), 2: (1, 1), 3: (4, 2)},
    "rae": {1: (4, 3), 2: (5, 1), 3: (4, 3)},
}


def _score_everything(panel: dict) -> None:
    session = panel["session"]
    for reviewer in panel["reviewers"]:
        client = Client()
        client.force_login(reviewer)
        for position, (e, c) in SCORES[reviewer.username].items():
            response = _post_scores(client, session, position, panel, e, c)
            assert response.status_code == 302, response.content


def test_the_scoring_page_is_blind(panel: dict) -> None:
    session = panel["session"]
    rob = panel["reviewers"][1]
    rob_client = Client()
    rob_client.force_login(rob)
    _post_scores(rob_client, session, 1, panel, 1, 1)
    client = Client()
    client.force_login(panel["reviewers"][0])

    page = client.get(_score_url(session, 1))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Calmed an angry caller" in body  # the evidence is there
    assert "Crisp" in body  # and the rubric
    for hidden in ("87.35", "61.15", "Strong", "band-", "Wilhelmina", "Zarathustra"):
        assert hidden not in body, hidden
    assert "Rob Tester" not in body  # nor who else scored, let alone what
    assert 'type="radio"' in body
    assert "<script" not in body.split("<main", 1)[1]  # works without JavaScript


def test_scores_are_stored_with_the_time_spent_and_the_next_candidate_follows(panel: dict) -> None:
    session = panel["session"]
    rita = panel["reviewers"][0]
    client = Client()
    client.force_login(rita)
    empathy, clarity = panel["competencies"]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        started = client.get(_score_url(session, 1)).context["form"]["started"].value()
        traveller.shift(dt.timedelta(seconds=95))
        response = client.post(
            _score_url(session, 1),
            {f"competency_{empathy.pk}": "4", f"competency_{clarity.pk}": "2", "started": started},
        )

    assert response.status_code == 302
    assert response["Location"] == _score_url(session, 2)
    ratings = CalibrationRating.objects.filter(reviewer=rita).order_by("competency__position")
    assert [(r.score, r.seconds_spent) for r in ratings] == [(4, 95), (2, 95)]
    assert AuditEvent.objects.filter(action="calibration.rate", actor=rita).count() == 1


def test_a_missing_competency_is_a_form_error_and_stores_nothing(panel: dict) -> None:
    session = panel["session"]
    client = Client()
    client.force_login(panel["reviewers"][0])
    empathy, _ = panel["competencies"]

    response = client.post(_score_url(session, 1), {f"competency_{empathy.pk}": "3"})

    assert response.status_code == 200
    assert "Score Clarity." in response.content.decode()
    assert not CalibrationRating.objects.exists()


def test_a_level_off_the_rubric_scale_is_refused(panel: dict) -> None:
    session = panel["session"]
    client = Client()
    client.force_login(panel["reviewers"][0])
    empathy, clarity = panel["competencies"]

    response = client.post(
        _score_url(session, 1), {f"competency_{empathy.pk}": "3", f"competency_{clarity.pk}": "5"}
    )

    assert response.status_code == 200
    assert not CalibrationRating.objects.exists()


def test_scores_are_final(panel: dict) -> None:
    session = panel["session"]
    client = Client()
    client.force_login(panel["reviewers"][0])
    _post_scores(client, session, 1, panel, 3, 2)

    response = _post_scores(client, session, 1, panel, 1, 1)

    assert response.status_code == 200
    assert "You have scored this candidate. Scores are final." in response.content.decode()
    assert sorted(CalibrationRating.objects.values_list("score", flat=True)) == [2, 3]


def test_someone_off_the_panel_cannot_score(panel: dict) -> None:
    outsider = UserFactory(groups=[RECRUITER])
    requisition = panel["results"][0].interview.application.requisition
    RequisitionAccessFactory(user=outsider, requisition=requisition, role=AccessRole.RECRUITER)
    with _atomic(), pytest.raises(CalibrationError):
        calibration_ratings_submit(
            item=panel["session"].items.first(),
            reviewer=outsider,
            scores={c.pk: 1 for c in panel["competencies"]},
            seconds_spent=10,
        )
    client = Client()
    client.force_login(outsider)
    assert client.post(_score_url(panel["session"], 1), {}).status_code == 404
    assert not CalibrationRating.objects.exists()


def test_the_last_rating_completes_the_session_and_the_results_appear(panel: dict) -> None:
    session = panel["session"]
    admin_client = Client()
    admin_client.force_login(panel["admin"])
    url = reverse("governance:calibration-session", args=[session.public_id])
    assert "Agreement per competency" not in admin_client.get(url).content.decode()

    _score_everything(panel)

    session.refresh_from_db()
    assert session.status == CalibrationStatus.COMPLETE
    assert session.closed_at is not None
    assert AuditEvent.objects.filter(action="calibration.complete").count() == 1
    body = admin_client.get(url).content.decode()
    assert "Agreement per competency" in body
    assert "Verdict:" in body
    assert "Largest disagreements first" in body


def test_agreement_figures_match_the_statistics_and_sort_disagreements(panel: dict) -> None:
    _score_everything(panel)
    empathy_units = [[SCORES[r][p][0] for r in ("rae", "rita", "rob")] for p in (1, 2, 3)]

    agreement = session_agreement(panel["session"])

    empathy = agreement.competencies[0]
    assert empathy.competency.key == "empathy"
    assert empathy.alpha == pytest.approx(
        stats.krippendorff_alpha_ordinal(empathy_units, [1, 2, 3, 4, 5])
    )
    assert empathy.raw_agreement == pytest.approx(stats.raw_agreement(empathy_units))
    assert empathy.verdict == stats.alpha_verdict(empathy.alpha)
    assert len(empathy.pair_kappas) == 3
    rae_rita = empathy.pair_kappas[0]
    assert rae_rita[:2] == ("Rae Tester", "Rita Tester")
    assert rae_rita[2] == pytest.approx(
        stats.quadratic_weighted_kappa(
            [u[0] for u in empathy_units], [u[1] for u in empathy_units], [1, 2, 3, 4, 5]
        )
    )
    spreads = [d.spread for d in agreement.disagreements]
    assert spreads == sorted(spreads, reverse=True)
    assert (agreement.disagreements[0].position, agreement.disagreements[0].spread) == (2, 4)
    assert agreement.competencies[1].scale == [1, 2, 3]


def test_latest_alpha_by_competency_reads_the_newest_completed_session(panel: dict) -> None:
    assert latest_alpha_by_competency(panel["plan"]) == {}

    _score_everything(panel)
    expected = {
        row.competency.key: row.alpha for row in session_agreement(panel["session"]).competencies
    }

    assert latest_alpha_by_competency(panel["plan"]) == expected
    assert set(expected) == {"empathy", "clarity"}
    # An open session does not count.
    with _atomic():
        calibration_session_create(
            name="Next round",
            plan=panel["plan"],
            actor=panel["admin"],
            panelists=panel["reviewers"][:2],
            results=panel["results"][:1],
        )
    assert latest_alpha_by_competency(panel["plan"]) == expected


def test_a_session_needs_two_reviewers_and_results_of_its_plan(panel: dict) -> None:
    other = InterviewResultFactory()
    with _atomic(), pytest.raises(CalibrationError, match="two reviewers"):
        calibration_session_create(
            name="x",
            plan=panel["plan"],
            actor=panel["admin"],
            panelists=panel["reviewers"][:1],
            results=panel["results"],
        )
    with _atomic(), pytest.raises(CalibrationError, match="not current, completed results"):
        calibration_session_create(
            name="x",
            plan=panel["plan"],
            actor=panel["admin"],
            panelists=panel["reviewers"],
            results=[other],
        )


@pytest.mark.parametrize(
    ("anchors", "scale"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"1": "a", "3": "b", "5": "c"}, [1, 2, 3, 4, 5]),
        ({"0": "a", "4": "b"}, [0, 1, 2, 3, 4]),
        ({"low": "a", "2": "b"}, [1, 2, 3, 4, 5]),
    ],
)
def test_competency_scale_follows_the_rubric(anchors: dict, scale: list[int]) -> None:
    assert competency_scale(CompetencyFactory.build(rubric_anchors=anchors)) == scale


# -- the admin ---------------------------------------------------------------------------------


def _add_session(panel: dict, name: str, panelists: list, **fields: Any) -> Any:
    """POST the admin's add form as the panel's admin."""
    client = Client()
    client.force_login(panel["admin"])
    data = {
        "name": name,
        "plan": str(panel["plan"].pk),
        "panelists": [str(user.pk) for user in panelists],
        "_save": "Save",
        **fields,
    }
    return client.post(reverse("admin:governance_calibrationsession_add"), data, follow=True)


def test_an_admin_creates_a_session_by_sampling_the_plan(panel: dict) -> None:
    rita, rob, _ = panel["reviewers"]

    response = _add_session(panel, "Sampled round", [rita, rob], sample_size="2")

    assert response.status_code == 200, response.content
    session = CalibrationSession.objects.get(name="Sampled round")
    assert session.items.count() == 2
    assert set(session.panelists.all()) == {rita, rob}
    assert session.created_by == panel["admin"]
    assert "30 or more are recommended" in response.content.decode()


def test_an_admin_picks_results_by_hand(panel: dict) -> None:
    picked = panel["results"][:2]

    response = _add_session(
        panel, "Picked round", panel["reviewers"], results=[str(r.pk) for r in picked]
    )

    assert response.redirect_chain, response.content
    session = CalibrationSession.objects.get(name="Picked round")
    assert set(session.items.values_list("result_id", flat=True)) == {r.pk for r in picked}
    created = AuditEvent.objects.filter(action="calibration.create", object_id=str(session.pk))
    assert created.exists()


def test_the_admin_refuses_results_of_another_plan(panel: dict) -> None:
    stray = InterviewResultFactory()

    response = _add_session(
        panel,
        "Mixed round",
        panel["reviewers"],
        results=[str(panel["results"][0].pk), str(stray.pk)],
    )

    assert not response.redirect_chain
    assert "belong to another plan" in response.content.decode()
    assert not CalibrationSession.objects.filter(name="Mixed round").exists()


def test_the_admin_refuses_a_reviewer_who_may_not_read_the_results(panel: dict) -> None:
    stranger = UserFactory(username="stranger", groups=[RECRUITER])

    response = _add_session(panel, "Bad round", [panel["reviewers"][0], stranger], sample_size="3")

    assert not response.redirect_chain
    assert "stranger may not read every chosen result" in response.content.decode()
    assert not CalibrationSession.objects.filter(name="Bad round").exists()


def test_recruiters_cannot_create_sessions(panel: dict) -> None:
    client = Client()
    client.force_login(panel["reviewers"][0])
    response = client.get(reverse("admin:governance_calibrationsession_add"))
    assert response.status_code in (302, 403)


# -- human vs tool -----------------------------------------------------------------------------


def _decide(count: int, *, overrides: int, review_seconds: int, when: dt.datetime) -> None:
    reviewer = UserFactory(groups=[RECRUITER])
    for index in range(count):
        with time_machine.travel(when, tick=False):
            if index < overrides:
                decision = DecisionFactory(override=True, outcome="decline", decided_by=reviewer)
            else:
                decision = DecisionFactory(decided_by=reviewer)
        ReviewTaskFactory(
            interview=decision.result.interview,
            status=ReviewStatus.DONE,
            claimed_by=reviewer,
            claimed_at=when - dt.timedelta(seconds=review_seconds),
            resolved_at=when,
        )


NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)  # a Thursday


def test_rubber_stamping_weeks_are_flagged(role_groups: None) -> None:
    _decide(25, overrides=0, review_seconds=20, when=NOW - dt.timedelta(days=1))
    _decide(25, overrides=0, review_seconds=300, when=NOW - dt.timedelta(days=8))
    _decide(25, overrides=5, review_seconds=20, when=NOW - dt.timedelta(days=15))

    weeks = human_tool_agreement_by_week(weeks=4, now=NOW)

    assert [w.week_start.date() for w in weeks] == [
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 9),
        dt.date(2026, 11, 2),
    ]
    this_week, slow_week, overriding_week, empty = weeks
    assert (this_week.decisions, this_week.agreement, this_week.median_review_seconds) == (
        25,
        1,
        20,
    )
    assert this_week.automation_bias
    assert not slow_week.automation_bias  # careful reviews
    assert overriding_week.agreement == pytest.approx(0.8)
    assert not overriding_week.automation_bias  # people disagree with the tool
    assert (empty.decisions, empty.agreement, empty.automation_bias) == (0, None, False)


def test_thresholds_come_from_settings(role_groups: None, settings: Any) -> None:
    settings.SCREENBRIDGE_AUTOMATION_BIAS_REVIEW_SECONDS = 10
    _decide(25, overrides=0, review_seconds=20, when=NOW - dt.timedelta(days=1))

    assert not human_tool_agreement_by_week(weeks=1, now=NOW)[0].automation_bias


def test_the_calibration_page_shows_the_warning_in_words_to_admins_only(
    role_groups: None,
) -> None:
    _decide(25, overrides=0, review_seconds=20, when=timezone.now())
    admin = UserFactory(groups=[HIRING_OPS_ADMIN])
    recruiter = UserFactory(groups=[RECRUITER])
    client = Client()
    client.force_login(admin)

    body = client.get(reverse("governance:calibration-list")).content.decode()
    assert "Possible automation bias" in body.split("<tbody>", 2)[-1]

    client.force_login(recruiter)
    response = client.get(reverse("governance:calibration-list"))
    assert response.status_code == 200
    assert "human-tool-table" not in response.content.decode()


def test_users_without_a_role_get_no_calibration_page(db: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    assert client.get(reverse("governance:calibration-list")).status_code == 403
