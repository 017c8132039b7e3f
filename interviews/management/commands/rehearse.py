"""``manage.py rehearse --role-family SLUG [--candidates 25] [--seed N]``: a rehearsal run.

Synthetic candidates go through the whole pipeline on the family's sandbox connection with the
rehearsal vendor (see ``interviews.services.rehearsal``); nothing is sent to an ATS or a
vendor. Prints progress, a table per candidate (band and how the score mapped to it, review
reason, what would be written and any rejected mapping), what each candidate's writebacks
would carry, and the plan's go-live readiness checklist.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from interviews.models import RehearsalCandidate, RehearsalRun, RoleFamily, Vendor
from interviews.readiness import readiness_evaluate
from interviews.services.rehearsal import (
    MAX_CANDIDATES,
    RehearsalError,
    rehearsal_plan_for,
    rehearsal_run,
    rehearsal_vendor_get,
)
from interviews.services.results import score_number

PAYLOAD_CHARS = 400
COLUMNS = [("#", 3), ("Candidate", 22), ("Sample", 21), ("Score", 6), ("Band", 22)]


class Command(BaseCommand):
    help = "Rehearse a role family's interview plan with synthetic candidates (sandbox only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role-family", required=True, help="Slug of the role family.")
        parser.add_argument("--candidates", type=int, default=25, help="How many (default 25).")
        parser.add_argument("--seed", type=int, default=0, help="Same seed, same run (0).")
        parser.add_argument("--plan", type=int, help="Plan id (default: pilot, draft, live).")
        parser.add_argument(
            "--connection", help="Slug of the live connection to mirror (default: the busiest)."
        )
        parser.add_argument("--vendor", help="Slug of the rehearsal vendor to use.")

    def handle(self, *args: Any, **options: Any) -> None:
        family = RoleFamily.objects.filter(slug=options["role_family"]).first()
        if family is None:
            raise CommandError(f"no role family with slug {options['role_family']!r}")
        if not 1 <= options["candidates"] <= MAX_CANDIDATES:
            raise CommandError(f"--candidates must be from 1 to {MAX_CANDIDATES}")
        try:
            plan = rehearsal_plan_for(role_family=family, plan_id=options["plan"])
            vendor: Vendor = rehearsal_vendor_get(slug=options["vendor"])
            run = rehearsal_run(
                role_family=family,
                candidates=options["candidates"],
                seed=options["seed"],
                plan=plan,
                mirror_slug=options["connection"],
                vendor=vendor,
                progress=self.stdout.write,
            )
        except RehearsalError as exc:
            raise CommandError(str(exc)) from exc
        rows = list(run.candidates.order_by("position"))
        self._table(rows)
        self._writebacks(rows)
        self._totals(run, rows)
        self._readiness(run)

    def _table(self, rows: list[RehearsalCandidate]) -> None:
        self.stdout.write("")
        header = " ".join(title.ljust(width) for title, width in COLUMNS)
        self.stdout.write(f"{header} {'Review'.ljust(15)} {'Would write'.ljust(20)} Rejected")
        self.stdout.write("-" * (len(header) + 47))
        for row in rows:
            band = row.band or row.get_outcome_display().lower()
            cells = [
                str(row.position),
                row.name,
                row.sample,
                "" if row.score is None else str(score_number(row.score)),
                band,
            ]
            line = " ".join(
                _fit(cell, width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)
            )
            review = row.review_reason or ("none" if row.band else "—")
            writes = ",".join(sorted({w["kind"] for w in row.writebacks})) or "none"
            rejected = sum(1 for m in row.mappings if not m["written"])
            self.stdout.write(f"{line} {_fit(review, 15)} {_fit(writes, 20)} {rejected or 'no'}")

    def _writebacks(self, rows: list[RehearsalCandidate]) -> None:
        self.stdout.write("")
        self.stdout.write("Per candidate: how the score mapped, why review, what would be written")
        for row in rows:
            self.stdout.write(f"{row.position:>3}. {row.name}")
            if row.band_reasoning:
                self.stdout.write(f"     band: {row.band_reasoning}")
            if row.review_reason:
                detail = " / ".join(row.review_detail.splitlines())
                self.stdout.write(f"     review: {row.review_reason} — {detail}")
            if row.note:
                self.stdout.write(f"     note: {row.note}")
            for write in row.writebacks:
                payload = json.dumps(write["payload"], ensure_ascii=False, sort_keys=True)
                self.stdout.write(f"     would write {write['kind']}: {_clip(payload)}")
            for mapping in row.mappings:
                if not mapping["written"]:
                    self.stdout.write(f"     REJECTED {mapping['mapping']}: {mapping['problem']}")

    def _totals(self, run: RehearsalRun, rows: list[RehearsalCandidate]) -> None:
        bands: dict[str, int] = {}
        reviews = 0
        for row in rows:
            if row.band:
                bands[row.band] = bands.get(row.band, 0) + 1
            reviews += bool(row.review_reason)
        rejected = sum(row.rejected for row in rows)
        self.stdout.write("")
        self.stdout.write(
            f"Rehearsal #{run.pk} {run.status}: {len(rows)} candidate(s); bands "
            + (", ".join(f"{band} {n}" for band, n in sorted(bands.items())) or "none")
            + f"; {reviews} to review; {rejected} with rejected writebacks. "
            f"Nothing was sent: writebacks are recorded on sandbox {run.connection.slug}."
        )
        self.stdout.write(f"See the run at {reverse('interviews:rehearsal-run', args=[run.pk])}")

    def _readiness(self, run: RehearsalRun) -> None:
        readiness = readiness_evaluate(run.plan)
        self.stdout.write("")
        self.stdout.write(f"Go-live readiness of “{run.plan.name}” ({run.plan.status}):")
        for result in readiness.results:
            mark = "PASS" if result.passed else "FAIL"
            self.stdout.write(f"  [{mark}] {result.name}: {result.message}")
            if not result.passed:
                for detail in result.details:
                    self.stdout.write(f"         - {detail}")
        self.stdout.write("Ready to go live." if readiness.passed else "Not ready to go live yet.")


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


def _clip(text: str) -> str:
    return text if len(text) <= PAYLOAD_CHARS else text[: PAYLOAD_CHARS - 1] + "…"
