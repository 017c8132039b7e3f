"""The key reference of docs/configuration.md, generated from the sections (a test keeps the
document and the code in step)."""

from __future__ import annotations

import json

from governance.config_io.schema import Section
from governance.config_io.sections import SECTIONS


def _all_sections() -> list[Section]:
    found: list[Section] = []

    def visit(section: Section) -> None:
        found.append(section)
        for child in section.children:
            visit(child)

    for section in SECTIONS:
        visit(section)
    return found


def reference_tables() -> list[str]:
    """One Markdown table per section, in file order."""
    tables = []
    for section in _all_sections():
        rows = [
            f"#### `{section.name}` (each entry: one {section.label})",
            "",
            "| key | type | required | default | meaning |",
            "|---|---|---|---|---|",
        ]
        for key in section.keys:
            required = key.required(section.model)
            default = "" if required else f"`{json.dumps(key.file_default(section.model))}`"
            rows.append(
                f"| `{key.name}` | {key.type_name(section.model)} | "
                f"{'yes' if required else 'no'} | {default} | {key.help} |"
            )
        rows.extend(
            f"| `{child.name}` | list of {child.label} entries | no | `[]` | "
            f"see `{child.name}` below |"
            for child in section.children
        )
        tables.append("\n".join(rows))
    return tables
