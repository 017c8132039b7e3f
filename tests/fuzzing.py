"""Hypothesis strategies for hostile webhook input, shared by the fuzz suites.

The profile registered here keeps the suites CI-sized and reproducible: derandomized (the same
examples on every run), no example database, no per-example deadline (PostgreSQL round trips
vary on a shared machine). ``HYPOTHESIS_MAX_EXAMPLES`` raises the example count for a longer
local fuzzing run, e.g. ``HYPOTHESIS_MAX_EXAMPLES=2000 .venv/bin/pytest tests -k fuzz``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "screenbridge",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "40")),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
settings.load_profile("screenbridge")
# Properties that go through HTTP and the database take half the examples (CI time).
through_http = settings(max_examples=max(10, settings.default.max_examples // 2))

# Unicode that breaks naive code: right-to-left override, BOM, zero-width joiner, NUL and other
# controls, a combining mark without a base, astral-plane characters, a lone surrogate escape
# (valid JSON, not encodable as UTF-8), homoglyphs of field names.
ODD_STRINGS = [
    "",
    " ",
    "\u202eevil\u202c",
    "\ufeffbom",
    "a\u200db",
    "\x00",
    "nul\x00inside",
    "\x1b[31mred",
    "\u0301",
    "𝕏𝕐ℤ🙂",
    "\ud800",
    "\udfff\ud800",
    "аction",  # Cyrillic а
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%s%n",
    "9" * 400,
    "x" * 5000,
]

odd_text = st.sampled_from(ODD_STRINGS) | st.text(max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | odd_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4)
    ),
    max_leaves=12,
)


def deep(depth: int, *, kind: str = "list") -> str:
    """JSON nested ``depth`` levels deep (past Python's recursion limit for large depths)."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# Raw bodies that are not what any sender produces: broken, huge, deep, wrong encodings.
HOSTILE_RAW_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b"12345",
    b"{",
    b'{"action": }',
    b"\xff\xfe{\x00}\x00",  # UTF-16 with BOM
    b'{"action": "x\xc3"}',  # truncated UTF-8
    b"NaN",
    b'{"action": NaN, "payload": Infinity}',
    b'{"action": "a", "action": "b"}',
    b'{"action": "\\ud800"}',
    b'{"action": "\\u0000"}',
    b'{"type": "\\u0000", "action": "\\u0000"}',
    deep(50_000).encode(),
    deep(50_000, kind="object").encode(),
    b'{"action": "' + b"x" * 1_000_000 + b'"}',  # just under 1 MiB
    b'{"action": "' + b"x" * 1_100_000 + b'"}',  # over 1 MiB
    b'{"payload": ' + b"1" * 100_000 + b"}",  # a 100,000-digit integer
]


def with_fields(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with top-level fields replaced by hostile values (wrong types, odd unicode)."""
    return {**base, **overrides}


def hostile_objects(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose well-known ``keys`` hold any JSON value, plus arbitrary extra keys."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(keys, json_values)) | st.dictionaries(
        odd_text, json_values, max_size=5
    )


def dumps(value: Any) -> bytes:
    """JSON as senders produce it (ASCII-escaped, so lone surrogates survive as escapes)."""
    return json.dumps(value).encode()
