"""Symmetric encryption for credentials kept in the database.

Fernet (from ``cryptography``) gives authenticated encryption; the key is derived from the
``SCREENBRIDGE_FIELD_ENCRYPTION_KEY`` setting so operators can use any strong string.

Decryption is memoised per process, keyed by (key, token): every webhook delivery reads its
connection's secret, and a Fernet decrypt (HMAC check + AES) per request is wasted work for a
value that cannot change — a rotated secret is a new token (Fernet tokens carry a random IV),
so it is never served from the cache, and neither is a token under another key. Failures are
not cached. The plaintexts held are the few connection/vendor secrets the process uses anyway.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnavailableError(Exception):
    """A configured secret cannot be read (missing env var or undecryptable value)."""


DECRYPT_CACHE_SIZE = 256  # distinct secrets a process keeps decrypted (a handful in practice)


def _key() -> str:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        raise ImproperlyConfigured("SCREENBRIDGE_FIELD_ENCRYPTION_KEY is not set")
    return key


@functools.lru_cache(maxsize=8)
def _fernet_for(key: str) -> Fernet:
    digest = hashlib.sha256(key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext: str) -> str:
    return _fernet_for(_key()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _decrypt(_key(), token)


@functools.lru_cache(maxsize=DECRYPT_CACHE_SIZE)
def _decrypt(key: str, token: str) -> str:
    try:
        return _fernet_for(key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnavailableError(
            "stored secret cannot be decrypted with the current encryption key"
        ) from exc
