"""REST API tokens: issue one per user (shown once) and authenticate requests that carry it.

The key is 40 random characters; the database keeps its SHA-256 and its first 8 characters, so a
leaked database, backup or admin page gives nobody a usable key. Issuing a token replaces the
user's previous one (that key stops working at once) and writes an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import audit
from governance.models import ApiToken

__all__ = ["api_token_issue", "api_token_user", "hash_key"]

ACTION_ISSUE = "api_token.issue"
PREFIX_LENGTH = 8
# last_used_at is refreshed at most this often (one write per minute, not per request).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, user: Any, actor: Any = None) -> tuple[ApiToken, str]:
    """Issue a new token for ``user`` (replacing any previous one); returns (token, key).

    The key is returned only here; it cannot be read back later.
    """
    key = secrets.token_urlsafe(30)
    replaced = ApiToken.objects.filter(user=user).delete()[0] > 0
    token = ApiToken.objects.create(
        user=user, key_hash=hash_key(key), key_prefix=key[:PREFIX_LENGTH]
    )
    audit.record(
        actor=actor,
        action=ACTION_ISSUE,
        target=user,
        changes={"key_prefix": token.key_prefix, "replaced_previous": replaced},
    )
    return token, key


def api_token_user(key: str) -> Any | None:
    """The active user a key belongs to, or None."""
    if not key or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
