"""Issue a REST API token for a user and print its key once.

    python manage.py create_api_token rita            # refuses if rita already holds a token
    python manage.py create_api_token rita --rotate   # replaces rita's token (the old key dies)

The key goes to standard output alone on its line (for scripts); everything else to standard
error. Only the key's SHA-256 is stored, so it cannot be shown again: rotate to get a new one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from governance.api_tokens import api_token_issue
from governance.models import ApiToken


class Command(BaseCommand):
    help = "Issue a REST API token for a user; the key is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the user's existing token."
        )

    def handle(self, *args: Any, username: str, rotate: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is inactive; a token would not work.")
        existing = ApiToken.objects.filter(user=user).first()
        if existing is not None and not rotate:
            raise CommandError(
                f"{username} already holds a token ({existing.key_prefix}…); "
                "pass --rotate to replace it."
            )
        with transaction.atomic():
            _token, key = api_token_issue(user=user, actor="system:create_api_token")
        verb = "Replaced the token of" if existing else "Issued a token for"
        self.stderr.write(f"{verb} {username}. Copy the key now; it is not shown again:")
        self.stdout.write(key)
