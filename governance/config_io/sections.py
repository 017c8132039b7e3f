"""The sections of screenbridge.yaml, in the order they are exported and applied.

Each entry of :data:`SECTIONS` is one small handler (a :class:`Section`); adding a model field
to the file is adding one :class:`Key` below (and a docs row).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from governance.config_io.schema import (
    BOOL,
    DECIMAL,
    ENV_SUFFIX,
    INTEGER,
    JSON_LIST,
    JSON_MAP,
    Context,
    Key,
    Kind,
    Section,
    plain,
)
from governance.config_io.yaml_lines import LineList, LineMap
from governance.models import RetentionPolicy, StopScope, StopSwitch
from integrations.models import (
    AtsConnection,
    CredentialsModel,
    StageMapping,
    normalize_stage_name,
)
from interviews.models import (
    Competency,
    InterviewPlan,
    PlanStatus,
    RoleFamily,
    Vendor,
    WritebackFieldMapping,
)

RUNNING = (PlanStatus.PILOT, PlanStatus.LIVE)


def _deactivate(obj: Any) -> dict[str, Any]:
    return {"active": False} if obj.active else {}


def _bands_to_file(value: Any) -> Any:
    """Bands as written in the file: ``name`` before ``min``, in the stored (top-down) order."""
    if not isinstance(value, list):
        return plain(value)
    return [
        {"name": band.get("name"), "min": band.get("min")} if isinstance(band, dict) else band
        for band in value
    ]


BANDS = Kind("list of {name, min}", JSON_LIST.accepts, to_model=plain, to_file=_bands_to_file)


class CredentialsSection(Section):
    """A model with secrets: only environment-variable *names* go into the file.

    A secret stored encrypted in the database (typed into the admin) is never exported: its
    ``*_env`` key gets a placeholder variable name (``SCREENBRIDGE_<KIND>_<SLUG>_<SECRET>``) and
    a comment, so the file applies elsewhere once that variable holds the secret.
    """

    prefix = ""

    def export_value(self, key: Key, obj: models.Model, exporter: Any) -> Any:
        value = key.export(obj)
        secret = key.name.removesuffix(ENV_SUFFIX)
        if key.name.endswith(ENV_SUFFIX) and not value and getattr(obj, f"{secret}_encrypted"):
            slug = re.sub(r"[^A-Z0-9]+", "_", obj.slug.upper())
            value = f"SCREENBRIDGE_{self.prefix}_{slug}_{secret.upper()}"
            exporter.placeholders[value] = f"{self.label} {obj.slug}: {secret}"
        return value


def _secret_keys(model: type[CredentialsModel]) -> list[Key]:
    return [
        Key(
            f"{name}{ENV_SUFFIX}",
            help=f"Name of the environment variable holding the {label} (never the secret).",
        )
        for name, label in model.SECRETS.items()
    ]


class StageMappingSection(Section):
    """Matched by remote stage id, or by normalized name when the id is empty (as the model)."""

    def natural_key(self, values: dict[str, Any]) -> tuple[Any, ...]:
        if values["remote_stage_id"]:
            return ("id", values["remote_stage_id"])
        name = values["remote_stage_name"]
        return ("name", normalize_stage_name(name) if isinstance(name, str) else name)

    def item_label(self, values: dict[str, Any]) -> str:
        return str(values["remote_stage_id"] or values["remote_stage_name"])

    def sort_key(self, values: dict[str, Any]) -> Any:
        return (values["remote_stage_name"], values["remote_stage_id"])


_BAND_REF = re.compile(r"^Band (?:#(\d+)|'([^']*)')")


class PlanSection(Section):
    def report(self, exc: ValidationError, item: LineMap, ctx: Context, path: str) -> None:
        """Band problems on the line of the band they name ("Band #2 ...", "Band 'x' ...")."""
        bands = item.get("bands")
        messages = exc.message_dict.get("band_thresholds", [])
        if not isinstance(bands, LineList) or not messages:
            super().report(exc, item, ctx, path)
            return
        for message in messages:
            line = item.line_of("bands")
            match = _BAND_REF.match(message)
            if match and match.group(1) and int(match.group(1)) <= len(bands):
                line = bands.item_lines[int(match.group(1)) - 1]
            elif match and match.group(2) is not None:
                names = [band.get("name") if isinstance(band, dict) else None for band in bands]
                if match.group(2) in names:
                    line = bands.item_lines[names.index(match.group(2))]
            ctx.problem(line, f"{path}: bands: {message}")
        rest = {k: v for k, v in exc.message_dict.items() if k != "band_thresholds"}
        if rest:
            super().report(ValidationError(rest), item, ctx, path)

    def save(self, obj: Any, created: bool, item: LineMap, ctx: Context, path: str) -> bool:
        was = (
            None
            if created
            else InterviewPlan.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
        )
        if obj.status == PlanStatus.LIVE and was != PlanStatus.LIVE:
            # Live only through the go-live readiness gate: saved as pilot now, taken through
            # interviews.services.golive once the whole file (competencies too) is applied.
            obj.status = PlanStatus.PILOT
            ctx.going_live.append((obj, item.line_of("status"), path))
        if obj.status in RUNNING and obj.activated_at is None:
            obj.activated_at = timezone.now()  # as the admin does
        obj.save()
        return True


class StopSwitchSection(Section):
    """Active stop switches. Switching one on or off goes through ``governance.stop_switch``
    (which flags in-flight interviews and writes its own audit event) and needs ``--actor``."""

    def queryset(self, parent: models.Model | None) -> models.QuerySet:
        return StopSwitch.objects.filter(active=True).select_related("plan__role_family", "vendor")

    def values_of(self, obj: models.Model) -> dict[str, Any]:
        assert isinstance(obj, StopSwitch)  # noqa: S101 - narrows the type
        return {
            "scope": obj.scope,
            "role_family": obj.plan.role_family.slug if obj.plan else None,
            "plan": obj.plan.name if obj.plan else None,
            "vendor": obj.vendor.slug if obj.vendor else None,
            "reason": obj.reason,
        }

    def export_value(self, key: Key, obj: models.Model, exporter: Any) -> Any:
        return self.values_of(obj)[key.name]

    def item_label(self, values: dict[str, Any]) -> str:
        if values["scope"] == StopScope.PLAN:
            return f"plan {values['role_family']}/{values['plan']}"
        if values["scope"] == StopScope.VENDOR:
            return f"vendor {values['vendor']}"
        return str(values["scope"])

    def assign(
        self, obj: Any, item: LineMap, values: dict[str, Any], ctx: Context, path: str
    ) -> bool:
        ok = True
        obj.scope, obj.reason = values["scope"], values["reason"]
        obj.vendor = obj.plan = None
        if values["vendor"] is not None:
            obj.vendor = Vendor.objects.filter(slug=values["vendor"]).first()
            if obj.vendor is None:
                ctx.problem(
                    item.line_of("vendor"), f"{path}: vendor: no vendor {values['vendor']!r}"
                )
                ok = False
        if values["plan"] is not None or values["role_family"] is not None:
            obj.plan = InterviewPlan.objects.filter(
                role_family__slug=values["role_family"], name=values["plan"]
            ).first()
            if obj.plan is None:
                ctx.problem(
                    item.line_of("plan"),
                    f"{path}: plan: no plan {values['plan']!r} "
                    f"in role family {values['role_family']!r}",
                )
                ok = False
        if obj.pk is None and not isinstance(ctx.actor, AbstractBaseUser):
            ctx.problem(
                item.line,
                f"{path}: switching a stop switch on needs --actor USERNAME (who is responsible)",
            )
            ok = False
        return ok

    def full_clean(self, obj: models.Model) -> None:
        obj.full_clean(exclude=["switched_on_by"])

    def save(self, obj: Any, created: bool, item: LineMap, ctx: Context, path: str) -> bool:
        from governance.stop_switch import StopSwitchError, stop_switch_on

        if not created:
            obj.save(update_fields=["reason"])
            return True
        try:
            stop_switch_on(
                scope=obj.scope,
                plan=obj.plan,
                vendor=obj.vendor,
                reason=obj.reason,
                actor=ctx.actor,
            )
        except StopSwitchError as exc:
            ctx.problem(item.line, f"{path}: {exc}")
            return False
        return True

    def prune(self, obj: models.Model, ctx: Context, path: str, line: int) -> None:
        from governance.stop_switch import stop_switch_off

        if not isinstance(ctx.actor, AbstractBaseUser):
            ctx.problem(line, f"{path}: switching it off (--prune) needs --actor USERNAME")
            return
        assert isinstance(obj, StopSwitch)  # noqa: S101 - narrows the type
        stop_switch_off(switch=obj, actor=ctx.actor)
        ctx.counts["pruned"] += 1
        ctx.changes.append(f"- {path} (switched off: not in the file)")


class ConnectionSection(CredentialsSection):
    prefix = "ATS"


class VendorSection(CredentialsSection):
    prefix = "VENDOR"


STAGE_MAPPINGS = StageMappingSection(
    "stage_mappings",
    StageMapping,
    [
        Key("remote_stage_id", help="The ATS's stage id; empty to match by name."),
        Key("remote_stage_name", help="The stage name (matched ignoring case and spaces)."),
        Key("canonical_stage", help="The canonical stage it maps to (not `unmapped`)."),
    ],
    natural_key=("remote_stage_id", "remote_stage_name"),
    label="stage mapping",
    parent_attr="connection",
    prune="delete",
)

FIELD_MAPPINGS = Section(
    "field_mappings",
    WritebackFieldMapping,
    [
        Key("source", help="The result field written back."),
        Key("competency_key", help="For competency_score: the competency's key."),
        Key("target_kind", help="How it is written."),
        Key("target_key", help="The ATS's field id / name_key / JSON key / label."),
        Key("active", BOOL, help="Inactive mappings are kept but not written."),
    ],
    natural_key=("source", "competency_key", "target_kind", "target_key"),
    label="field mapping",
    parent_attr="connection",
    prune="delete",
)

CONNECTIONS = ConnectionSection(
    "connections",
    AtsConnection,
    [
        Key("slug", help="Identifies the connection (webhook URL /webhooks/ats/<slug>/)."),
        Key("name", help="Display name."),
        Key("provider", help="The ATS."),
        Key("base_url", help="API base URL; empty means the provider's default."),
        Key("mode", help="`sandbox` records the writes it would send and sends nothing."),
        Key("active", BOOL, help="An inactive connection refuses webhooks and sends nothing."),
        *_secret_keys(AtsConnection),
        Key("api_client_id", help="OAuth client id (Greenhouse Harvest v3), if used."),
        Key("on_behalf_of", help="ATS user id that writes are attributed to."),
        Key("settings", JSON_MAP, help="Provider-specific options."),
    ],
    natural_key=("slug",),
    label="connection",
    children=(STAGE_MAPPINGS, FIELD_MAPPINGS),
    prune=_deactivate,
)

VENDORS = VendorSection(
    "vendors",
    Vendor,
    [
        Key("slug", help="Identifies the vendor; plans and stop switches refer to it."),
        Key("name", help="Display name."),
        Key("kind", help="The adapter that reaches the vendor."),
        Key("base_url", help="The vendor's API root."),
        Key("active", BOOL, help="Inactive vendors get no invitations."),
        Key("model_version", help="Tool/model version in use; NYC launches need its bias audit."),
        *_secret_keys(Vendor),
        Key("settings", JSON_MAP, help="Adapter-specific options."),
    ],
    natural_key=("slug",),
    label="vendor",
    prune=_deactivate,
)

COMPETENCIES = Section(
    "competencies",
    Competency,
    [
        Key("key", help="Identifies the competency within its plan (a slug)."),
        Key("name", help="Display name."),
        Key("weight", DECIMAL, help="Weight in the overall score (> 0, two decimals)."),
        Key("rubric_anchors", JSON_MAP, help='Level → description, e.g. {"1": ..., "5": ...}.'),
        Key("position", INTEGER, help="Display order (ascending)."),
    ],
    natural_key=("key",),
    label="competency",
    parent_attr="plan",
    sort_key=lambda v: (v["position"], v["key"]),
    prune="delete",
)

PLANS = PlanSection(
    "plans",
    InterviewPlan,
    [
        Key("name", help="Identifies the plan within its role family."),
        Key("trigger_stage", help="Canonical stage that launches the interview."),
        Key("vendor", ref=Vendor, help="Slug of the vendor that runs the interview."),
        Key("vendor_test_id", help="The vendor's id of the test/interview."),
        Key("launch_mode", help="How interviews launch."),
        Key("status", help="Only one pilot or live plan per role family and trigger stage."),
        Key("bands", BANDS, attr="band_thresholds", help="Bands from the top down."),
        Key("borderline_margin", DECIMAL, help="Points around a cut that count as borderline."),
        Key("expiry_days", INTEGER, help="Days before an unanswered invitation expires."),
        Key("reminder_after_hours", INTEGER, help="Hours before a reminder is sent."),
        Key("required_consents", JSON_LIST, help="Consents a candidate must have given."),
        Key("pilot_review_share", DECIMAL, help="Share (0–1) of results reviewed in pilot."),
    ],
    natural_key=("name",),
    label="plan",
    parent_attr="role_family",
    children=(COMPETENCIES,),
    save_first=lambda v: v["status"] not in RUNNING,
    prune=lambda plan: {"status": PlanStatus.PAUSED} if plan.is_running else {},
)

ROLE_FAMILIES = Section(
    "role_families",
    RoleFamily,
    [
        Key("slug", help="Identifies the role family."),
        Key("name", help="Display name."),
        Key("description", help="Free text."),
        Key("department_rule", help="Requisitions in this department join (case-insensitive)."),
        Key("title_pattern", help="Regular expression matched against requisition titles."),
    ],
    natural_key=("slug",),
    label="role family",
    children=(PLANS,),
)

RETENTION_POLICIES = Section(
    "retention_policies",
    RetentionPolicy,
    [
        Key("name", help="Identifies the policy."),
        Key("data_category", help="The data it governs."),
        Key("role_family", ref=RoleFamily, help="Slug of the role family; null for all."),
        Key(
            "jurisdiction",
            help="il, nyc, eu, co; empty for every jurisdiction without a policy of its own.",
        ),
        Key("retention_days", INTEGER, help="Days the data is kept."),
        Key("anchor", help="The event the days count from."),
        Key("action", help="What happens when the time is up."),
        Key("active", BOOL, help="Only active policies run (one per category and scope)."),
        Key("notes", help="Legal basis."),
    ],
    natural_key=("name",),
    label="retention policy",
    save_first=lambda v: not v["active"],
    prune=_deactivate,
)

STOP_SWITCHES = StopSwitchSection(
    "stop_switches",
    StopSwitch,
    [
        Key("scope", help="What the switch stops."),
        Key(
            "role_family",
            attr="plan",
            ref=RoleFamily,
            help="For scope plan: the plan's role family slug.",
        ),
        Key("plan", ref=InterviewPlan, ref_field="name", help="For scope plan: the plan name."),
        Key("vendor", ref=Vendor, help="For scope vendor: the vendor slug."),
        Key("reason", help="Why launches are stopped (required)."),
    ],
    natural_key=("scope", "role_family", "plan", "vendor"),
    label="stop switch",
)

# Export and apply order: what a later section refers to comes first.
SECTIONS: tuple[Section, ...] = (
    VENDORS,
    CONNECTIONS,
    ROLE_FAMILIES,
    RETENTION_POLICIES,
    STOP_SWITCHES,
)
