"""Decisions API: status codes, error bodies, object-level permission, CSRF, the schema."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import AccessRole, AuditEvent, Decision
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from integrations.models import WritebackJob
from interviews.models import InterviewResult, ReviewStatus, ReviewTask
from interviews.services import writeback
from tests.factories import (
    InterviewResultFactory,
    RequisitionAccessFactory,
    ReviewTaskFactory,
    UserFactory,
)
from tests.helpers import ADA_LOVELACE, completed_result

pytestmark = pytest.mark.django_db

REASON_TEXT = "Reference call confirmed escalation skills the interview missed."
# A fixed CSRF secret (32 characters) sent as the cookie and the header alike.
CSRF_SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"


def _result_on(requisition, score="72.00"):
    return completed_result(requisition, candidate=ADA_LOVELACE, score=Decimal(score))


@pytest.fixture
def result(requisition):
    result = _result_on(requisition)
    ReviewTaskFactory(interview=result.interview, result=result)
    return result


def _url(result, name="api:result-decisions"):
    return reverse(name, args=[str(result.interview.public_id)])


def _client(user=None, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


def _post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def _counts():
    return (Decision.objects.count(), AuditEvent.objects.count(), WritebackJob.objects.count())


# -- POST: record a decision -------------------------------------------------------------------


def test_post_follow_recommendation_answers_201_with_the_decision(alice, result) -> None:
    response = _post(_client(alice), _url(result), {"outcome": "advance"})
    assert response.status_code == 201, response.content
    body = response.json()
    decision = Decision.objects.get()
    assert body["id"] == decision.pk
    assert body["outcome"] == "advance"
    assert body["recommended_outcome"] == "advance"
    assert body["is_override"] is False
    assert body["result_version"] == 1
    assert body["decided_by"] == "alice"
    assert body["corrects"] is None
    assert body["corrected_by"] is None
    assert ReviewTask.objects.get().status == ReviewStatus.DONE


def test_post_override_with_reason_commits_decision_audit_and_writeback(alice, result) -> None:
    response = _post(
        _client(alice),
        _url(result),
        {"outcome": "decline", "override_reason": "rubric_mismatch", "override_text": REASON_TEXT},
    )
    assert response.status_code == 201, response.content
    assert response.json()["is_override"] is True
    assert response.json()["override_text"] == REASON_TEXT
    assert _counts() == (1, 1, 1)
    assert AuditEvent.objects.get().action == "decision.override"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"outcome": "decline"}, {"override_reason", "override_text"}),
        ({"outcome": "decline", "override_reason": "other"}, {"override_text"}),
        (
            {"outcome": "decline", "override_reason": "other", "override_text": "too short"},
            {"override_text"},
        ),
        ({"outcome": "decline", "override_text": REASON_TEXT}, {"override_reason"}),
        (
            {"outcome": "decline", "override_reason": "because", "override_text": REASON_TEXT},
            {"override_reason"},
        ),
        ({"outcome": "reject"}, {"outcome"}),
        ({}, {"outcome"}),
        ({"outcome": "advance", "corrects": "x"}, {"corrects"}),
        ({"outcome": "advance", "corrects": 999999}, {"corrects"}),
        ({"outcome": "advance", "corrects": 2**70}, {"corrects"}),
        ({"outcome": "advance", "result_version": 0}, {"result_version"}),
        (
            {"outcome": "decline", "override_reason": "other", "override_text": "a\x00" * 20},
            {"override_text"},
        ),
        (
            {"outcome": "decline", "override_reason": "other", "override_text": "x" * 5001},
            {"override_text"},
        ),
        ({"outcome": ["advance"]}, {"outcome"}),
        (["advance"], {"non_field_errors"}),
    ],
)
def test_post_invalid_fields_answer_422_and_store_nothing(alice, result, body, fields) -> None:
    response = _post(_client(alice), _url(result), body)
    assert response.status_code == 422, response.content
    payload = response.json()
    assert set(payload) == {"errors"}
    assert set(payload["errors"]) == fields
    assert all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        for messages in payload["errors"].values()
    )
    assert _counts() == (0, 0, 0)
    assert ReviewTask.objects.get().status == ReviewStatus.OPEN


def test_post_malformed_json_answers_400(alice, result) -> None:
    response = _client(alice).post(_url(result), data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_post_form_encoded_body_answers_415(alice, result) -> None:
    response = _client(alice).post(_url(result), data={"outcome": "advance"})
    assert response.status_code == 415
    assert "detail" in response.json()
    assert Decision.objects.count() == 0


def test_correction_through_the_api(alice, bob, result) -> None:
    first = _post(_client(alice), _url(result), {"outcome": "advance"}).json()
    second = _post(
        _client(bob),
        _url(result),
        {
            "outcome": "hold",
            "override_reason": "additional_evidence",
            "override_text": "Comparing with two more candidates.",
            "corrects": first["id"],
        },
    )
    assert second.status_code == 201, second.content
    assert second.json()["corrects"] == first["id"]
    listing = _client(alice).get(_url(result)).json()
    assert [d["id"] for d in listing] == [second.json()["id"], first["id"]]
    assert listing[1]["corrected_by"] == second.json()["id"]


def test_post_conflicts_answer_409(alice, result) -> None:
    first = _post(_client(alice), _url(result), {"outcome": "advance"}).json()
    _post(_client(alice), _url(result), {"outcome": "advance", "corrects": first["id"]})
    before = _counts()
    # A second "first" decision, and a correction of a decision already corrected.
    for body in ({"outcome": "advance"}, {"outcome": "advance", "corrects": first["id"]}):
        response = _post(_client(alice), _url(result), body)
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "conflict"
    assert _counts() == before


def test_post_on_a_version_the_reviewer_did_not_read_answers_409(alice, result) -> None:
    InterviewResult.objects.filter(pk=result.pk).update(is_current=False)
    InterviewResultFactory(interview=result.interview, version=2)
    response = _post(_client(alice), _url(result), {"outcome": "advance", "result_version": 1})
    assert response.status_code == 409
    assert response.json()["code"] == "result_not_current"
    assert Decision.objects.count() == 0
    ok = _post(_client(alice), _url(result), {"outcome": "advance", "result_version": 2})
    assert ok.status_code == 201


def test_post_when_the_result_changes_meanwhile_answers_409(alice, result, monkeypatch) -> None:
    from governance import api

    real = api.decision_record

    def newer_version_arrives(**kwargs):
        InterviewResult.objects.filter(pk=kwargs["result"].pk).update(is_current=False)
        return real(**kwargs)

    monkeypatch.setattr(api, "decision_record", newer_version_arrives)
    response = _post(_client(alice), _url(result), {"outcome": "advance"})
    assert response.status_code == 409
    assert response.json()["code"] == "result_not_current"


def test_forced_writeback_failure_through_the_api_stores_nothing(
    alice, result, monkeypatch
) -> None:
    def broken(**kwargs):
        raise RuntimeError("forced failure")

    monkeypatch.setattr(writeback, "result_writeback_enqueue", broken)
    response = _post(
        _client(alice),
        _url(result),
        {"outcome": "decline", "override_reason": "other", "override_text": REASON_TEXT},
    )
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal error; nothing was stored.",
        "code": "server_error",
    }
    assert _counts() == (0, 0, 0)
    assert ReviewTask.objects.get().status == ReviewStatus.OPEN


# -- who may call ------------------------------------------------------------------------------


def test_post_on_someone_elses_result_answers_404_without_leaking(charlie, result) -> None:
    response = _post(_client(charlie), _url(result), {"outcome": "advance"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert _counts() == (0, 0, 0)


@pytest.mark.parametrize("group", [HIRING_MANAGER, AUDITOR, HIRING_OPS_ADMIN])
def test_post_by_a_role_that_sees_but_may_not_decide_answers_403(
    role_groups, requisition, result, group
) -> None:
    user = UserFactory(groups=[group])
    if group == HIRING_MANAGER:
        RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    response = _post(_client(user), _url(result), {"outcome": "advance"})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert "Ada" not in response.content.decode()
    assert "72" not in response.content.decode()
    assert _counts() == (0, 0, 0)


def test_anonymous_answers_401(result) -> None:
    for response in (
        _client().get(_url(result)),
        _post(_client(), _url(result), {"outcome": "advance"}),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("public_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_ids_answer_json_404(alice, public_id) -> None:
    response = _client(alice).get(f"/api/v1/results/{public_id}/decisions/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_api_path_answers_json_404(alice) -> None:
    response = _client(alice).get("/api/nothing/here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_wrong_method_answers_405(alice, result) -> None:
    response = _client(alice).delete(_url(result))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# -- GET: the decision history -----------------------------------------------------------------


def test_get_decisions_lists_every_version_newest_first(alice, result) -> None:
    _post(_client(alice), _url(result), {"outcome": "advance"})
    InterviewResult.objects.filter(pk=result.pk).update(is_current=False)
    InterviewResultFactory(interview=result.interview, version=2, score=Decimal("55.00"))
    _post(_client(alice), _url(result), {"outcome": "hold"})
    body = _client(alice).get(_url(result)).json()
    assert [(d["result_version"], d["outcome"]) for d in body] == [(2, "hold"), (1, "advance")]


@pytest.mark.parametrize("group", [HIRING_MANAGER, AUDITOR])
def test_get_decisions_allowed_for_readers(role_groups, requisition, result, alice, group) -> None:
    _post(_client(alice), _url(result), {"outcome": "advance"})
    user = UserFactory(groups=[group])
    if group == HIRING_MANAGER:
        RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    response = _client(user).get(_url(result))
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_get_decisions_of_someone_elses_result_answers_404(charlie, result) -> None:
    assert _client(charlie).get(_url(result)).status_code == 404


# -- CSRF --------------------------------------------------------------------------------------


def test_session_post_without_csrf_token_is_refused(alice, result) -> None:
    response = _post(_client(alice, csrf=True), _url(result), {"outcome": "advance"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Decision.objects.count() == 0


def test_session_post_with_csrf_token_is_accepted(alice, result) -> None:
    client = _client(alice, csrf=True)
    client.cookies["csrftoken"] = CSRF_SECRET
    response = _post(client, _url(result), {"outcome": "advance"}, HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 201, response.content


def test_session_get_needs_no_csrf_token(alice, result) -> None:
    assert _client(alice, csrf=True).get(_url(result)).status_code == 200


# -- schema ------------------------------------------------------------------------------------


def test_schema_is_openapi_json_for_signed_in_users(alice) -> None:
    response = _client(alice).get(reverse("api:schema"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json") or response[
        "Content-Type"
    ].startswith("application/json")
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    detail = paths["/api/v1/results/{public_id}/"]["get"]
    assert detail["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert set(detail["responses"]) >= {"200", "401", "403", "404"}
    create = paths["/api/v1/results/{public_id}/decisions/"]["post"]
    assert set(create["responses"]) >= {"201", "401", "403", "404", "409", "422"}
    request_schema = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][request_schema.rsplit("/", 1)[1]]
    assert component["required"] == ["outcome"]
    assert "sessionAuth" in schema["components"]["securitySchemes"]


def test_schema_needs_a_signed_in_user() -> None:
    assert _client().get(reverse("api:schema")).status_code == 401


def test_schema_is_valid_openapi_and_generates_without_warnings() -> None:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
