"""Load YAML keeping the line of every mapping, key and list item; refuse duplicate keys.

PyYAML's ``SafeLoader`` composes the document into nodes that carry their position; instead of
letting it construct plain dicts (which silently keep the last of two equal keys) we walk the
nodes ourselves, construct only the scalars with the safe constructor, and build
:class:`LineMap` / :class:`LineList` containers that remember where each entry was.
"""

from __future__ import annotations

from typing import Any

import yaml

from governance.config_io.errors import ConfigError, Problem


class LineMap(dict[str, Any]):
    """A mapping from the file: ``line`` of the mapping, ``key_lines[key]`` of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from the file: ``line`` of the sequence, ``item_lines[i]`` of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def load(text: str, filename: str) -> Any:
    """The document in ``text``; :class:`ConfigError` for syntax errors and duplicate keys."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(filename, [Problem(line, f"YAML syntax error: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise ConfigError(filename, [Problem(1, f"YAML error: {exc}")]) from exc
    try:
        if node is None:
            raise ConfigError(filename, [Problem(1, "the file is empty")])
        problems: list[Problem] = []
        document = _convert(node, loader, problems, set())
    finally:
        loader.dispose()
    if problems:
        raise ConfigError(filename, problems)
    return document


def _convert(
    node: yaml.Node, loader: yaml.SafeLoader, problems: list[Problem], seen: set[int]
) -> Any:
    if id(node) in seen:
        # An alias (*name) of a mapping or list: refused, so a file cannot nest itself or
        # expand into something huge; each entry is written out in full anyway.
        problems.append(
            Problem(_line(node), "anchors and aliases (&name, *name) are not supported")
        )
        return None
    if not isinstance(node, yaml.ScalarNode):
        seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        mapping = LineMap(_line(node))
        for key_node, value_node in node.value:
            key = (
                loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            )
            if not isinstance(key, str):
                problems.append(Problem(_line(key_node), "keys must be plain words"))
                continue
            if key in mapping:
                problems.append(
                    Problem(
                        _line(key_node),
                        f"duplicate key {key!r} (first on line {mapping.key_lines[key]})",
                    )
                )
                continue
            mapping[key] = _convert(value_node, loader, problems, seen)
            mapping.key_lines[key] = _line(key_node)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        sequence = LineList(_line(node))
        for item_node in node.value:
            sequence.append(_convert(item_node, loader, problems, seen))
            sequence.item_lines.append(_line(item_node))
        return sequence
    return loader.construct_object(node)
