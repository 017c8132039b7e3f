"""``manage.py replay_events``: process stored webhook deliveries again, here and now.

    manage.py replay_events                         # every failed event
    manage.py replay_events --connection acme-gh    # failed events of one connection
    manage.py replay_events --status stale          # another status
    manage.py replay_events --id 12 15 --dry-run    # exactly these events, whatever their status

Events are processed in arrival order (Greenhouse events are ordered by it) and the same
idempotent processing as the Celery task applies: replaying an event that was processed already
changes nothing and publishes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.models import AtsConnection, InboundEvent, InboundEventStatus
from integrations.selectors import inbound_events_for_replay
from integrations.services.stage_sync import inbound_event_replay


class Command(BaseCommand):
    help = "Reprocess stored webhook deliveries (failed ones unless told otherwise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", metavar="SLUG", help="Only this connection's events.")
        parser.add_argument(
            "--status",
            choices=[s for s in InboundEventStatus.values if s != InboundEventStatus.PROCESSING],
            help="Events in this status (default: failed; with --id: any status).",
        )
        parser.add_argument(
            "--id",
            dest="ids",
            metavar="N",
            type=int,
            nargs="+",
            action="extend",
            help="Exactly these event ids.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be replayed; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = None
        if slug := options["connection"]:
            connection = AtsConnection.objects.filter(slug=slug).first()
            if connection is None:
                raise CommandError(f"No ATS connection with slug {slug!r}.")
        ids: list[int] | None = options["ids"]
        status = options["status"] or (None if ids else InboundEventStatus.FAILED)

        if options["dry_run"]:
            events = list(
                inbound_events_for_replay(event_ids=ids, status=status, connection=connection)
            )
            for event in events:
                self.stdout.write(f"would replay {self._describe(event)}")
            self._report_missing(ids, {event.pk for event in events})
            self.stdout.write(f"Dry run: {len(events)} event(s) would be replayed.")
            return

        results: Counter[str] = Counter()
        seen: set[int] = set()

        def progress(index: int, total: int, event: InboundEvent) -> None:
            results[event.status] += 1
            seen.add(event.pk)
            self.stdout.write(f"{index}/{total} {self._describe(event)}")

        total = inbound_event_replay(
            event_ids=ids, status=status, connection=connection, progress=progress
        )
        self._report_missing(ids, seen)
        if not total:
            self.stdout.write("No events to replay.")
            return
        summary = ", ".join(f"{name} {count}" for name, count in sorted(results.items()))
        style = self.style.WARNING if results.get(InboundEventStatus.FAILED) else self.style.SUCCESS
        self.stdout.write(style(f"Replayed {total} event(s): {summary}."))

    @staticmethod
    def _describe(event: InboundEvent) -> str:
        text = (
            f"event {event.pk} {event.connection.slug}:{event.delivery_id} "
            f"({event.action or 'unknown action'}): {event.status}"
        )
        return f"{text} — {event.error}" if event.error else text

    def _report_missing(self, ids: list[int] | None, found: set[int]) -> None:
        if ids and (missing := sorted(set(ids) - found)):
            self.stderr.write(
                "Skipped (no such event, not in the requested status, or being processed): "
                + ", ".join(str(pk) for pk in missing)
            )
