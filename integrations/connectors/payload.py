"""Small readers for webhook payloads, shared by the providers' ``mapping.normalize``.

Every reader takes the parsed body and a dotted path ("payload.application.jobs.0.id") and either
returns a clean Python value or raises :class:`MalformedPayloadError` naming the path, so a stored
delivery that cannot be understood ends ``failed`` with an error an operator can act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils.dateparse import parse_datetime

from integrations.connectors.base import MalformedPayloadError

# ``StageChange.extra`` key: the requisition is a stand-in because the event does not name one
# (Lever stage events carry no posting). The sync never re-points an existing application to it.
REQUISITION_PLACEHOLDER = "requisition_placeholder"


def dig(data: Any, path: str) -> Any:
    """The value at ``path`` (dict keys and list indexes), or None when any step is missing."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def require(data: Any, path: str) -> Any:
    """The value at ``path``; missing, null or empty is an error."""
    value = dig(data, path)
    if value is None or value == "" or value == [] or value == {}:
        raise MalformedPayloadError(f"missing required field {path}")
    return value


def require_object(data: Any, path: str) -> Mapping[str, Any]:
    value = require(data, path)
    if not isinstance(value, Mapping):
        raise MalformedPayloadError(f"field {path} should be an object, got {type(value).__name__}")
    return value


def remote_id(data: Any, path: str) -> str:
    """A required identifier; ATSs use integers (Greenhouse) or strings (UUIDs): always a str."""
    value = require(data, path)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayloadError(f"field {path} should be an id, got {type(value).__name__}")
    text_value = str(value).strip()
    if not text_value:
        raise MalformedPayloadError(f"missing required field {path}")
    return text_value


def text(data: Any, path: str) -> str:
    """An optional string (numbers are accepted as ids often are); "" when missing."""
    value = dig(data, path)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayloadError(f"field {path} should be a string, got {type(value).__name__}")
    return str(value).strip()


def iso_datetime(data: Any, path: str, *, required: bool = False) -> dt.datetime | None:
    """An ISO-8601 timestamp as an aware datetime (naive values are read as UTC)."""
    value = require(data, path) if required else dig(data, path)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayloadError(f"field {path} should be an ISO-8601 string")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise MalformedPayloadError(f"field {path} is not an ISO-8601 timestamp: {value[:40]!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def epoch_ms_datetime(data: Any, path: str, *, required: bool = False) -> dt.datetime | None:
    """A Unix timestamp in milliseconds (Lever) as an aware UTC datetime."""
    value = require(data, path) if required else dig(data, path)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayloadError(f"field {path} should be epoch milliseconds")
    try:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayloadError(f"field {path} is out of range: {value!r}") from None
