"""Problems found in a configuration file, each with the line it is on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    message: str


class ConfigError(Exception):
    """The file has one or more problems; nothing was applied. ``str()`` lists them all as
    ``file:line: message``, one per line, in line order."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = sorted(set(problems))
        super().__init__("\n".join(f"{filename}:{p.line}: {p.message}" for p in self.problems))
