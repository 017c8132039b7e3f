"""Write the configuration as YAML: ``python manage.py export_config > screenbridge.yaml``.

Secrets are never written: environment-variable names are; a secret stored encrypted in the
database is exported as a placeholder variable name (with a comment, and a warning on stderr).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.config_io import export_config


class Command(BaseCommand):
    help = "Print the configuration (connections, mappings, plans, retention, ...) as YAML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = export_config()
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as file:
                file.write(result.text)
            self.stderr.write(f"Wrote {options['output']}.")
        else:
            self.stdout.write(result.text, ending="")
        for name, what in sorted(result.placeholders.items()):
            self.stderr.write(
                self.style.WARNING(
                    f"{what} is stored encrypted and was not exported; "
                    f"the file refers to ${name} instead: set it before applying."
                )
            )
