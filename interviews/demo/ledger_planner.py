"""Plan the demo writeback jobs (with their attempt ledgers) and inbound webhook deliveries.

Called by the planner after interviews and results exist in the blueprint; it draws from the
same seeded generator, so it must keep its order of draws to keep the data set stable.
Inbound bodies are signed the way each ATS signs them, with the demo connections' secrets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import uuid
from typing import Any

from django.conf import settings

from integrations.models import InboundEventStatus, WritebackKind, WritebackStatus
from interviews.demo.blueprint import (
    AttemptSpec,
    Blueprint,
    InboundSpec,
    WritebackSpec,
    random_uuid,
)
from interviews.demo.data import CONNECTIONS, GH, LV, WRITEBACK_KEY_NAMESPACE


def plan_ledgers(bp: Blueprint, rng: random.Random, now: dt.datetime) -> None:
    """Add writeback jobs for ten results and nine inbound events, across every status."""
    _writebacks(bp, rng, now)
    _inbound(bp, rng)


def _writebacks(bp: Blueprint, rng: random.Random, now: dt.datetime) -> None:
    done = [i for i in bp.interviews if i.result is not None]
    gh = [i for i in done if i.application.connection == GH]
    lv = [i for i in done if i.application.connection == LV]
    plan = [
        (gh[0], WritebackStatus.SUCCEEDED),
        (gh[1], WritebackStatus.SUCCEEDED),
        (gh[2], WritebackStatus.SUCCEEDED),
        (gh[3], WritebackStatus.SUCCEEDED),
        (gh[4], WritebackStatus.FAILED),
        (gh[5], WritebackStatus.DEAD),
        (gh[6], WritebackStatus.PENDING),
        (lv[0], WritebackStatus.SANDBOXED),
        (lv[1], WritebackStatus.SANDBOXED),
        (lv[2], WritebackStatus.SANDBOXED),
    ]
    for interview, status in plan:
        app, result = interview.application, interview.result
        assert result is not None  # noqa: S101
        created = result.received_at + dt.timedelta(seconds=rng.uniform(2, 30))
        report = f"{settings.SCREENBRIDGE_PUBLIC_URL}/r/{interview.vendor_reference}"
        if app.connection == GH:
            kind = WritebackKind.CUSTOM_FIELDS
            payload: dict[str, Any] = {
                "custom_fields": [
                    {"name_key": "ai_interview_status", "value": "Completed"},
                    {"name_key": "ai_interview_score_band", "value": result.band.title()},
                    {"name_key": "ai_interview_report_url", "value": report},
                ]
            }
        else:
            kind = WritebackKind.NOTE
            band = f"{result.band.title()} ({result.score}/100)"
            lines = [f"AI interview completed — band: {band}"]
            lines += [f"• {bullet}" for bullet in result.bullets]
            lines.append(f"Report: {report}")
            payload = {"value": "\n".join(lines), "secret": False, "notifyFollowers": False}
        # Derived, not drawn: the job's key is stable without changing the generator's draws.
        natural = f"{app.connection}:{app.remote_id}:{kind}:result"
        key = uuid.uuid5(WRITEBACK_KEY_NAMESPACE, natural)
        spec = WritebackSpec(interview, kind, status, payload, created, key)
        first = created + dt.timedelta(seconds=rng.uniform(1, 5))
        if status == WritebackStatus.SUCCEEDED:
            spec.attempts = [AttemptSpec(1, first, 200, rng.randint(180, 900), succeeded=True)]
            spec.completed_at = first + dt.timedelta(seconds=1)
        elif status == WritebackStatus.FAILED:
            retry_at = first + dt.timedelta(seconds=31)
            spec.attempts = [
                AttemptSpec(
                    1, first, 429, 120, False, "HTTP 429 Too Many Requests (Retry-After: 30)"
                ),
                AttemptSpec(2, retry_at, 503, 30012, False, "HTTP 503 Service Unavailable"),
            ]
            spec.last_error = "HTTP 503 Service Unavailable"
            spec.next_attempt_at = now + dt.timedelta(minutes=4)
        elif status == WritebackStatus.DEAD:
            error = (
                "HTTP 422 Unprocessable Entity: custom field 'ai_interview_score_band' has no "
                f"option '{result.band.title()}'"
            )
            spec.attempts = [AttemptSpec(1, first, 422, 340, False, error)]
            spec.last_error = error
            spec.completed_at = first + dt.timedelta(seconds=1)
        elif status == WritebackStatus.PENDING:
            spec.next_attempt_at = now
        else:  # sandbox: recorded only, never sent
            spec.completed_at = created
        bp.writebacks.append(spec)


def _inbound(bp: Blueprint, rng: random.Random) -> None:
    secrets = {c["slug"]: c["webhook_secret"] for c in CONNECTIONS}
    apps = {conn: [a for a in bp.applications if a.connection == conn] for conn in (GH, LV)}
    plan = [
        (GH, InboundEventStatus.PROCESSED),
        (GH, InboundEventStatus.PROCESSED),
        (GH, InboundEventStatus.PROCESSED),
        (GH, InboundEventStatus.PROCESSED),
        (GH, InboundEventStatus.FAILED),
        (GH, InboundEventStatus.STALE),
        (LV, InboundEventStatus.PROCESSED),
        (LV, InboundEventStatus.PROCESSED),
        (LV, InboundEventStatus.FAILED),
    ]
    for index, (conn, status) in enumerate(plan):
        app = apps[conn][index * 7]
        assert app.stage_entered_at is not None  # noqa: S101
        occurred = app.stage_entered_at
        received = occurred + dt.timedelta(seconds=rng.uniform(1, 20))
        secret = secrets[conn].encode()
        if conn == GH:
            action = "candidate_stage_change"
            body = json.dumps(
                {
                    "action": action,
                    "payload": {
                        "application": {
                            "id": int(app.remote_id),
                            "status": "active",
                            "current_stage": {
                                "id": int(app.remote_stage_id),
                                "name": app.remote_stage_name,
                            },
                            "candidate": {"id": int(app.candidate)},
                            "jobs": [{"id": int(app.requisition)}],
                        }
                    },
                }
            )
            digest = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
            delivery = f"gh-{rng.getrandbits(64):016x}"
            headers = {
                "Content-Type": "application/json",
                "Signature": f"sha256 {digest}",
                "Greenhouse-Event-ID": delivery,
            }
        else:
            action = "candidateStageChange"
            delivery = random_uuid(rng)
            token = f"{rng.getrandbits(192):048x}"
            triggered = int(occurred.timestamp() * 1000)
            signature = hmac.new(secret, f"{token}{triggered}".encode(), hashlib.sha256)
            body = json.dumps(
                {
                    "id": delivery,
                    "triggeredAt": triggered,
                    "event": action,
                    "data": {
                        "opportunityId": app.remote_id,
                        "contactId": app.candidate,
                        "toStageId": app.remote_stage_id,
                    },
                    "token": token,
                    "signature": signature.hexdigest(),
                }
            )
            headers = {"Content-Type": "application/json"}
        spec = InboundSpec(conn, delivery, action, body, headers, occurred, received, status, 1)
        if status == InboundEventStatus.FAILED:
            spec.attempts = 3
            spec.error = (
                f"Requisition {app.requisition} is not synced yet (HTTP 404 from the ATS); "
                "will retry."
            )
        else:
            spec.processed_at = received + dt.timedelta(seconds=rng.uniform(0.2, 3))
        bp.inbound.append(spec)
