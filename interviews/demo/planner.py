"""Plan the demo data set in memory: people, stage timelines, interviews, results and reviews.

Everything except the time anchor ``now`` comes from one ``random.Random`` with a fixed seed, so
two runs plan the same people, stages and scores. The planner never reads the database.
Writeback jobs and inbound webhooks are planned by ``ledger_planner`` from the same generator,
after everything here: the order of draws is part of the data set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from governance.models import DecisionOutcome
from integrations.models import STAGE_ORDER
from interviews.demo.blueprint import (
    ApplicationSpec,
    Blueprint,
    CandidateSpec,
    DecisionSpec,
    InterviewSpec,
    ResultSpec,
    ReviewSpec,
    random_uuid,
)
from interviews.demo.data import (
    AI_RANK,
    BULLETS,
    COMPETENCY_EVIDENCE,
    EMAIL_DOMAINS,
    FAILURE_REASONS,
    FAMILIES,
    FIRST_NAMES,
    GH,
    LAST_NAMES,
    LEFT_AT_WEIGHTS,
    LV,
    OVERRIDE_TEXTS,
    REMOTE_STAGES,
    REQUISITIONS,
    SEED,
    STAGE_COUNTS,
    STAGE_GAP_DAYS,
    UNMAPPED_STAGE,
    WAITING_STATUS_WEIGHTS,
    C,
)
from interviews.demo.ledger_planner import plan_ledgers
from interviews.models import InterviewStatus, PlanStatus, ResultFlag, ReviewReason, ReviewStatus
from interviews.scoring import band_for, borderline_cut, recommended_outcome


def plan_demo(now: dt.datetime) -> Blueprint:
    """The complete demo blueprint; every event it records happened before ``now``."""
    return Planner(now).build()


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _score(value: float) -> Decimal:
    return Decimal(f"{min(100.0, max(0.0, value)):.2f}")


class Planner:
    """Builds the blueprint from the seed; reads nothing but the clock anchor."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets

    def uuid(self) -> str:
        return random_uuid(self.rng)

    def hours(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(hours=self.rng.uniform(low, high))

    def weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def build(self) -> Blueprint:
        bp = Blueprint()
        bp.lever_stage_ids = {name: self.uuid() for name, _ in REMOTE_STAGES[LV]}
        bp.requisition_ids = [remote_id or self.uuid() for _, remote_id, *_ in REQUISITIONS]
        self._people(bp)
        self._timelines(bp)
        plan_ledgers(bp, self.rng, self.now)
        return bp

    # -- candidates and applications ---------------------------------------------------------
    def _people(self, bp: Blueprint) -> None:
        rng = self.rng
        names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], 300)
        stages = [stage for stage, count in STAGE_COUNTS.items() for _ in range(count)]
        rng.shuffle(stages)
        gh_candidate, gh_application = 265100, 518200
        per_connection: dict[str, list[CandidateSpec]] = {GH: [], LV: []}
        slot = 0
        for index, (conn, _, _, _, _, family, _, n_apps, recruiter, _) in enumerate(REQUISITIONS):
            req_id = bp.requisition_ids[index]
            on_this_req: set[str] = set()
            for _ in range(n_apps):
                # About one in 25 applications comes from someone who already applied elsewhere.
                earlier = [c for c in per_connection[conn] if c.remote_id not in on_this_req]
                if earlier and rng.random() < 0.04:
                    candidate = rng.choice(earlier)
                else:
                    first, last = names[slot]
                    if conn == GH:
                        gh_candidate += rng.randint(3, 40)
                        remote_id = str(gh_candidate)
                    else:
                        remote_id = self.uuid()
                    local = rng.choice(
                        [
                            f"{_ascii(first)}.{_ascii(last)}",
                            f"{_ascii(first)}{_ascii(last)}",
                            f"{_ascii(first)[0]}{_ascii(last)}",
                            f"{_ascii(first)}.{_ascii(last)}{rng.randint(10, 99)}",
                        ]
                    )
                    email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
                    candidate = CandidateSpec(conn, remote_id, first, last, email)
                    bp.candidates.append(candidate)
                    per_connection[conn].append(candidate)
                on_this_req.add(candidate.remote_id)
                stage = stages[slot]
                slot += 1
                if family == "software-engineering" and stage == C.AUTOMATED_INTERVIEW:
                    stage = C.APPLICATION_REVIEW  # engineering has no automated interview yet
                if stage in LEFT_AT_WEIGHTS:
                    reached = self.weighted(LEFT_AT_WEIGHTS[stage])
                    if family == "software-engineering" and reached == C.AUTOMATED_INTERVIEW:
                        reached = C.APPLICATION_REVIEW
                elif stage == C.UNMAPPED:
                    reached = UNMAPPED_STAGE[conn][1]
                else:
                    reached = stage
                if conn == GH:
                    gh_application += rng.randint(1, 25)
                    app_id = str(gh_application)
                else:
                    app_id = self.uuid()
                bp.applications.append(
                    ApplicationSpec(
                        conn, app_id, candidate.remote_id, req_id, family, recruiter, stage, reached
                    )
                )
        # Two different people share one family address: identity is by remote id, not e-mail.
        first_gh = [c for c in bp.candidates if c.connection == GH]
        for candidate, first in ((first_gh[4], "Linh"), (first_gh[11], "Bao")):
            candidate.first_name, candidate.last_name = first, "Nguyen"
            candidate.email = "nguyen.family@example.net"
        # A few candidates declined automated interviews.
        for candidate in rng.sample(bp.candidates, 6):
            candidate.opted_out = True
        bp.legal_hold_candidate = (GH, first_gh[20].remote_id)

    # -- stage timelines, interviews, results, reviews ---------------------------------------
    def _timelines(self, bp: Blueprint) -> None:
        rng = self.rng
        opted_out = {(c.connection, c.remote_id) for c in bp.candidates if c.opted_out}
        family_by_slug = {f["slug"]: f for f in FAMILIES}
        waiting = [
            a
            for a in bp.applications
            if a.stage == C.AUTOMATED_INTERVIEW and (a.connection, a.candidate) not in opted_out
        ]
        # Every status at least once, the rest weighted.
        waiting_status = list(WAITING_STATUS_WEIGHTS)
        waiting_status += [self.weighted(WAITING_STATUS_WEIGHTS) for _ in waiting[7:]]
        status_for = {id(a): waiting_status[i] for i, a in enumerate(waiting)}
        # The first waiting results carry these flags, whatever the dice say.
        forced_flags: Iterator[str] = iter([ResultFlag.INTEGRITY, ResultFlag.LOW_CONFIDENCE])

        for app in bp.applications:
            plan = family_by_slug[app.family]["plan"]
            running = plan["status"] in (PlanStatus.PILOT, PlanStatus.LIVE)
            has_interview = (
                running
                and STAGE_ORDER[app.reached] >= AI_RANK
                and (app.connection, app.candidate) not in opted_out
            )
            # Relative timeline in hours from the application date.
            t = 0.0
            entered: dict[str, float] = {C.APPLIED: 0.0}
            interview: InterviewSpec | None = None
            end_slack: tuple[float, float] = (2.0, 24.0 * 6)
            rel: dict[str, float | None] = {}
            for stage, rank in STAGE_ORDER.items():
                if rank == 0 or rank > STAGE_ORDER[app.reached]:
                    continue
                low, high = STAGE_GAP_DAYS[stage]
                t += rng.uniform(low, high) * 24
                entered[stage] = t
                if stage == C.AUTOMATED_INTERVIEW and has_interview:
                    status, rel, t, end_slack = self._interview_timeline(app, plan, t, status_for)
                    interview = InterviewSpec(
                        application=app,
                        family=app.family,
                        status=status,
                        vendor_reference="",
                        stage_entered_at=self.now,  # placeholder, anchored below
                    )
            if app.stage in (C.REJECTED, C.WITHDRAWN):
                t += rng.uniform(0.5, 5.0) * 24
                end_slack = (1.0, 24.0 * 8)
            elif app.stage == C.UNMAPPED:
                t += rng.uniform(1.0, 4.0) * 24
            age = t + rng.uniform(*end_slack)
            applied_at = self.now - dt.timedelta(hours=age)

            def at(hours: float | None, applied: dt.datetime = applied_at) -> dt.datetime | None:
                return None if hours is None else applied + dt.timedelta(hours=hours)

            app.applied_at = applied_at
            app.stage_entered_at = at(entered.get(app.stage, t))
            if app.stage == C.UNMAPPED:
                name = UNMAPPED_STAGE[app.connection][0]
            else:
                name = self._remote_stage_name(app)
            app.remote_stage_name = name
            app.remote_stage_id = self._remote_stage_id(bp, app, name)

            if interview is None:
                continue
            reference = hashlib.sha256(f"{app.connection}:{app.remote_id}".encode()).hexdigest()
            interview.vendor_reference = f"ivw_{reference[:20]}"
            interview.stage_entered_at = at(entered[C.AUTOMATED_INTERVIEW])  # type: ignore[assignment]
            for name in (
                "invited_at",
                "reminded_at",
                "started_at",
                "completed_at",
                "expires_at",
                "ended_at",
            ):
                setattr(interview, name, at(rel.get(name)))
            if interview.status == InterviewStatus.FAILED:
                interview.failure_reason = rng.choice(FAILURE_REASONS)
            if interview.status == InterviewStatus.COMPLETED:
                self._result(interview, plan, family_by_slug[app.family], forced_flags)
            self._review(interview, plan)
            bp.interviews.append(interview)

        # Candidates' remote timestamps follow their newest application.
        latest: dict[tuple[str, str], dt.datetime] = {}
        for app in bp.applications:
            key = (app.connection, app.candidate)
            assert app.stage_entered_at is not None  # noqa: S101 - set above for every app
            latest[key] = max(latest.get(key, app.stage_entered_at), app.stage_entered_at)
        for candidate in bp.candidates:
            candidate.remote_updated_at = latest[(candidate.connection, candidate.remote_id)]

    def _interview_timeline(
        self,
        app: ApplicationSpec,
        plan: dict[str, Any],
        t: float,
        status_for: dict[int, str],
    ) -> tuple[str, dict[str, float | None], float, tuple[float, float]]:
        """Status and relative timestamps (hours) of the interview launched at ``t``.

        Returns the status, the timestamps, the time the application's timeline continues from,
        and the range of "time since the last event" that keeps the status true today.
        """
        rng = self.rng
        expiry = plan["expiry_days"] * 24.0
        waiting = app.stage == C.AUTOMATED_INTERVIEW
        if waiting:
            status = status_for[id(app)]
        elif app.reached == C.AUTOMATED_INTERVIEW:  # left the pipeline at this stage
            if app.stage == C.WITHDRAWN:
                status = InterviewStatus.CANCELLED
            else:
                completed = rng.random() < 0.7
                status = InterviewStatus.COMPLETED if completed else InterviewStatus.EXPIRED
        else:  # moved on; a few were skipped by the recruiter
            status = InterviewStatus.COMPLETED if rng.random() < 0.93 else InterviewStatus.CANCELLED

        rel: dict[str, float | None] = {}
        slack = (1.0, 24.0 * 5)
        if status == InterviewStatus.PENDING:
            return status, rel, t, (0.1, 3.0)
        if status == InterviewStatus.FAILED:
            rel["ended_at"] = t + rng.uniform(0.02, 0.2)
            return status, rel, rel["ended_at"], (12.0, 24.0 * 3)
        invited = t + rng.uniform(2, 40) / 60
        rel["invited_at"] = invited
        rel["expires_at"] = invited + expiry
        reminder = invited + plan["reminder_after_hours"]
        end = invited
        if status == InterviewStatus.INVITED:
            slack = (1.0, plan["reminder_after_hours"] - 1.0)
        elif status == InterviewStatus.STARTED:
            rel["started_at"] = end = invited + rng.uniform(1.0, min(40.0, expiry - 30.0))
            slack = (0.2, min(20.0, invited + expiry - end - 2.0))
        elif status == InterviewStatus.COMPLETED:
            rel["started_at"] = invited + rng.uniform(0.5, min(60.0, expiry - 2.0))
            rel["completed_at"] = rel["ended_at"] = end = rel["started_at"] + rng.uniform(0.3, 0.7)
            slack = (1.0, 24.0 * 3) if waiting else slack
        elif status == InterviewStatus.EXPIRED:
            rel["ended_at"] = end = invited + expiry + rng.uniform(0.0, 1.0)
            slack = (3.0, 24.0 * 6)
        elif status == InterviewStatus.CANCELLED:
            rel["ended_at"] = end = invited + rng.uniform(2.0, 30.0)
            slack = (6.0, 24.0 * 4)
        if reminder < end or (status == InterviewStatus.INVITED and rng.random() < 0.5):
            rel["reminded_at"] = reminder
            if status == InterviewStatus.INVITED:
                slack = (plan["reminder_after_hours"] + 1.0, expiry - 6.0)
        return status, rel, end, slack

    def _result(
        self,
        interview: InterviewSpec,
        plan: dict[str, Any],
        family: dict[str, Any],
        forced_flags: Iterator[str],
    ) -> None:
        rng = self.rng
        app = interview.application
        if app.stage == C.AUTOMATED_INTERVIEW:
            mean, spread = 66.0, 14.0
        elif app.reached == C.AUTOMATED_INTERVIEW:
            mean, spread = 40.0, 8.0
        else:
            mean, spread = 79.0, 7.0
        base = rng.gauss(mean, spread)
        subscores: list[tuple[str, Decimal, str]] = []
        weighted_sum, weights = 0.0, 0.0
        for key, _, weight, _ in family["competencies"]:
            value = min(98.0, max(5.0, base + rng.gauss(0, 6)))
            subscore = Decimal(f"{value:.1f}")
            level = 0 if value < 50 else (1 if value < 75 else 2)
            subscores.append((key, subscore, COMPETENCY_EVIDENCE[level]))
            weighted_sum += float(subscore) * float(weight)
            weights += float(weight)
        score = _score(weighted_sum / weights)
        thresholds = plan["band_thresholds"]
        confidence = round(min(0.99, max(0.35, rng.gauss(0.85, 0.1))), 2)
        flags: list[str] = []
        if app.stage == C.AUTOMATED_INTERVIEW:
            forced = next(forced_flags, None)
            if forced == ResultFlag.LOW_CONFIDENCE:
                confidence = 0.48
            elif forced:
                flags.append(forced)
        if rng.random() < 0.03:
            flags.append(ResultFlag.INTEGRITY)
        if confidence < 0.6 and ResultFlag.LOW_CONFIDENCE not in flags:
            flags.append(ResultFlag.LOW_CONFIDENCE)
        if borderline_cut(score, thresholds, plan["borderline_margin"]) is not None:
            flags.insert(0, ResultFlag.BORDERLINE)
        good, weak = BULLETS[interview.family]
        count = 1 + (rng.random() < 0.7) + (rng.random() < 0.4)
        n_good = count if score >= 75 else (count - 1 if score >= 55 else 0)
        bullets = rng.sample(good, n_good) + rng.sample(weak, count - n_good)
        assert interview.completed_at is not None  # noqa: S101 - completed interviews have it
        interview.result = ResultSpec(
            score=score,
            band=band_for(score, thresholds),
            band_thresholds=thresholds,
            confidence=confidence,
            bullets=bullets,
            flags=flags,
            competency_scores=subscores,
            received_at=interview.completed_at + dt.timedelta(minutes=rng.uniform(1, 6)),
            recording=rng.random() < 0.5,
        )

    def _review(self, interview: InterviewSpec, plan: dict[str, Any]) -> None:
        """Route results (and expired waiting interviews) to the review queue."""
        rng = self.rng
        app = interview.application
        waiting = app.stage == C.AUTOMATED_INTERVIEW
        result = interview.result
        if result is None:
            if waiting and interview.status == InterviewStatus.EXPIRED:
                assert interview.ended_at is not None  # noqa: S101
                interview.review = ReviewSpec(
                    reason=ReviewReason.INCOMPLETE,
                    detail=f"Invitation expired after {plan['expiry_days']} days without a "
                    "completed interview.",
                    status=ReviewStatus.OPEN,
                    created_at=interview.ended_at + dt.timedelta(minutes=rng.uniform(1, 15)),
                )
            return
        serious = [f for f in result.flags if f in (ResultFlag.INTEGRITY, ResultFlag.TECHNICAL)]
        cut = borderline_cut(result.score, result.band_thresholds, plan["borderline_margin"])
        if serious:
            reason = ReviewReason.FLAGGED
            detail = "Vendor reported an integrity concern (a second voice was detected)."
        elif ResultFlag.LOW_CONFIDENCE in result.flags:
            reason = ReviewReason.LOW_CONFIDENCE
            detail = f"Vendor confidence {result.confidence:.2f} is below 0.60."
        elif cut is not None:
            reason = ReviewReason.BORDERLINE
            detail = (
                f"Score {result.score} is within {plan['borderline_margin']} points of the "
                f"cut at {cut}."
            )
        elif plan["status"] == PlanStatus.PILOT and rng.random() < plan["pilot_review_share"]:
            reason = ReviewReason.PILOT_SAMPLE
            detail = f"Pilot sample: {plan['pilot_review_share']:.0%} of results are reviewed."
        else:
            return
        created = result.received_at + dt.timedelta(seconds=rng.uniform(1, 20))
        review = ReviewSpec(reason, detail, ReviewStatus.OPEN, created_at=created)
        interview.review = review
        if waiting:
            if rng.random() < 0.4:
                review.status = ReviewStatus.CLAIMED
                review.claimed_by = app.recruiter
                review.claimed_at = min(created + self.hours(0.2, 20), self.now)
            return
        # The application has moved on: a recruiter decided, then moved it in the ATS.
        review.status = ReviewStatus.DONE
        review.claimed_by = app.recruiter
        review.claimed_at = created + self.hours(0.2, 6)
        review.resolved_at = review.claimed_at + self.hours(0.1, 2)
        outcome = (
            DecisionOutcome.DECLINE
            if app.reached == C.AUTOMATED_INTERVIEW
            else DecisionOutcome.ADVANCE
        )
        decision = DecisionSpec(
            decided_by=app.recruiter,
            outcome=outcome,
            recommended=recommended_outcome(result.band),
            created_at=review.resolved_at,
        )
        if decision.outcome != decision.recommended:
            decision.override_reason = rng.choice(list(OVERRIDE_TEXTS))
            decision.override_text = rng.choice(OVERRIDE_TEXTS[decision.override_reason])
        review.decision = decision

    def _remote_stage_name(self, app: ApplicationSpec) -> str:
        stages = REMOTE_STAGES[app.connection]
        names = [name for name, canonical in stages if canonical == app.stage]
        if len(names) > 1:  # Greenhouse: support/sales jobs say "Phone Screen", engineering not
            return names[1] if app.family == "software-engineering" else names[0]
        return names[0]

    def _remote_stage_id(self, bp: Blueprint, app: ApplicationSpec, name: str) -> str:
        if app.connection == LV:
            return bp.lever_stage_ids[name]
        # Greenhouse stage ids are per job: derive one from the job and the stage position.
        position = [n for n, _ in REMOTE_STAGES[GH]].index(name)
        return str(71000 + int(app.requisition) % 100 * 100 + position)
