"""Fault suite: what the portal does when its dependencies fail, each outcome asserted.

Every case asserts the three things an operator needs: nothing lost, nothing duplicated, and a
visible error while it lasts. Cases already covered elsewhere (docs/operations.md lists them):

- Redis stopped during webhook traffic: tests/integrations/test_worker_e2e.py
  (``test_webhooks_arriving_while_the_broker_is_down_are_processed_once_it_is_back``);
- a worker SIGKILLed mid-writeback: tests/integrations/test_outbox_e2e.py
  (``test_a_worker_killed_mid_send_is_resent_once_with_the_same_idempotency_key``) and mid
  inbound processing: test_worker_e2e.py;
- a vendor result for an unknown interview: tests/interviews/test_vendor_webhooks.py
  (``test_an_unknown_interview_is_stored_then_fails_visibly``,
  ``test_a_failed_unknown_interview_event_succeeds_once_retried``);
- Standard Webhooks clock skew: tests/integrations/test_signatures.py
  (``test_generic_refuses_timestamps_outside_five_minutes``, ``..._accepts_..._within_...``),
  test_webhooks.py (``test_generic_delivery_with_a_stale_timestamp_is_401``, counted as a
  signature failure) and test_vendor_webhooks.py (``test_a_stale_or_future_delivery_is_401``).

Here: PostgreSQL restarted under webhook traffic (a private cluster served by gunicorn), and an
ATS answering 429, 500 and timeouts for many minutes (simulated: the relay runs with a pinned
clock, as beat would run it every 30 s; the ATS fails for real on every call).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from integrations.middleware import DatabaseUnavailableMiddleware
from integrations.models import WritebackJob, WritebackKind, WritebackStatus
from integrations.services.outbox import writeback_enqueue, writeback_relay, writeback_retry
from tests.ats_server import AtsServer, RecordedRequest, Reply, loopback_connection
from tests.factories import ApplicationFactory, UserFactory
from tests.integrations.test_signatures import fixture_body, greenhouse_headers
from tests.processes import (
    BASE_DIR,
    Gunicorn,
    PostgresCluster,
    RedisServer,
    migrate,
    wait_for,
)

# -- PostgreSQL restarted during webhook traffic -------------------------------------------------

SECRET = "fault-suite-greenhouse-secret"
CREATE_CONNECTION = f"""
from integrations.middleware import DatabaseUnavailableMiddleware
from integrations.models import AtsConnection
connection = AtsConnection(slug="gh-fault", name="Greenhouse (fault suite)", provider="greenhouse")
connection.set_webhook_secret({SECRET!r})
connection.save()
"""


def _app_env(database_url: str, broker_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_CONN_MAX_AGE": "60",  # persistent connections, as in production
        }
    )
    return env


def _delivery(n: int) -> tuple[bytes, dict[str, str]]:
    payload = json.loads(fixture_body("greenhouse", "candidate_stage_change"))
    payload["payload"]["application"]["id"] = 900000 + n
    body = json.dumps(payload).encode()
    return body, greenhouse_headers(body, secret=SECRET, event_id=f"evt-pg-{n}")


class Sender:
    """Greenhouse's side: sends each delivery until it gets a 200 (a retry repeats the id)."""

    def __init__(self, port: int, *, pause_after: int | None = None) -> None:
        self.port = port
        self.answers: list[tuple[int, int, str | None]] = []  # (delivery, status, Retry-After)
        self.stop = threading.Event()
        # After ``pause_after`` accepted deliveries, wait for ``resume`` (so that traffic is
        # still flowing once the test has taken the database away, however fast the app is).
        self.pause_after = pause_after
        self.resume = threading.Event()

    def send(self, n: int) -> int:
        body, headers = _delivery(n)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("POST", "/webhooks/ats/gh-fault/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            self.answers.append((n, response.status, response.getheader("Retry-After")))
            return response.status
        except OSError:
            self.answers.append((n, 0, None))  # connection refused/reset: also retried
            return 0
        finally:
            conn.close()

    def run(self, count: int) -> None:
        for n in range(count):
            if n == self.pause_after:
                self.resume.wait(timeout=60)
            while self.send(n) != 200:
                time.sleep(0.05)


def test_a_postgresql_restart_under_webhook_traffic_loses_and_duplicates_nothing(
    private_postgres: PostgresCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    private_postgres.sql("CREATE DATABASE screenbridge_fault")
    database_url = private_postgres.url("screenbridge_fault")
    env = _app_env(database_url, redis_server.url)
    migrate(env)
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_CONNECTION],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    server = Gunicorn(env, tmp_path, workers=2, threads=2)
    server.start()
    try:
        sender = Sender(server.port, pause_after=10)
        count = 60
        thread = threading.Thread(target=sender.run, args=(count,), daemon=True)
        thread.start()
        wait_for(lambda: len(sender.answers) >= 10, what="traffic to flow")
        # The database goes away for a moment, then comes back (a restart, a failover).
        private_postgres.stop()
        sender.resume.set()
        wait_for(
            lambda: any(status != 200 for _, status, _ in sender.answers[-3:]),
            timeout=20,
            what="a refusal while PostgreSQL is down",
        )
        time.sleep(1)
        private_postgres.start()
        thread.join(timeout=90)
        assert not thread.is_alive(), "the sender never got every delivery accepted"
    finally:
        server.stop()

    statuses = {status for _, status, _ in sender.answers}
    # While the database was down the sender was told to come back later, with a Retry-After;
    # never a 500 (Greenhouse would keep retrying either way, but a 5xx page pages no one).
    refused = [(status, retry) for _, status, retry in sender.answers if status != 200]
    assert refused, "PostgreSQL was down but no delivery was refused"
    assert statuses <= {200, 503}, sender.answers
    assert all(retry for _, retry in refused)
    assert "Internal Server Error" not in server.log()
    # Nothing lost, nothing duplicated: one stored event per delivery.
    rows = private_postgres.sql(
        "SELECT delivery_id, count(*) FROM integrations_inboundevent GROUP BY delivery_id",
        dbname="screenbridge_fault",
    ).splitlines()
    assert sorted(row.split("|")[0] for row in rows) == sorted(f"evt-pg-{n}" for n in range(count))
    assert all(row.endswith("|1") for row in rows)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/webhooks/ats/gh-x/", "application/json"), ("/", "text/plain; charset=utf-8")],
)
def test_an_unreachable_database_is_503_with_retry_after_never_500(
    client: Client, monkeypatch: pytest.MonkeyPatch, path: str, content_type: str
) -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    client.force_login(UserFactory())
    # Every query (the atomic request's BEGIN, the view's lookups) finds the server gone.
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
    response = client.post(path, data=b"{}", content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response["Content-Type"] == content_type


def test_other_errors_are_not_disguised_as_an_outage() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    request = RequestFactory().post("/webhooks/ats/x/")
    assert middleware.process_exception(request, IntegrityError("duplicate")) is None
    assert middleware.process_exception(request, ValueError("bug")) is None
    assert middleware.process_exception(request, InterfaceError("closed")).status_code == 503


# -- an ATS failing for minutes ------------------------------------------------------------------

GH_V3_PATCH = "/v3/applications/{id}"
OUTAGE = dt.timedelta(minutes=20)
RELAY_EVERY = dt.timedelta(seconds=30)  # the beat schedule of relay_writebacks


@pytest.mark.django_db
def test_an_ats_answering_429_500_and_timeouts_for_minutes_gets_every_write_exactly_once(
    ats_server: AtsServer,
) -> None:
    cache.clear()  # OAuth tokens are cached per connection id
    random.seed(20261129)  # the backoff jitter, so the schedule is the same on every run
    down = threading.Event()
    down.set()
    failures = iter(range(1_000_000))

    def ats(request: RecordedRequest) -> Reply:
        if not down.is_set():
            return Reply(200, json={})
        kind = next(failures) % 3
        if kind == 0:
            return Reply.rate_limited(retry_after=60)
        if kind == 1:
            return Reply.server_error(500)
        return Reply.slow(1.0, json={})  # longer than the 0.2 s read timeout

    greenhouse = loopback_connection(
        ats_server, "greenhouse", slug="gh-outage", settings={"http_timeout": [1.0, 0.2]}
    )
    generic = loopback_connection(
        ats_server, "generic", slug="generic-outage", settings={"http_timeout": [1.0, 0.2]}
    )
    ats_server.on("PATCH", GH_V3_PATCH, ats)
    ats_server.on("POST", "/writebacks", ats)
    jobs = [
        writeback_enqueue(
            connection=greenhouse,
            application=ApplicationFactory(connection=greenhouse),
            kind=WritebackKind.CUSTOM_FIELDS,
            payload={"custom_fields": {"ai_interview_band": "proceed"}},
        )
        for _ in range(3)
    ] + [
        writeback_enqueue(
            connection=generic,
            application=ApplicationFactory(connection=generic),
            kind=WritebackKind.GENERIC,
            payload={"band": "strong"},
        )
        for _ in range(3)
    ]

    start = timezone.now()
    moment = start
    while moment < start + OUTAGE:
        writeback_relay(now=moment)
        moment += RELAY_EVERY

    def writes() -> list[RecordedRequest]:
        return ats_server.requests("PATCH", GH_V3_PATCH) + ats_server.requests(
            "POST", "/writebacks"
        )

    sent_during_outage = len(writes())
    for job in jobs:
        job.refresh_from_db()
        # Visible: every job says what the ATS answered; none was silently dropped.
        assert job.status in (WritebackStatus.FAILED, WritebackStatus.DEAD), job.status
        assert any(word in job.last_error for word in ("429", "500", "timeout")), job.last_error
        assert job.attempts <= job.max_attempts
        assert job.attempt_log.count() == job.attempts
        assert not job.attempt_log.filter(succeeded=True).exists()
    # Bounded: backoff (and Retry-After) keeps the relay from hammering a failing ATS.
    assert sent_during_outage <= sum(job.max_attempts for job in jobs)
    assert sent_during_outage >= len(jobs)

    # The ATS recovers; an operator retries whatever went dead (one action on the sync page).
    down.clear()
    writeback_retry(job_ids=[job.pk for job in jobs])
    for _ in range(240):  # two more simulated hours of relay runs at most
        writeback_relay(now=moment)
        moment += RELAY_EVERY
        if not WritebackJob.objects.exclude(status=WritebackStatus.SUCCEEDED).exists():
            break
    for job in jobs:
        job.refresh_from_db()
        assert job.status == WritebackStatus.SUCCEEDED, (job.status, job.last_error)
        # Exactly once: one successful attempt per job.
        assert job.attempt_log.filter(succeeded=True).count() == 1
    # The ATS saw one successful write per job, and the generic ATS one idempotency key per job.
    successes = len(writes()) - sent_during_outage
    assert successes == len(jobs)
    for job in jobs[3:]:
        keys = {
            r.header("webhook-id")
            for r in ats_server.requests("POST", "/writebacks")
            if r.json["application_id"] == job.application.remote_id
        }
        assert keys == {str(job.idempotency_key)}
