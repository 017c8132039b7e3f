"""Symmetric encryption for credentials kept in the database.

Fernet (from ``cryptography``) gives authenticated encryption; the key is derived from the
``SCREENBRIDGE_FIELD_ENCRYPTION_KEY`` setting so operators can use any strong string.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnavailableError(Exception):
    """A configured secret cannot be read (missing env var or undecryptable value)."""


def _fernet() -> Fernet:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        raise ImproperlyConfigured("SCREENBRIDGE_FIELD_ENCRYPTION_KEY is not set")
    digest = hashlib.sha256(key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnavailableError(
            "stored secret cannot be decrypted with the current encryption key"
        ) from exc
