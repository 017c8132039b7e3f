"""Prove that nobody altered the audit trail: recompute the hash chain from the first event.

    python manage.py verify_audit                     # the whole chain
    python manage.py verify_audit --since 2026-11-01  # from the first event on that day
    python manage.py verify_audit --expect <hash>     # ...and a hash noted earlier is still there

Exit status 0 when every event's ``prev_hash`` is the previous event's ``hash`` and every
``hash`` recomputes from the row, non-zero otherwise (and when the append-only trigger is missing
or disabled). A chain cannot show that the *newest* events were removed: note the head hash it
prints somewhere else (a ticket, the deployment log) and pass it back with ``--expect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, router
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from governance.audit import GENESIS_HASH, HASHED_FIELDS, compute_hash, object_type_of
from governance.models import AuditEvent
from governance.receivers import USER_DELETE_ACTION

# Details are printed for this many problems; the rest are only counted.
MAX_DETAILED_PROBLEMS = 20
TRIGGER_NAMES = {
    "postgresql": "governance_auditevent_append_only",
    "sqlite": "governance_auditevent_no_update",
}


@dataclass
class Problem:
    event_id: int | None
    summary: str
    details: list[str] = field(default_factory=list)


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and report the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            help="Start at the first event on or after this date or ISO datetime "
            "(its link to the event before is still checked).",
        )
        parser.add_argument(
            "--expect",
            metavar="HASH",
            help="A hash noted earlier (e.g. a previous run's head) that must still be there.",
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=10_000,
            metavar="N",
            help="Print progress every N events (default 10000; 0 for none).",
        )
        parser.add_argument("--chunk-size", type=int, default=2_000, help="Rows per query.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.using = router.db_for_read(AuditEvent)
        events = AuditEvent.objects.using(self.using)
        chunk_size = max(1, options["chunk_size"])
        progress_every = max(0, options["progress_every"])
        expect = (options["expect"] or "").strip().lower()

        start_id, expected_prev = self._start(events, options["since"])
        total = events.filter(pk__gte=start_id).count()
        since = f" from #{start_id}" if options["since"] else ""
        self.stdout.write(f"Verifying {total:,} audit event(s){since} ...")
        self.deleted_user_ids = self._deleted_user_ids(events)

        problems: list[Problem] = []
        checked, first_id, last_id, found_expected = 0, None, start_id - 1, False
        head = expected_prev
        while True:
            rows = list(
                events.filter(pk__gt=last_id)
                .order_by("pk")
                .values("id", "hash", *HASHED_FIELDS)[:chunk_size]
            )
            if not rows:
                break
            for row in rows:
                first_id = first_id if first_id is not None else row["id"]
                problem = self._check(events, row, expected_prev)
                if problem is not None:
                    self._report(problem, len(problems))
                    problems.append(problem)
                # Continue from the stored hash: one altered row is one problem, not a cascade.
                expected_prev = head = row["hash"]
                found_expected = found_expected or row["hash"] == expect
                checked += 1
                if progress_every and checked % progress_every == 0:
                    self.stdout.write(f"  checked {checked:,} of {total:,} (up to #{row['id']})")
            last_id = rows[-1]["id"]

        if expect and not found_expected:
            problem = Problem(
                None,
                f"The expected hash {expect} is not in the verified part of the chain: events "
                "were removed, or it was recorded before --since.",
            )
            self._report(problem, len(problems))
            problems.append(problem)
        trigger = self._trigger_state()
        if trigger is not None and trigger != "enabled":
            problem = Problem(None, f"The append-only trigger is {trigger}.")
            self._report(problem, len(problems))
            problems.append(problem)

        span = f" (#{first_id} to #{last_id})" if checked else ""
        self.stdout.write(f"Checked {checked:,} event(s){span}. Head hash: {head}")
        if trigger is not None:
            self.stdout.write(f"Append-only trigger: {trigger}.")
        if problems:
            first = next((p for p in problems if p.event_id is not None), problems[0])
            where = f" at event #{first.event_id}" if first.event_id is not None else ""
            raise CommandError(
                f"Audit trail verification FAILED: {len(problems)} problem(s); "
                f"first broken link{where}: {first.summary}"
            )
        self.stdout.write(self.style.SUCCESS("Audit trail intact: every link verified."))

    # -- the walk ---------------------------------------------------------------------------

    def _start(self, events: Any, since: str | None) -> tuple[int, str]:
        """First event id to check and the hash its ``prev_hash`` must equal."""
        if not since:
            return 0, GENESIS_HASH
        moment = _parse_since(since)
        start_id = (
            events.filter(occurred_at__gte=moment)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if start_id is None:
            raise CommandError(f"No audit events on or after {moment.isoformat()}.")
        anchor = (
            events.filter(pk__lt=start_id).order_by("-pk").values_list("hash", flat=True).first()
        )
        return start_id, anchor or GENESIS_HASH

    def _check(self, events: Any, row: dict[str, Any], expected_prev: str) -> Problem | None:
        if row["prev_hash"] != expected_prev:
            return self._broken_link(events, row, expected_prev)
        recomputed = compute_hash(row)
        if recomputed == row["hash"]:
            return None
        if row["actor_id"] is None:
            # The actor may have been deleted since (ON DELETE SET NULL): try their old id.
            for user_id in self.deleted_user_ids:
                if compute_hash({**row, "actor_id": user_id}) == row["hash"]:
                    return None
        return self._altered(events, row, recomputed)

    def _broken_link(self, events: Any, row: dict[str, Any], expected_prev: str) -> Problem:
        problem = Problem(
            row["id"],
            "prev_hash does not match the previous event's hash",
            [f"expected prev_hash: {expected_prev}", f"stored prev_hash:   {row['prev_hash']}"],
        )
        pointed_at = (
            events.filter(hash=row["prev_hash"]).exclude(pk=row["id"]).values_list("pk", flat=True)
        )
        target = pointed_at.first()
        if row["prev_hash"] == GENESIS_HASH:
            problem.details.append("It claims to be the first event: the chain was restarted.")
        elif target is None:
            problem.details.append(
                "No event has the hash it points at: the event before it was deleted (or its "
                "hash or this prev_hash was edited)."
            )
        else:
            problem.details.append(
                f"It points at event #{target}, not at the event before it: the chain forked "
                "or rows were reordered or inserted."
            )
        if compute_hash(row) != row["hash"]:
            problem.details.append("Its own hash does not recompute either.")
        return problem

    def _altered(self, events: Any, row: dict[str, Any], recomputed: str) -> Problem:
        problem = Problem(
            row["id"],
            "its content no longer matches its hash",
            [f"expected hash: {recomputed}", f"stored hash:   {row['hash']}"],
        )
        following = events.filter(pk__gt=row["id"]).order_by("pk").values("id", "prev_hash").first()
        if following is None:
            problem.details.append(
                "It is the newest event, so the stored hash cannot be cross-checked."
            )
        elif following["prev_hash"] == row["hash"]:
            problem.details.append(
                f"Event #{following['id']} still points at the stored hash, so the hash is the "
                "original and hashed fields of this row were changed after it was written "
                "(action, actor, object, changes, time or request id)."
            )
        else:
            problem.details.append(
                f"Event #{following['id']} points at a different hash: the stored hash itself "
                "was rewritten."
            )
        if row["actor_id"] is None and not row["actor_label"].startswith("system"):
            problem.details.append(
                f"actor_id is NULL but no recorded user deletion explains it "
                f"(actor_label {row['actor_label']!r}): the actor link was probably removed."
            )
        problem.details.extend(self._time_hints(events, row))
        return problem

    def _time_hints(self, events: Any, row: dict[str, Any]) -> list[str]:
        """Events are written in time order under a lock: an out-of-order time is suspect."""
        before = (
            events.filter(pk__lt=row["id"]).order_by("-pk").values_list("occurred_at", flat=True)
        ).first()
        after = (
            events.filter(pk__gt=row["id"]).order_by("pk").values_list("occurred_at", flat=True)
        ).first()
        moment = row["occurred_at"]
        if (before is not None and moment < before) or (after is not None and moment > after):
            return ["occurred_at is out of order with its neighbours: the time was likely changed."]
        return []

    def _deleted_user_ids(self, events: Any) -> list[int]:
        user_type = object_type_of(get_user_model())
        ids = events.filter(action=USER_DELETE_ACTION, object_type=user_type).values_list(
            "object_id", flat=True
        )
        return [int(value) for value in ids if value.isdigit()]

    def _trigger_state(self) -> str | None:
        """'enabled', 'disabled' or 'missing'; None where the database has no trigger."""
        connection = connections[self.using]
        name = TRIGGER_NAMES.get(connection.vendor)
        if name is None:
            return None
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT tgenabled FROM pg_trigger "
                    "WHERE tgrelid = %s::regclass AND tgname = %s AND NOT tgisinternal",
                    [AuditEvent._meta.db_table, name],
                )
                found = cursor.fetchone()
                if found is None:
                    return "missing"
                # 'D' = disabled; 'O', 'A', 'R' fire (origin, always, replica).
                return "disabled" if found[0] == "D" else "enabled"
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name]
            )
            return "enabled" if cursor.fetchone() else "missing"

    def _report(self, problem: Problem, index: int) -> None:
        if index >= MAX_DETAILED_PROBLEMS:
            return
        where = f"Event #{problem.event_id}: " if problem.event_id is not None else ""
        self.stderr.write(self.style.ERROR(f"BROKEN  {where}{problem.summary}"))
        for line in problem.details:
            self.stderr.write(f"        {line}")
        if index == MAX_DETAILED_PROBLEMS - 1:
            self.stderr.write("        (further problems are counted, not detailed)")


def _parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since must be a date (2026-11-01) or ISO datetime: {value!r}")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
