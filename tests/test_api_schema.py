"""Schema-driven test of the REST API (schemathesis): generated requests against the app itself.

The OpenAPI schema is read from ``/api/schema/`` as a signed-in user would, path parameters are
pinned to ids of a seeded world (plus one that does not exist), so most requests reach real
objects; query strings and bodies are generated from the schema. Every response must be a
non-5xx answer whose status code, content type and body the schema documents.

Runs in-process over WSGI in the test's transaction, for a recruiter (claims, decisions) and a
hiring-ops admin (writeback retries). Bounded: ``EXAMPLES`` per operation, deterministic.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_world import KEYS, ApiWorld, build_api_world

pytestmark = pytest.mark.django_db

EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MISSING_ID = 987654321


@pytest.fixture
def world(settings: Any) -> ApiWorld:
    settings.SCREENBRIDGE_API_THROTTLE_RATE = ""
    return build_api_world()


@contextmanager
def keep_the_test_connection() -> Iterator[None]:
    """Requests through the WSGI handler would close the database connection when they end
    (``close_old_connections``), and with it the test's transaction on PostgreSQL; Django's
    test client unhooks it the same way (and hooks it back after each of its requests, so no
    test-client request may run inside this block)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _path_values(world: ApiWorld, *which: str) -> dict[str, dict[str, list[Any]]]:
    """Per path template: the ids of seeded objects (on both requisitions unless ``which``)."""
    sides = [getattr(world, name) for name in which or ("mine", "theirs")]
    interviews = [str(r.interview.public_id) for s in sides for r in s.results]
    tasks = [t.pk for s in sides for t in s.tasks]
    return {
        "/api/v1/applications/{id}/": {
            "id": [r.interview.application_id for s in sides for r in s.results]
        },
        "/api/v1/interviews/{public_id}/": {"public_id": interviews},
        "/api/v1/results/{public_id}/": {"public_id": interviews},
        "/api/v1/results/{public_id}/decisions/": {"public_id": interviews},
        "/api/v1/review-tasks/{id}/": {"id": tasks},
        "/api/v1/review-tasks/{id}/claim/": {"id": tasks},
        "/api/v1/review-tasks/{id}/release/": {"id": tasks},
        "/api/v1/review-tasks/{id}/decide/": {"id": tasks},
        "/api/v1/decisions/{id}/": {"id": [d.pk for s in sides for d in s.decisions]},
        "/api/v1/writeback-jobs/{id}/": {"id": [j.pk for s in sides for j in s.jobs]},
        "/api/v1/writeback-jobs/{id}/retry/": {"id": [j.pk for s in sides for j in s.jobs]},
    }


def _pinned_schema(raw: dict[str, Any], world: ApiWorld) -> dict[str, Any]:
    schema = copy.deepcopy(raw)
    values = _path_values(world)
    for path, item in schema["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                known = values[path][parameter["name"]]
                unknown = str(uuid.uuid4()) if parameter["name"] == "public_id" else MISSING_ID
                parameter["schema"] = {**parameter["schema"], "enum": [*known, unknown]}
    return schema


def test_every_path_with_a_parameter_gets_real_ids(world: ApiWorld) -> None:
    raw = _schema_json(world, "ada")
    templated = {path for path in raw["paths"] if "{" in path}
    assert templated == set(_path_values(world))


def _schema_json(world: ApiWorld, username: str) -> dict[str, Any]:
    response = Client().get("/api/schema/", **world.auth(username))
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("username", ["rita", "ada"])
def test_the_api_answers_as_its_schema_says(world: ApiWorld, username: str) -> None:
    schema = schemathesis.openapi.from_dict(_pinned_schema(_schema_json(world, username), world))
    app = get_wsgi_application()
    headers = {"Authorization": f"Token {KEYS[username]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    statuses: dict[str, set[int]] = {}

    # One request per read for an object on rita's requisition (visible to rita and ada), so
    # every read is checked on a 200 answer with data, whatever the generator picked.
    visible = {
        path: {name: ids[0] for name, ids in params.items()}
        for path, params in _path_values(world, "mine").items()
    }
    with keep_the_test_connection():
        for operation in operations:
            seen = statuses.setdefault(operation.label, set())
            _exercise(operation, app, headers, seen)
            if operation.method.upper() == "GET" and operation.path in visible:
                case = operation.Case(path_parameters=visible[operation.path])
                response = case.call(app=app, headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)
                seen.add(response.status_code)

    # The seeded world makes the reads answer with data, not only with errors (a recruiter
    # sees no writeback jobs: that one answers 404 for every id).
    no_data = {"GET /api/v1/writeback-jobs/{id}/"} if username == "rita" else set()
    reads = [label for label in statuses if label.startswith("GET") and label not in no_data]
    assert len(reads) >= 10
    assert [label for label in reads if 200 not in statuses[label]] == [], statuses


def _exercise(operation: Any, app: Any, headers: dict[str, str], seen: set[int]) -> None:
    """Up to ``EXAMPLES`` valid and invalid requests to one operation, each response checked."""
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        seen.add(response.status_code)

    run()
