"""The building blocks of the file format: typed :class:`Key` s and :class:`Section` s.

A :class:`Section` maps one list in the file to one model. It knows its keys, its natural key
(slugs, names, remote ids — never database ids, so files port between databases), its child
sections, how to export a row, how to apply one list item and what ``--prune`` does with a row
the file no longer lists. Validation is the model's own (``full_clean``: choices, lengths,
validators such as the band-threshold check, unique and check constraints); the keys here only
check the YAML types and translate between file values and model values.

To extend a section after a model gains a field, add one :class:`Key` to its ``keys`` in
``governance/config_io/sections.py`` and a row to the table in docs/configuration.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import ProtectedError

from governance.config_io.errors import Problem
from governance.config_io.yaml_lines import LineList, LineMap

# Keys whose value is the name of an environment variable holding a secret.
ENV_SUFFIX = "_env"


def _is_json(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def plain(value: Any) -> Any:
    """A JSON value with dict keys sorted (recursively): stable across SQLite and PostgreSQL."""
    if isinstance(value, dict):
        return {k: plain(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Kind:
    """A value type of the file: what YAML types it accepts and how it maps to the model."""

    name: str
    accepts: Callable[[Any], bool]
    to_model: Callable[[Any], Any] = lambda v: v
    to_file: Callable[[Any], Any] = lambda v: v


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


TEXT = Kind("text", lambda v: isinstance(v, str))
BOOL = Kind("true/false", lambda v: isinstance(v, bool))
INTEGER = Kind("whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
DECIMAL = Kind(
    "number",
    _number,
    to_model=lambda v: Decimal(str(v)),
    to_file=lambda v: float(v) if v is not None else None,
)
JSON_MAP = Kind(
    "mapping",
    lambda v: isinstance(v, dict) and _is_json(v),
    to_model=plain,
    to_file=plain,
)
JSON_LIST = Kind(
    "list", lambda v: isinstance(v, list) and _is_json(v), to_model=plain, to_file=plain
)


@dataclass(frozen=True)
class Key:
    """One key of a list item: ``name`` in the file, ``attr`` on the model (default the same).

    ``ref`` makes it a reference to another model by ``ref_field`` (e.g. a vendor by slug);
    such a key may be ``null`` when the model field is nullable. ``help`` is documentation.
    """

    name: str
    kind: Kind = TEXT
    attr: str = ""
    ref: type[models.Model] | None = None
    ref_field: str = "slug"
    help: str = ""

    @property
    def model_attr(self) -> str:
        return self.attr or self.name

    def model_field(self, model: type[models.Model]) -> models.Field:
        return model._meta.get_field(self.model_attr)

    def required(self, model: type[models.Model]) -> bool:
        f = self.model_field(model)
        return not f.has_default() and not f.blank and not f.null

    def file_default(self, model: type[models.Model]) -> Any:
        f = self.model_field(model)
        if self.ref is not None:
            return None
        return self.kind.to_file(f.get_default()) if f.has_default() else ""

    def accepts(self, value: Any, model: type[models.Model]) -> bool:
        if self.ref is not None:
            return isinstance(value, str) or (value is None and self.model_field(model).null)
        return self.kind.accepts(value)

    def type_name(self, model: type[models.Model]) -> str:
        if self.ref is not None:
            nullable = " or null" if self.model_field(model).null else ""
            return f"{self.ref._meta.verbose_name} {self.ref_field}{nullable}"
        choices = self.model_field(model).choices
        if choices:
            return "one of " + ", ".join(f"`{value}`" for value, _ in choices)
        return self.kind.name

    def export(self, obj: models.Model) -> Any:
        if self.ref is not None:
            related = getattr(obj, self.model_attr)
            return getattr(related, self.ref_field) if related is not None else None
        return self.kind.to_file(getattr(obj, self.model_attr))


@dataclass
class Context:
    """State of one apply run: problems found, changes made, options."""

    prune: bool = False
    actor: Any = None
    problems: list[Problem] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "pruned": 0}
    )
    # Items whose structure is wrong are skipped when applying (ids of their LineMaps).
    broken: set[int] = field(default_factory=set)
    # Plans the file takes live: saved as pilot, then taken through the go-live gate at the end
    # (plan, line of its status, path); ``go_live_reason`` is the audited override, if any.
    going_live: list[tuple[Any, int, str]] = field(default_factory=list)
    go_live_reason: str | None = None

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))


def _field_changes(
    sign: str, path: str, before: dict[str, Any], after: dict[str, Any], note: str = ""
) -> list[str]:
    """Diff lines, one per key whose value differs."""
    return [
        f"{sign} {path}.{name}: {before[name]!r} -> {after[name]!r}{note}"
        for name in after
        if before[name] != after[name]
    ]


class Section:
    """One list of the file mapped to one model (see the module docstring)."""

    def __init__(
        self,
        name: str,
        model: type[models.Model],
        keys: list[Key],
        natural_key: tuple[str, ...],
        *,
        label: str = "",
        parent_attr: str = "",
        children: tuple[Section, ...] = (),
        sort_key: Callable[[dict[str, Any]], Any] | None = None,
        save_first: Callable[[dict[str, Any]], bool] | None = None,
        prune: Callable[[Any], dict[str, Any]] | str | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.keys = keys
        self.natural_key_names = natural_key
        self.label = label or name
        self.parent_attr = parent_attr
        self.children = children
        self._sort_key = sort_key
        self._save_first = save_first
        self.prune_rule = prune

    # -- describing ------------------------------------------------------------------------

    def key_names(self) -> list[str]:
        return [k.name for k in self.keys] + [c.name for c in self.children]

    def natural_key(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.natural_key_names)

    def item_label(self, values: dict[str, Any]) -> str:
        return "/".join(str(part) for part in self.natural_key(values))

    def sort_key(self, values: dict[str, Any]) -> Any:
        if self._sort_key is not None:
            return self._sort_key(values)
        return tuple("" if v is None else str(v) for v in self.natural_key(values))

    # -- export ----------------------------------------------------------------------------

    def queryset(self, parent: models.Model | None) -> models.QuerySet:
        qs = self.model._default_manager.all()
        if self.parent_attr:
            qs = qs.filter(**{self.parent_attr: parent})
        return qs

    def values_of(self, obj: models.Model) -> dict[str, Any]:
        """The file values of a row (without children), as :meth:`export` writes them."""
        return {key.name: key.export(obj) for key in self.keys}

    def export_value(self, key: Key, obj: models.Model, exporter: Any) -> Any:
        return key.export(obj)

    def export(self, parent: models.Model | None, exporter: Any) -> list[dict[str, Any]]:
        rows = []
        for obj in self.queryset(parent):
            values = {key.name: self.export_value(key, obj, exporter) for key in self.keys}
            sort = self.sort_key(self.values_of(obj))
            for child in self.children:
                values[child.name] = child.export(obj, exporter)
            rows.append((sort, values))
        return [values for _, values in sorted(rows, key=lambda row: row[0])]

    # -- checking the structure ------------------------------------------------------------

    def check(self, items: Any, line: int, ctx: Context, where: str) -> None:
        """Check types, keys and duplicates of a list of items (no database access)."""
        if items is None:
            return
        if not isinstance(items, LineList):
            ctx.problem(line, f"{where}: expected a list of {self.label} entries")
            return
        seen: dict[tuple[Any, ...], int] = {}
        for item, item_line in zip(items, items.item_lines, strict=True):
            if not isinstance(item, LineMap):
                ctx.problem(item_line, f"{where}: each {self.label} must be a mapping of keys")
                continue
            values = self.file_values(item)
            path = f"{where}[{self.item_label(values)}]"
            if not self._check_item(item, ctx, path):
                ctx.broken.add(id(item))
                continue
            nk = self.natural_key(values)
            if nk in seen:
                ctx.problem(item.line, f"{path}: listed twice (first on line {seen[nk]})")
                ctx.broken.add(id(item))
            else:
                seen[nk] = item.line
            for child in self.children:
                child.check(
                    item.get(child.name), item.line_of(child.name), ctx, f"{path}.{child.name}"
                )

    def _check_item(self, item: LineMap, ctx: Context, where: str) -> bool:
        ok = True
        known = set(self.key_names())
        for name in item:
            if name not in known:
                ctx.problem(
                    item.line_of(name),
                    f"{where}: unknown key {name!r} in a {self.label}; "
                    f"known keys: {', '.join(self.key_names())}",
                )
                ok = False
        for key in self.keys:
            if key.name not in item:
                if key.required(self.model):
                    ctx.problem(item.line, f"{where}: a {self.label} needs the key {key.name!r}")
                    ok = False
                continue
            value = item[key.name]
            if not key.accepts(value, self.model):
                ctx.problem(
                    item.line_of(key.name),
                    f"{where}: {key.name} must be {key.type_name(self.model)}, "
                    f"got {type(value).__name__} {value!r}",
                )
                ok = False
            elif key.name.endswith(ENV_SUFFIX) and value and not os.environ.get(value):
                ctx.problem(
                    item.line_of(key.name),
                    f"{where}: {key.name}: environment variable {value} is not set "
                    "(set it to the secret before applying)",
                )
        return ok

    def file_values(self, item: LineMap) -> dict[str, Any]:
        """The item's values with defaults for absent keys (file representation)."""
        return {
            key.name: item[key.name] if key.name in item else key.file_default(self.model)
            for key in self.keys
        }

    # -- applying --------------------------------------------------------------------------

    def apply(self, items: Any, parent: models.Model | None, ctx: Context, where: str) -> None:
        existing: dict[tuple[Any, ...], models.Model] = {}
        for obj in self.queryset(parent):
            existing.setdefault(self.natural_key(self.values_of(obj)), obj)
        good = [
            item
            for item in (items or [])
            if isinstance(item, LineMap) and id(item) not in ctx.broken
        ]
        if self._save_first is not None:
            # E.g. plans being paused before others go live, so constraints hold at each step.
            good.sort(key=lambda item: not self._save_first(self.file_values(item)))
        seen = set()
        for item in good:
            values = self.file_values(item)
            nk = self.natural_key(values)
            seen.add(nk)
            path = f"{where}[{self.item_label(values)}]"
            obj = self.apply_item(item, values, existing.get(nk), parent, ctx, path)
            if obj is None:
                continue
            for child in self.children:
                child.apply(item.get(child.name), obj, ctx, f"{path}.{child.name}")
        # A list that is absent from the file is left alone, even with --prune.
        if ctx.prune and items is not None:
            line = items.line if isinstance(items, LineList) else 1
            for nk, obj in existing.items():
                if nk not in seen:
                    label = self.item_label(self.values_of(obj))
                    self.prune(obj, ctx, f"{where}[{label}]", line)

    def apply_item(
        self,
        item: LineMap,
        values: dict[str, Any],
        obj: models.Model | None,
        parent: models.Model | None,
        ctx: Context,
        path: str,
    ) -> models.Model | None:
        """Create or update one row; ``None`` when it has problems (they are in ``ctx``)."""
        before = self.values_of(obj) if obj is not None else None
        if obj is None:
            obj = self.model()
            if self.parent_attr:
                setattr(obj, self.parent_attr, parent)
        if not self.assign(obj, item, values, ctx, path):
            return None
        try:
            self.full_clean(obj)
        except ValidationError as exc:
            self.report(exc, item, ctx, path)
            return None
        after = self.values_of(obj)
        if before == after:
            return obj
        if not self.save(obj, before is None, item, ctx, path):
            return None
        if before is None:
            ctx.counts["created"] += 1
            ctx.changes.append(f"+ {path}")
            ctx.changes.extend(f"    {name}: {value!r}" for name, value in after.items())
        else:
            ctx.counts["updated"] += 1
            ctx.changes.extend(_field_changes("~", path, before, after))
        return obj

    def assign(
        self, obj: models.Model, item: LineMap, values: dict[str, Any], ctx: Context, path: str
    ) -> bool:
        """Set the model attributes from the file values; resolve references."""
        ok = True
        for key in self.keys:
            value = values[key.name]
            if key.ref is not None:
                related = self.resolve(key, value, obj, values)
                if value is not None and related is None:
                    ctx.problem(
                        item.line_of(key.name),
                        f"{path}: {key.name}: no {key.ref._meta.verbose_name} "
                        f"with {key.ref_field} {value!r} (in the file or the database)",
                    )
                    ok = False
                setattr(obj, key.model_attr, related)
            else:
                setattr(obj, key.model_attr, key.kind.to_model(value))
        return ok

    def resolve(self, key: Key, value: Any, obj: models.Model, values: dict[str, Any]) -> Any:
        if value is None or key.ref is None:
            return None
        return key.ref._default_manager.filter(**{key.ref_field: value}).first()

    def full_clean(self, obj: models.Model) -> None:
        obj.full_clean()

    def save(
        self, obj: models.Model, created: bool, item: LineMap, ctx: Context, path: str
    ) -> bool:
        """Save the row; ``False`` (with a problem in ``ctx``) when that is refused."""
        obj.save()
        return True

    def report(self, exc: ValidationError, item: LineMap, ctx: Context, path: str) -> None:
        """Turn a model ValidationError into problems on the lines of the offending keys."""
        by_attr = {key.model_attr: key.name for key in self.keys}
        for attr, messages in exc.message_dict.items():
            name = by_attr.get(attr)
            line = item.line_of(name) if name else item.line
            prefix = f"{path}: {name}: " if name else f"{path}: "
            if attr != NON_FIELD_ERRORS and name is None:
                prefix = f"{path}: {attr}: "
            for message in messages:
                ctx.problem(line, prefix + message)

    def prune(self, obj: models.Model, ctx: Context, path: str, line: int) -> None:
        rule = self.prune_rule
        if rule is None:
            return
        if rule == "delete":
            try:
                obj.delete()
            except ProtectedError:
                ctx.problem(line, f"{path}: cannot be removed (--prune): it is in use")
                return
            ctx.counts["pruned"] += 1
            ctx.changes.append(f"- {path}")
            return
        updates = rule(obj) if callable(rule) else {}
        if not updates:
            return
        before = self.values_of(obj)
        for attr, value in updates.items():
            setattr(obj, attr, value)
        obj.save()
        after = self.values_of(obj)
        ctx.counts["pruned"] += 1
        ctx.changes.extend(_field_changes("-", path, before, after, " (not in the file)"))
