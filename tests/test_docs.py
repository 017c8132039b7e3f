"""The README's environment-variable table and .env.example name every variable the settings
read, so an operator never meets an undocumented knob."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(r'env(?:\.[a-z]+)?\(\s*"([A-Z][A-Z0-9_]+)"')


def _read_by_settings() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names.update(READ.findall(path.read_text()))
    return names


def test_settings_read_some_variables() -> None:
    assert {"DATABASE_URL", "SCREENBRIDGE_GO_LIVE_MIN_PILOT"} <= _read_by_settings()


def test_every_variable_is_in_the_readme_and_env_example() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    missing = {
        name: [
            doc for doc, text in (("README", readme), (".env.example", example)) if name not in text
        ]
        for name in sorted(_read_by_settings())
    }
    assert {name: docs for name, docs in missing.items() if docs} == {}
