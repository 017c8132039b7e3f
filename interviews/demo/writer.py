"""Write the demo blueprint: users, connections, plans and requisitions, then the activity.

Every step inserts only the rows whose natural key (slug, remote id, username...) is missing and
reports how many it created, so a second run creates nothing. Rows that existed are never
changed: the seed does not overwrite what someone edited in the demo since.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from governance import roles
from governance.models import (
    AccessRole,
    DataCategory,
    LegalHold,
    RequisitionAccess,
    RetentionAction,
    RetentionPolicy,
)
from integrations.models import (
    AtsConnection,
    Candidate,
    Requisition,
    StageMapping,
    normalize_stage_name,
)
from interviews.demo.activity_writer import write_applications, write_interviews, write_ledgers
from interviews.demo.blueprint import Blueprint
from interviews.demo.data import (
    CONNECTIONS,
    DEMO_PASSWORD,
    FAMILIES,
    LV,
    REMOTE_STAGES,
    REQUISITIONS,
    USERS,
    VENDOR,
    C,
)
from interviews.demo.store import Tally, ensure
from interviews.models import (
    Competency,
    InterviewPlan,
    MembershipSource,
    RoleFamily,
    RoleFamilyMembership,
    Vendor,
    VendorKind,
)


def write_demo(bp: Blueprint, *, now: dt.datetime, tally: Tally) -> None:
    """Insert every missing demo row; call inside one transaction."""
    users = write_users(tally)
    connections = write_connections(tally)
    write_stage_mappings(tally, connections, bp)
    write_vendors(tally)
    families, plans, competencies = write_families(tally, now)
    requisitions = write_requisitions(tally, connections, families, users, bp)
    candidates, applications = write_applications(tally, connections, requisitions, bp)
    write_interviews(tally, plans, competencies, applications, users, bp)
    write_ledgers(tally, connections, applications, bp)
    write_governance(tally, candidates, users, bp, now)


def write_vendors(tally: Tally) -> dict[str, Vendor]:
    """The demo's interview vendor and the rehearsal vendor for sandbox runs."""
    wanted = [
        (VENDOR, "Demo interview vendor", VendorKind.GENERIC_HTTP, "https://vendor.example/api"),
        ("rehearsal", "Rehearsal vendor (sandbox)", VendorKind.REHEARSAL, ""),
    ]
    created = 0
    vendors = {}
    for slug, name, kind, base_url in wanted:
        vendor, was_created = Vendor.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "base_url": base_url}
        )
        created += was_created
        vendors[slug] = vendor
    tally.report("vendors", created, len(wanted))
    return vendors


def write_users(tally: Tally) -> dict[str, User]:
    # Groups normally come from a data migration; a flushed database lacks them (and their
    # permissions), so recreate both.
    present = Group.objects.filter(name__in=roles.ALL_ROLES).count()
    roles.sync_role_groups()
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
    tally.report("role groups", len(groups) - present, len(groups))

    users: dict[str, User] = {}
    created_users = 0
    password_hash: str | None = None
    for username, first, last, role, is_staff in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            # Hash once: PBKDF2 is deliberately slow and every demo user shares the password.
            password_hash = password_hash or make_password(DEMO_PASSWORD)
            user = User.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@screenbridge.example",
                is_staff=is_staff,
                password=password_hash,
            )
            created_users += 1
        user.groups.add(groups[role])
        users[username] = user
    tally.report("users", created_users, len(USERS))
    return users


def write_connections(tally: Tally) -> dict[str, AtsConnection]:
    existing = {
        c.slug: c for c in AtsConnection.objects.filter(slug__in=[s["slug"] for s in CONNECTIONS])
    }
    created = 0
    for spec in CONNECTIONS:
        if spec["slug"] in existing:
            continue
        connection = AtsConnection(
            slug=spec["slug"],
            name=spec["name"],
            provider=spec["provider"],
            mode=spec["mode"],
            on_behalf_of=spec["on_behalf_of"],
        )
        # Encrypted before the insert: the row is written once, complete.
        connection.set_webhook_secret(spec["webhook_secret"])
        connection.save(force_insert=True)
        existing[spec["slug"]] = connection
        created += 1
    tally.report("ATS connections", created, len(CONNECTIONS))
    return {spec["slug"]: existing[spec["slug"]] for spec in CONNECTIONS}


def write_stage_mappings(
    tally: Tally, connections: dict[str, AtsConnection], bp: Blueprint
) -> None:
    rows = []
    for slug, stages in REMOTE_STAGES.items():
        for name, canonical in stages:
            if canonical is None:
                continue
            rows.append(
                StageMapping(
                    connection=connections[slug],
                    remote_stage_id=bp.lever_stage_ids[name] if slug == LV else "",
                    remote_stage_name=name,
                    # bulk_create skips save(), which normally fills this in.
                    normalized_name=normalize_stage_name(name),
                    canonical_stage=canonical,
                )
            )
    ensure(
        tally,
        "stage mappings",
        StageMapping.objects.filter(connection__in=connections.values()),
        rows,
        lambda m: (m.connection_id, m.remote_stage_id, m.normalized_name),
    )


def write_families(
    tally: Tally, now: dt.datetime
) -> tuple[dict[str, RoleFamily], dict[str, InterviewPlan], dict[tuple[str, str], Competency]]:
    families = ensure(
        tally,
        "role families",
        RoleFamily.objects.all(),
        [
            RoleFamily(
                slug=f["slug"],
                name=f["name"],
                description=f["description"],
                department_rule=f["department_rule"],
                title_pattern=f["title_pattern"],
            )
            for f in FAMILIES
        ],
        lambda f: (f.slug,),
    )
    by_slug = {slug: family for (slug,), family in families.items()}
    plan_rows = []
    for f in FAMILIES:
        p = dict(f["plan"])
        days_ago = p.pop("activated_days_ago")
        plan_rows.append(
            InterviewPlan(
                role_family=by_slug[f["slug"]],
                trigger_stage=C.AUTOMATED_INTERVIEW,
                vendor=Vendor.objects.get(slug=VENDOR),
                activated_at=None if days_ago is None else now - dt.timedelta(days=days_ago),
                **p,
            )
        )
    plans = ensure(
        tally,
        "interview plans",
        InterviewPlan.objects.filter(role_family__in=by_slug.values()),
        plan_rows,
        lambda p: (p.role_family_id, p.name),
    )
    plan_by_family = {p.role_family.slug: p for p in plans.values()}
    competency_rows = [
        Competency(
            plan=plan_by_family[f["slug"]],
            key=key,
            name=name,
            weight=Decimal(weight),
            rubric_anchors=anchors,
            position=position,
        )
        for f in FAMILIES
        for position, (key, name, weight, anchors) in enumerate(f["competencies"])
    ]
    competencies = ensure(
        tally,
        "competencies",
        Competency.objects.filter(plan__in=plan_by_family.values()),
        competency_rows,
        lambda c: (c.plan_id, c.key),
    )
    slug_by_plan = {p.pk: slug for slug, p in plan_by_family.items()}
    by_key = {(slug_by_plan[c.plan_id], c.key): c for c in competencies.values()}
    return by_slug, plan_by_family, by_key


def write_requisitions(
    tally: Tally,
    connections: dict[str, AtsConnection],
    families: dict[str, RoleFamily],
    users: dict[str, User],
    bp: Blueprint,
) -> dict[tuple[str, str], Requisition]:
    rows = [
        Requisition(
            connection=connections[conn],
            remote_id=bp.requisition_ids[index],
            title=title,
            department=department,
            location=location,
            status=status,
        )
        for index, (conn, _, title, department, location, _, status, *_) in enumerate(REQUISITIONS)
    ]
    saved = ensure(
        tally,
        "requisitions",
        Requisition.objects.filter(connection__in=connections.values()),
        rows,
        lambda r: (r.connection_id, r.remote_id),
    )
    slug_by_pk = {c.pk: slug for slug, c in connections.items()}
    by_remote = {(slug_by_pk[k[0]], str(k[1])): r for k, r in saved.items()}
    memberships, grants = [], []
    for index, (conn, _, _, _, _, family, _, _, recruiter, with_manager) in enumerate(REQUISITIONS):
        requisition = by_remote[(conn, bp.requisition_ids[index])]
        memberships.append(
            RoleFamilyMembership(
                requisition=requisition,
                role_family=families[family],
                # Half matched by the department rule, half assigned by an admin.
                source=MembershipSource.RULE if index % 2 else MembershipSource.MANUAL,
            )
        )
        grants.append(
            RequisitionAccess(
                user=users[recruiter], requisition=requisition, role=AccessRole.RECRUITER
            )
        )
        if with_manager:
            grants.append(
                RequisitionAccess(
                    user=users["hank"],
                    requisition=requisition,
                    role=AccessRole.HIRING_MANAGER,
                )
            )
    requisitions = list(by_remote.values())
    ensure(
        tally,
        "role family members",
        RoleFamilyMembership.objects.filter(requisition__in=requisitions),
        memberships,
        lambda m: (m.requisition_id,),
    )
    ensure(
        tally,
        "requisition access",
        RequisitionAccess.objects.filter(requisition__in=requisitions),
        grants,
        lambda g: (g.user_id, g.requisition_id, g.role),
    )
    return by_remote


def write_governance(
    tally: Tally,
    candidates: dict[tuple[str, str], Candidate],
    users: dict[str, User],
    bp: Blueprint,
    now: dt.datetime,
) -> None:
    ensure(
        tally,
        "retention policies",
        RetentionPolicy.objects.filter(role_family__isnull=True, active=True),
        [
            RetentionPolicy(
                name="Transcripts: one year",
                data_category=DataCategory.TRANSCRIPT,
                retention_days=365,
                action=RetentionAction.DELETE,
                notes="Kept for one hiring cycle plus adverse-impact review; then deleted.",
            ),
            RetentionPolicy(
                name="Raw vendor payloads: 90 days",
                data_category=DataCategory.RAW_VENDOR_PAYLOAD,
                retention_days=90,
                action=RetentionAction.DELETE,
                notes="Only needed to debug result normalisation.",
            ),
        ],
        lambda p: (p.data_category,),
    )
    candidate = candidates[bp.legal_hold_candidate]
    ensure(
        tally,
        "legal holds",
        LegalHold.objects.filter(candidate=candidate),
        [
            LegalHold(
                reason="EEOC charge 2026-0417: preserve all screening records for this candidate.",
                candidate=candidate,
                placed_by=users["ada"],
                placed_at=now,
            )
        ],
        lambda h: (h.candidate_id, h.reason),
    )
