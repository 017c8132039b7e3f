"""Apply a configuration file: ``python manage.py apply_config screenbridge.yaml [--dry-run]``.

All or nothing, in one transaction: a file with any problem applies nothing and every problem is
printed as ``file:line: message`` (exit status 1). Prints the diff of what changes; ``--dry-run``
prints it and rolls back. Objects absent from the file are left alone unless ``--prune``.
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.config_io import ConfigError, apply_config


class Command(BaseCommand):
    help = "Apply a screenbridge.yaml configuration file (idempotent, validated, audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The YAML file, or - for stdin.")
        parser.add_argument("--dry-run", action="store_true", help="Print the diff and roll back.")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also retire what the file does not list (see docs/configuration.md).",
        )
        parser.add_argument(
            "--actor",
            metavar="USERNAME",
            help="The user responsible (audit trail; required to switch stop switches).",
        )
        parser.add_argument(
            "--go-live-reason",
            metavar="TEXT",
            help="Written reason to take plans live despite failing readiness checks (audited).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if path == "-":
            text, filename = sys.stdin.read(), "<stdin>"
        else:
            try:
                with open(path, encoding="utf-8") as file:
                    text = file.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {path}: {exc}") from exc
            filename = path
        actor = None
        if options["actor"]:
            user_model = get_user_model()
            actor = user_model._default_manager.filter(
                **{user_model.USERNAME_FIELD: options["actor"]}
            ).first()
            if actor is None:
                raise CommandError(f"No user {options['actor']!r}.")
        try:
            result = apply_config(
                text,
                filename=filename,
                dry_run=options["dry_run"],
                prune=options["prune"],
                actor=actor,
                go_live_reason=options["go_live_reason"],
            )
        except ConfigError as exc:
            raise CommandError(f"Nothing applied; {len(exc.problems)} problem(s):\n{exc}") from exc
        for line in result.changes:
            self.stdout.write(line)
        counts = result.counts
        summary = (
            f"{counts['created']} created, {counts['updated']} updated, {counts['pruned']} pruned"
        )
        if result.dry_run:
            self.stdout.write(f"Dry run: {summary}; nothing was saved.")
        elif result.changed:
            self.stdout.write(self.style.SUCCESS(f"Applied: {summary}."))
        else:
            self.stdout.write("No changes: the database already matches the file.")
