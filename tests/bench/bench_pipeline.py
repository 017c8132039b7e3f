"""The whole pipeline with one Celery worker: stage changes → invitations → results → writebacks.

    .venv/bin/python tests/bench/bench_pipeline.py [--short] [--events N] [--rate 50]
        [--concurrency 2]

The app runs under gunicorn on PostgreSQL with a private Redis and ONE Celery worker (prefork;
``--concurrency`` pool processes, by default as many as CPUs, which is Celery's own default)
deployed as docs/operations.md recommends for a single worker: the launch, results and writeback
queues, consumed in that order of priority.
A loopback ATS (tests/ats_server.py) receives the writebacks; a loopback vendor
answers each invitation and, 0.2 s later, posts a signed result to the portal's vendor webhook.
Signed Greenhouse stage changes into the AI interview stage are sent at ``--rate`` per second
(50 by default; 10,000 events; ``--short``: 20 events at ``--rate 10``).

Figures: events/s end to end (first webhook sent → last writeback received by the ATS), and the
p50/p95 latency from a stage-change webhook being sent to the vendor receiving its invitation.
Target (docs/operations.md): p95 under 10 s at 50 events/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _support import BASE_DIR, bench_database_url, figure, percentile, say

FIXTURE = BASE_DIR / "tests" / "fixtures" / "greenhouse" / "candidate_stage_change.json"
VENDOR_SIGNING_KEY = "whsec_c2NyZWVuYnJpZGdlLXRvLXZlbmRvci1rZXktMDE="
GH_SECRET = "bench-pipeline-greenhouse-secret"
QUEUES = {
    "SCREENBRIDGE_LAUNCH_QUEUE": "launch",
    "SCREENBRIDGE_RESULTS_QUEUE": "results",
    "SCREENBRIDGE_WRITEBACK_QUEUE": "writeback",
}


def _setup_django(database_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
    )
    import django

    django.setup()


def _configure(ats: Any, vendor_url: str) -> tuple[Any, Any]:
    """What an admin configures: the Greenhouse connection, mapping, plan, vendor, fields."""
    from integrations.models import CanonicalStage, StageMapping, WritebackKind
    from interviews.models import PlanStatus, ResultField, WritebackFieldMapping
    from tests.ats_server import loopback_connection
    from tests.factories import (
        CompetencyFactory,
        InterviewPlanFactory,
        RoleFamilyFactory,
        VendorFactory,
    )

    connection = loopback_connection(
        ats,
        "greenhouse",
        slug="gh-bench",
        webhook_secret=GH_SECRET,
        settings={"harvest_version": "v1", "http_timeout": [2.0, 10.0]},
    )
    StageMapping.objects.create(
        connection=connection,
        remote_stage_name="AI Interview",
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )
    family = RoleFamilyFactory(slug="support", department_rule="Customer Experience")
    vendor = VendorFactory(slug="bench-vendor", base_url=vendor_url)
    vendor.set_api_key(VENDOR_SIGNING_KEY)
    vendor.save()
    plan = InterviewPlanFactory(role_family=family, vendor=vendor, status=PlanStatus.LIVE)
    CompetencyFactory(plan=plan, key="empathy", name="Empathy")
    CompetencyFactory(plan=plan, key="clarity", name="Clarity")
    for source, key in [(ResultField.BAND, "ai_band"), (ResultField.OVERALL_SCORE, "ai_score")]:
        WritebackFieldMapping.objects.create(
            connection=connection,
            source=source,
            target_kind=WritebackKind.CUSTOM_FIELDS,
            target_key=key,
        )
    return connection, vendor


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _result_delivery(vendor_reference: str, public_id: str) -> tuple[bytes, dict[str, str]]:
    from tests.factories.interviews import DEFAULT_VENDOR_SECRET

    body = json.dumps(
        {
            "type": "interview.completed",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
            "interview": {"id": vendor_reference, "external_id": public_id},
            "result": {
                "score": 86,
                "scale_max": 100,
                "competencies": [{"key": "empathy", "score": 88}, {"key": "clarity", "score": 84}],
                "summary": ["Restated the customer's problem before proposing a refund path."],
                "confidence": 0.9,
                "transcript": {"url": "https://vendor.example/t/1", "word_count": 1500},
            },
        }
    ).encode()
    from integrations.connectors.standard_webhooks import outbound_signing_key, sign

    message_id = f"msg-{public_id}"
    timestamp = int(time.time())
    return body, {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            outbound_signing_key(DEFAULT_VENDOR_SECRET), message_id, timestamp, body
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="20 events")
    parser.add_argument("--events", type=int, help="stage changes to send")
    parser.add_argument("--rate", type=float, default=50.0, help="stage changes per second")
    parser.add_argument("--drain-timeout", type=float, default=None, help="seconds to wait")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 1,
        help="pool processes of the one worker (default: the number of CPUs, as Celery's)",
    )
    args = parser.parse_args()
    events = args.events or (20 if args.short else 10_000)
    if args.short and args.rate == parser.get_default("rate"):
        args.rate = 10.0
    drain_timeout = args.drain_timeout or (45 if args.short else 3600)

    database_url = bench_database_url("pipeline", fresh=True)
    _setup_django(database_url)
    from tests.ats_server import AtsServer, RecordedRequest, Reply
    from tests.processes import CeleryWorker, Gunicorn, RedisServer, migrate

    class BenchWorker(CeleryWorker):
        concurrency = args.concurrency

        def env(self) -> dict[str, str]:
            env = super().env() | QUEUES
            env["CELERY_VISIBILITY_TIMEOUT"] = "3600"
            env["DJANGO_LOG_LEVEL"] = "WARNING"
            return env

    workdir = Path(tempfile.mkdtemp(prefix="sb-bench-pipeline-"))
    say("Migrating the bench database…")
    migrate(dict(os.environ))
    redis = RedisServer(workdir)
    redis.start()
    ats = AtsServer().start()
    vendor_server = AtsServer().start()
    worker = BenchWorker(redis.url, database_url, workdir)
    # The deployment of docs/operations.md for one worker: every queue, launch first.
    worker.queues = (*QUEUES.values(), worker.queue)
    env = (
        dict(os.environ)
        | QUEUES
        | {
            "CELERY_BROKER_URL": redis.url,
            "CELERY_TASK_DEFAULT_QUEUE": worker.queue,
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(BASE_DIR),
        }
    )
    server = Gunicorn(env, workdir, workers=2, threads=4)
    results_pool = ThreadPoolExecutor(max_workers=8)
    invited_at: dict[str, float] = {}
    counter = iter(range(1, 10**9))
    try:
        _connection, vendor = _configure(ats, vendor_server.url)
        server.start()
        worker.start()
        vendor_path = f"/webhooks/vendor/{vendor.slug}/"

        def send_result(reference: str, public_id: str) -> None:
            time.sleep(0.2)
            body, headers = _result_delivery(reference, public_id)
            for _ in range(5):
                if _post(server.port, vendor_path, body, headers) == 200:
                    return
                time.sleep(1)

        def invitation(request: RecordedRequest) -> Reply:
            public_id = request.json["interview_id"]
            invited_at.setdefault(public_id, time.time())
            reference = f"V-{next(counter)}"
            results_pool.submit(send_result, reference, public_id)
            return Reply(
                201, json={"id": reference, "invite_url": f"https://v.example/{reference}"}
            )

        vendor_server.on("POST", "/interviews", invitation)

        template = json.loads(FIXTURE.read_bytes())
        sent_at: dict[str, float] = {}
        refused = 0
        lock = threading.Lock()

        def send(n: int) -> None:
            nonlocal refused
            template_copy = json.loads(json.dumps(template))
            application = template_copy["payload"]["application"]
            application["id"] = 7_000_000 + n
            application["candidate"]["id"] = 8_000_000 + n
            body = json.dumps(template_copy).encode()
            signature = hmac.new(GH_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "Signature": f"sha256 {signature}",
                "Greenhouse-Event-ID": f"bench-{n}",
            }
            with lock:
                sent_at[str(7_000_000 + n)] = time.time()
            if _post(server.port, "/webhooks/ats/gh-bench/", body, headers) != 200:
                with lock:
                    refused += 1

        say(f"Sending {events} stage changes at {args.rate:.0f}/s (one Celery worker)…")
        started = time.time()
        with ThreadPoolExecutor(max_workers=16) as senders:
            for n in range(events):
                delay = started + n / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                senders.submit(send, n)
        sent_in = time.time() - started
        say(f"  sent in {sent_in:.1f} s ({refused} refused); waiting for the writebacks…")

        def writebacks() -> int:
            return len(ats.requests("PATCH", "/v1/applications/{id}"))

        deadline = time.time() + drain_timeout
        last_report = time.time()
        while writebacks() < events and time.time() < deadline:
            time.sleep(0.5)
            if time.time() - last_report > 30:
                say(
                    f"  {len(invited_at)} invitations, {writebacks()} writebacks after "
                    f"{time.time() - started:.0f} s"
                )
                last_report = time.time()
        finished = time.time()
        done = writebacks()
    finally:
        results_pool.shutdown(wait=False, cancel_futures=True)
        worker.stop()
        server.stop()
        vendor_server.stop()
        ats.stop()
        redis.stop()

    from interviews.models import Interview

    latencies = []
    for remote_id, public_id in Interview.objects.values_list(
        "application__remote_id", "public_id"
    ):
        if str(public_id) in invited_at and remote_id in sent_at:
            latencies.append(invited_at[str(public_id)] - sent_at[remote_id])
    duplicates = len(ats.requests("PATCH", "/v1/applications/{id}")) - len(
        {r.path for r in ats.requests("PATCH", "/v1/applications/{id}")}
    )
    figure("pipeline_worker_concurrency", args.concurrency)
    say(
        f"{events} sent, {len(invited_at)} invited, {done} written back "
        f"({duplicates} duplicate writebacks) in {finished - started:.1f} s"
    )
    figure("pipeline_events", events)
    figure("pipeline_send_rate", events / sent_in, "events/s")
    figure("pipeline_end_to_end_rate", done / (finished - started), "events/s")
    figure("pipeline_invite_latency_p50", percentile(latencies, 50), "s")
    figure("pipeline_invite_latency_p95", percentile(latencies, 95), "s")
    complete = done == events and len(latencies) == events and duplicates == 0
    figure("pipeline_complete", "yes" if complete else "NO")
    if not complete:
        say(worker.log()[-3000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
