"""Configuration as code: ``manage.py export_config`` and ``manage.py apply_config``.

The file (screenbridge.yaml, documented in docs/configuration.md) holds connections with their
stage and field mappings, vendors, role families with their plans (bands, competencies),
retention policies and active stop switches, all keyed by natural keys (slugs, names, remote
ids). Secrets appear only as environment-variable names.

:func:`apply_config` runs in one transaction: structure and types are checked first (with the
line of each problem), then every item is validated with its model's own ``full_clean`` and
saved; any problem rolls everything back and raises :class:`ConfigError` naming every problem's
file and line. Objects present in the database but absent from the file are left alone unless
``prune=True`` (see docs/configuration.md for what pruning does per section). A run that
changes something records one ``config.apply`` audit event; a no-op records nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import IntegrityError, transaction

from governance import audit
from governance.config_io.errors import ConfigError, Problem
from governance.config_io.schema import Context
from governance.config_io.sections import SECTIONS
from governance.config_io.yaml_lines import LineMap, load

__all__ = ["FORMAT_VERSION", "ApplyResult", "ConfigError", "apply_config", "export_config"]

FORMAT_VERSION = 1
HEADER = (
    "# Screenbridge configuration, written by `manage.py export_config`.\n"
    "# Apply with `manage.py apply_config FILE [--dry-run]`. Keys: docs/configuration.md.\n"
)
PLACEHOLDER_COMMENT = (
    "  # PLACEHOLDER: this secret is stored encrypted in the database and is not exported;"
    " set this variable to the secret before applying"
)
# The audit event lists at most this many diff lines (the counts are always complete).
AUDIT_MAX_CHANGES = 200


@dataclass
class Exporter:
    placeholders: dict[str, str] = field(default_factory=dict)


@dataclass
class ExportResult:
    text: str
    # Placeholder variable name → what it stands for (secrets stored encrypted).
    placeholders: dict[str, str]


@dataclass
class ApplyResult:
    changes: list[str]
    counts: dict[str, int]
    dry_run: bool

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def export_config() -> ExportResult:
    """The configuration as YAML text: deterministic (stable key order, sorted lists)."""
    exporter = Exporter()
    document: dict[str, Any] = {"version": FORMAT_VERSION}
    for section in SECTIONS:
        document[section.name] = section.export(None, exporter)
    text = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100_000
    )
    if exporter.placeholders:
        lines = []
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if name.strip().endswith("_env") and value in exporter.placeholders:
                line += PLACEHOLDER_COMMENT
            lines.append(line)
        text = "\n".join(lines) + "\n"
    return ExportResult(HEADER + text, exporter.placeholders)


def apply_config(
    text: str,
    *,
    filename: str = "screenbridge.yaml",
    dry_run: bool = False,
    prune: bool = False,
    actor: Any = None,
    go_live_reason: str | None = None,
) -> ApplyResult:
    """Apply ``text``; :class:`ConfigError` (nothing applied) if it has any problem.

    A plan the file sets ``live`` (and is not live yet) goes through the go-live readiness
    gate, as on its readiness page: it needs ``actor`` (a hiring-ops admin), and either its
    checklist passes or ``go_live_reason`` is the written, audited override.
    """
    document = load(text, filename)
    ctx = Context(prune=prune, actor=actor, go_live_reason=go_live_reason)
    _check_document(document, ctx)
    try:
        _apply(document, ctx, text=text, filename=filename, dry_run=dry_run)
    except IntegrityError as exc:
        # Someone else changed the same rows meanwhile (e.g. two applies at once).
        raise ConfigError(
            filename, [Problem(1, f"the database changed while applying; run it again ({exc})")]
        ) from exc
    return ApplyResult(changes=ctx.changes, counts=ctx.counts, dry_run=dry_run)


def _apply(document: Any, ctx: Context, *, text: str, filename: str, dry_run: bool) -> None:
    actor, prune = ctx.actor, ctx.prune
    with transaction.atomic():
        if isinstance(document, LineMap):
            for section in SECTIONS:
                section.apply(document.get(section.name), None, ctx, section.name)
            if not ctx.problems:
                _take_live(ctx)
        if ctx.problems:
            transaction.set_rollback(True)
            raise ConfigError(filename, ctx.problems)
        if dry_run:
            transaction.set_rollback(True)
        elif ctx.changes:
            audit.record(
                actor=actor if actor is not None else "system:apply_config",
                action="config.apply",
                object_type="config",
                object_id=hashlib.sha256(text.encode()).hexdigest()[:16],
                object_repr=filename[-300:],
                changes={
                    **ctx.counts,
                    "prune": prune,
                    "diff": ctx.changes[:AUDIT_MAX_CHANGES],
                    "diff_truncated": len(ctx.changes) > AUDIT_MAX_CHANGES,
                },
            )


def _take_live(ctx: Context) -> None:
    """The plans the file takes live, through the same gate as the readiness page."""
    from interviews.services.golive import GoLiveRefusedError, plan_go_live

    for plan, line, path in ctx.going_live:
        if ctx.actor is None:
            ctx.problem(line, f"{path}: status: taking a plan live needs --actor USERNAME")
            continue
        try:
            plan_go_live(plan=plan, actor=ctx.actor, override_reason=ctx.go_live_reason)
        except GoLiveRefusedError as exc:
            ctx.problem(line, f"{path}: status: cannot go live: {exc}")
        else:
            ctx.changes.append(f"~ {path}.status: 'pilot' -> 'live' (go-live gate)")


def _check_document(document: Any, ctx: Context) -> None:
    """Top level: a mapping with ``version: 1`` and known sections; then each section."""
    if not isinstance(document, LineMap):
        ctx.problem(1, "the file must be a mapping of sections (version, connections, ...)")
        return
    known = ["version", *(section.name for section in SECTIONS)]
    for name in document:
        if name not in known:
            ctx.problem(
                document.line_of(name),
                f"unknown section {name!r}; known sections: {', '.join(known)}",
            )
    version = document.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        ctx.problem(
            document.line_of("version"),
            f"version must be {FORMAT_VERSION} (the format this Screenbridge reads), "
            f"got {version!r}",
        )
    for section in SECTIONS:
        section.check(document.get(section.name), document.line_of(section.name), ctx, section.name)
