"""``manage.py reconcile_ats``: repair stage changes the webhooks missed, from the ATS API.

    manage.py reconcile_ats acme-gh                               # every application
    manage.py reconcile_ats acme-gh --since 2026-05-01T00:00:00Z  # changed since then
    manage.py reconcile_ats acme-gh --since 2026-05-01 --dry-run  # what would change

The connector pages through the ATS (Link header or cursor, ``AtsClient.iter_stage_changes``)
and each application is applied with ``stage_sync.stage_change_apply``, the same code as the
webhooks: identity by remote ids, the stage mapping, and the ordering rule, so a webhook that
already brought a newer state wins ("stale") and a repeat is a no-op. Safe to re-run, and to
run while webhooks arrive. A real move publishes ``application_stage_changed`` (event=None).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from integrations import registry
from integrations.connectors.base import StageChange
from integrations.http import AtsError
from integrations.models import AtsConnection, CanonicalStage
from integrations.services.stage_sync import StageChangeResult, stage_change_apply

PROGRESS_EVERY = 50
# Item errors printed in full; the rest are only counted.
ERRORS_SHOWN = 20
OUTCOMES = ("created", "moved", "unchanged", "stale", "unmapped", "errors")


class _DryRunRollbackError(Exception):
    """Undoes one change applied only to find out what it would do."""

    def __init__(self, result: StageChangeResult) -> None:
        super().__init__("dry run")
        self.result = result


class Command(BaseCommand):
    help = (
        "Page through the ATS API and apply stage changes the webhooks missed; prints progress "
        "and a summary (seen, created, moved, unchanged, stale, unmapped, errors)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Slug of the ATS connection.")
        parser.add_argument(
            "--since",
            metavar="ISO-8601",
            help="Only applications changed since then, e.g. 2026-05-01T00:00:00Z or 2026-05-01 "
            "(UTC when no offset is given). Default: every application.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read the ATS and report what would change; write nothing, publish nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = _connection(options["slug"])
        since = _parse_since(options["since"])
        dry_run: bool = options["dry_run"]
        counts: Counter[str] = Counter()

        scope = f"since {since.isoformat()}" if since else "all applications"
        mode = " [dry run: nothing is written]" if dry_run else ""
        self.stdout.write(f"Reconciling {connection.slug} ({connection.provider}) — {scope}{mode}")
        if not connection.active:
            self.stdout.write(self.style.WARNING("Note: this connection is inactive."))

        seen = 0
        after = (
            "Nothing was written (dry run)."
            if dry_run
            else "What is counted above was applied; re-running is safe (repeats are no-ops)."
        )
        try:
            client = registry.client_for(connection)
            for change in client.iter_stage_changes(since=since):
                seen += 1
                outcome = self._apply(connection, change, dry_run=dry_run, errors=counts["errors"])
                counts[outcome] += 1
                if seen % PROGRESS_EVERY == 0:
                    self.stdout.write(f"  {_summary(seen, counts)}")
        except (AtsError, registry.UnknownProviderError) as exc:
            self._finish(seen, counts, dry_run, failed=True)
            raise CommandError(
                f"The ATS API failed after {seen} application(s): {exc}. {after}"
            ) from exc
        except Exception as exc:  # a connector bug: still say what was done before it
            self._finish(seen, counts, dry_run, failed=True)
            raise CommandError(
                f"Reading from the ATS failed after {seen} application(s): "
                f"{type(exc).__name__}: {exc}. {after}"
            ) from exc
        except KeyboardInterrupt:
            self._finish(seen, counts, dry_run, failed=True)
            raise CommandError(f"Interrupted after {seen} application(s).") from None
        self._finish(seen, counts, dry_run, failed=False)
        if counts["errors"]:
            raise CommandError(
                f"{counts['errors']} application(s) could not be applied (see above)."
            )

    def _apply(
        self, connection: AtsConnection, change: StageChange, *, dry_run: bool, errors: int
    ) -> str:
        """Apply one change (or try it and roll back) and name its outcome."""
        try:
            if dry_run:
                result = _apply_and_roll_back(connection, change)
            else:
                result = stage_change_apply(connection=connection, change=change)
        except Exception as exc:
            # One bad record must not stop the repair of the others; reported and counted.
            if errors < ERRORS_SHOWN:
                self.stderr.write(
                    f"  application {change.application_remote_id or '?'}: "
                    f"{type(exc).__name__}: {exc}"
                )
            return "errors"
        return _outcome(result)

    def _finish(self, seen: int, counts: Counter[str], dry_run: bool, *, failed: bool) -> None:
        prefix = "Stopped" if failed else ("Dry run" if dry_run else "Done")
        line = f"{prefix}: {_summary(seen, counts)}"
        if failed or counts["errors"]:
            self.stdout.write(self.style.WARNING(line))
        else:
            self.stdout.write(self.style.SUCCESS(line))


def _apply_and_roll_back(connection: AtsConnection, change: StageChange) -> StageChangeResult:
    """Each change in its own savepoint, rolled back: no rows, no signal (on_commit dropped).

    Every change is judged against the database as it is, not against earlier dry-run changes.
    """
    try:
        with transaction.atomic():
            raise _DryRunRollbackError(stage_change_apply(connection=connection, change=change))
    except _DryRunRollbackError as rollback:
        return rollback.result


def _outcome(result: StageChangeResult) -> str:
    """One bucket per change: stale, unmapped, created, moved (canonical stage), unchanged."""
    if not result.applied:
        return "stale"
    if result.new_stage == CanonicalStage.UNMAPPED:
        return "unmapped"
    if result.old_stage is None:
        return "created"
    return "moved" if result.stage_changed else "unchanged"


def _summary(seen: int, counts: Counter[str]) -> str:
    return f"{seen} seen: " + ", ".join(f"{counts[name]} {name}" for name in OUTCOMES)


def _connection(slug: str) -> AtsConnection:
    connection = AtsConnection.objects.filter(slug=slug).first()
    if connection is None:
        known = ", ".join(AtsConnection.objects.order_by("slug").values_list("slug", flat=True))
        raise CommandError(
            f"No ATS connection with slug {slug!r}. Known slugs: {known or '(none configured)'}."
        )
    return connection


def _parse_since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        moment = None  # well formed but impossible, e.g. 2026-02-30
    if moment is None:
        raise CommandError(
            f"--since {value!r} is not an ISO-8601 date or time; use e.g. 2026-05-01T00:00:00Z "
            "or 2026-05-01."
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    if moment > timezone.now():
        raise CommandError(f"--since {value!r} is in the future.")
    return moment
