"""Each provider's ``mapping.normalize``: webhook bodies → canonical StageChange facts (no DB)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from integrations import registry
from integrations.connectors.base import (
    AtsClient,
    CandidateData,
    MalformedPayloadError,
    RequisitionData,
    StageChange,
)
from integrations.connectors.lever.mapping import PLACEHOLDER_POSTING_ID
from integrations.connectors.payload import REQUISITION_PLACEHOLDER
from integrations.http import AtsPermanentError, AtsServerError, AtsTimeout
from tests.factories import AtsConnectionFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "normalize"

LEVER_TO_STAGE = "7c2690d8-6308-4ed9-ae2a-cbfe7db26593"
LEVER_OPPORTUNITY = "3410c8b9-5c31-4bab-b7e9-9f710206d647"
LEVER_CONTACT = "05c248f9-ccb1-435f-bab5-0ec608aec263"
HIRED_REASON = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def normalize(provider: str, payload: dict[str, Any], *, action: str | None = None, **kw: Any):
    connection = kw.pop("connection", None) or AtsConnectionFactory.build(provider=provider)
    action = action or payload.get("action") or payload.get("event") or payload.get("type")
    client = kw.pop("client", None)
    return registry.mapping_module(provider).normalize(connection, action, payload, client=client)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# -- Greenhouse --------------------------------------------------------------------------------


def test_greenhouse_stage_change_becomes_one_canonical_change():
    [change] = normalize("greenhouse", load("greenhouse_candidate_stage_change"))

    assert change.application_remote_id == "265277"
    assert change.candidate.remote_id == "265772"
    # Escaped unicode in the raw body arrives decoded.
    assert (change.candidate.first_name, change.candidate.last_name) == ("Zoë", "Hurley-Núñez")
    assert change.candidate.email == "zoe.hurley@example.com"  # the first address
    assert change.requisition.remote_id == "3485"
    assert change.requisition.title == "Support Engineer"
    assert change.requisition.department == "Customer Experience"
    assert change.requisition.location == "Lisbon"
    assert change.requisition.status == "open"
    assert (change.remote_stage_id, change.remote_stage_name) == ("71416", "AI Interview")
    assert change.outcome == ""
    assert change.applied_at == utc(2026, 3, 22)


def test_greenhouse_has_no_move_timestamp_so_receipt_order_applies():
    [change] = normalize("greenhouse", load("greenhouse_candidate_stage_change"))

    # last_activity_at moves for other reasons than stage moves: it is not an ordering key.
    assert change.occurred_at is None


@pytest.mark.parametrize(
    ("fixture", "outcome", "stage_name"),
    [
        ("greenhouse_reject_candidate", "rejected", "Phone Screen"),
        ("greenhouse_hire_candidate", "hired", "Offer"),
    ],
)
def test_greenhouse_reject_and_hire_carry_an_outcome(fixture, outcome, stage_name):
    [change] = normalize("greenhouse", load(fixture))

    assert change.outcome == outcome
    assert change.remote_stage_name == stage_name


def test_greenhouse_unreject_clears_the_outcome():
    payload = load("greenhouse_reject_candidate")
    payload["action"] = "unreject_candidate"
    payload["payload"]["application"]["status"] = "active"

    [change] = normalize("greenhouse", payload)

    assert change.outcome == ""
    assert change.remote_stage_id == "71415"


def test_greenhouse_reject_without_a_status_takes_the_outcome_from_the_action():
    payload = load("greenhouse_reject_candidate")
    del payload["payload"]["application"]["status"]

    [change] = normalize("greenhouse", payload)

    assert change.outcome == "rejected"


@pytest.mark.parametrize(
    "action", ["application_updated", "new_candidate_application", "update_candidate", "ping"]
)
def test_greenhouse_events_that_move_no_application_give_nothing(action):
    assert normalize("greenhouse", load("greenhouse_candidate_stage_change"), action=action) == []


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        (("current_stage",), "payload.application.current_stage.id"),
        (("id",), "payload.application.id"),
        (("candidate", "id"), "payload.application.candidate.id"),
        (("jobs",), "payload.application.jobs.0.id"),
    ],
)
def test_greenhouse_missing_required_fields_are_named_in_the_error(remove, field):
    payload = load("greenhouse_candidate_stage_change")
    target = payload["payload"]["application"]
    for key in remove[:-1]:
        target = target[key]
    del target[remove[-1]]

    with pytest.raises(MalformedPayloadError, match=f"missing required field {field}"):
        normalize("greenhouse", payload)


def test_greenhouse_candidate_without_email_addresses_has_an_empty_email():
    payload = load("greenhouse_candidate_stage_change")
    payload["payload"]["application"]["candidate"]["email_addresses"] = []

    [change] = normalize("greenhouse", payload)

    assert change.candidate.email == ""


def test_greenhouse_payload_that_is_not_an_object_is_an_error():
    with pytest.raises(MalformedPayloadError, match=r"payload\.application"):
        normalize("greenhouse", {"action": "candidate_stage_change", "payload": {"application": 7}})


# -- Lever -------------------------------------------------------------------------------------
# With a client, normalize reads the opportunity back from Lever (the body is unsigned); with
# client=None it builds the change from the body alone (see lever/mapping.py).


def lever_api_change(**fields: Any) -> StageChange:
    """What ``Client.opportunity_stage_change`` returns: Lever's current state."""
    values: dict[str, Any] = {
        "application_remote_id": LEVER_OPPORTUNITY,
        "candidate": CandidateData(
            remote_id=LEVER_CONTACT, first_name="Jane", last_name="Doe", email="jane@example.com"
        ),
        "requisition": RequisitionData(remote_id="posting-1", title="Support Engineer"),
        "remote_stage_id": "onsite-stage",
        "remote_stage_name": "Onsite",
        "occurred_at": utc(2026, 4, 10, 9),
    }
    return StageChange(**{**values, **fields})


class FakeLeverReader(AtsClient):
    """Answers one opportunity's state (or raises) and records which ids were read."""

    def __init__(self, answer: StageChange | Exception | None = None) -> None:
        super().__init__(AtsConnectionFactory.build(provider="lever"))
        self.answer = lever_api_change() if answer is None else answer
        self.read: list[str] = []

    def opportunity_stage_change(self, opportunity_id: str) -> StageChange | None:
        self.read.append(opportunity_id)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class NoPosting(FakeLeverReader):
    def opportunity_stage_change(self, opportunity_id: str) -> StageChange | None:
        self.read.append(opportunity_id)
        return None


@pytest.mark.parametrize(
    "fixture", ["lever_candidate_stage_change", "lever_candidate_archive_change"]
)
def test_lever_with_a_client_takes_the_state_from_lever_and_only_the_id_from_the_body(fixture):
    reader = FakeLeverReader()

    [change] = normalize("lever", load(fixture), client=reader)

    # The body named the opportunity; everything else is what Lever answered.
    assert reader.read == [LEVER_OPPORTUNITY]
    assert change == lever_api_change()
    assert REQUISITION_PLACEHOLDER not in change.extra


def test_lever_state_without_an_update_time_is_ordered_by_the_event_time():
    reader = FakeLeverReader(lever_api_change(occurred_at=None))

    [change] = normalize("lever", load("lever_candidate_stage_change"), client=reader)

    assert change.occurred_at == dt.datetime.fromtimestamp(1775752716.072, tz=dt.UTC)


def test_lever_opportunity_without_a_posting_gives_nothing():
    reader = NoPosting()

    assert normalize("lever", load("lever_candidate_stage_change"), client=reader) == []
    assert reader.read == [LEVER_OPPORTUNITY]


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (AtsServerError("HTTP 503 from GET https://api.lever.co/v1/x", status_code=503), True),
        (AtsTimeout("read timeout after 30s: GET https://api.lever.co/v1/x"), True),
        (AtsPermanentError("HTTP 404 from GET https://api.lever.co/v1/x", status_code=404), False),
    ],
)
def test_lever_api_errors_keep_their_type_and_name_the_opportunity(error, hint):
    reader = FakeLeverReader(error)

    with pytest.raises(type(error)) as caught:
        normalize("lever", load("lever_candidate_stage_change"), client=reader)

    message = str(caught.value)
    assert message.startswith(
        f"cannot read Lever opportunity {LEVER_OPPORTUNITY} for this candidateStageChange"
    )
    assert message.endswith(error.message)
    assert ("retry or replay the event once Lever answers" in message) is hint
    assert caught.value.status_code == error.status_code
    assert caught.value.__cause__ is error


def test_lever_client_without_the_opportunity_read_is_a_clear_error():
    class StageNamesOnly(AtsClient):
        pass

    connection = AtsConnectionFactory.build(provider="lever")

    with pytest.raises(TypeError, match="cannot read Lever opportunities"):
        normalize(
            "lever",
            load("lever_candidate_stage_change"),
            connection=connection,
            client=StageNamesOnly(connection),
        )


@pytest.mark.parametrize("event", ["candidateHired", "contactUpdated", "interviewCreated"])
def test_lever_other_events_give_nothing_and_call_no_api(event):
    reader = FakeLeverReader()

    assert (
        normalize("lever", load("lever_candidate_stage_change"), action=event, client=reader) == []
    )
    assert reader.read == []


@pytest.mark.parametrize("client", [None, "reader"])
def test_lever_timestamp_must_be_epoch_milliseconds(client):
    payload = load("lever_candidate_stage_change")
    payload["triggeredAt"] = "yesterday"
    reader = FakeLeverReader() if client else None

    with pytest.raises(MalformedPayloadError, match="triggeredAt"):
        normalize("lever", payload, client=reader)
    assert reader is None or reader.read == []


def test_lever_event_without_an_opportunity_is_an_error_before_any_call():
    payload = load("lever_candidate_stage_change")
    del payload["data"]["opportunityId"]
    reader = FakeLeverReader()

    with pytest.raises(MalformedPayloadError, match=r"data\.opportunityId"):
        normalize("lever", payload, client=reader)
    assert reader.read == []


# Body only (client=None).


def test_lever_body_only_stage_change_is_anchored_on_the_opportunity():
    [change] = normalize("lever", load("lever_candidate_stage_change"), client=None)

    assert change.application_remote_id == LEVER_OPPORTUNITY
    # The contact is the person; the deprecated candidateId is never used.
    assert change.candidate.remote_id == LEVER_CONTACT
    assert "daeaa038-cddb-4d69-9b8c-74b6c23be3f3" not in repr(change)
    # No client, so no stage name.
    assert (change.remote_stage_id, change.remote_stage_name) == (LEVER_TO_STAGE, "")
    assert change.occurred_at == dt.datetime.fromtimestamp(1775752716.072, tz=dt.UTC)
    assert change.occurred_at.tzinfo is not None


def test_lever_body_only_data_missing_from_the_event_is_a_flagged_placeholder():
    [change] = normalize("lever", load("lever_candidate_stage_change"), client=None)

    assert (change.candidate.first_name, change.candidate.email) == ("", "")
    assert change.requisition.remote_id == PLACEHOLDER_POSTING_ID
    assert change.requisition.status == ""
    assert change.extra[REQUISITION_PLACEHOLDER] is True


def test_lever_body_only_stage_change_without_a_target_stage_is_an_error():
    payload = load("lever_candidate_stage_change")
    del payload["data"]["toStageId"]

    with pytest.raises(MalformedPayloadError, match=r"data\.toStageId"):
        normalize("lever", payload, client=None)


def test_lever_body_only_archive_is_a_rejection():
    [change] = normalize("lever", load("lever_candidate_archive_change"), client=None)

    assert change.outcome == "rejected"
    assert (change.remote_stage_id, change.remote_stage_name) == ("", "")
    assert change.application_remote_id == LEVER_OPPORTUNITY


def test_lever_body_only_archive_with_a_configured_hired_reason_is_a_hire():
    connection = AtsConnectionFactory.build(
        provider="lever", settings={"hired_archive_reason_ids": [HIRED_REASON]}
    )

    [change] = normalize(
        "lever", load("lever_candidate_archive_change"), connection=connection, client=None
    )

    assert change.outcome == "hired"


def test_lever_body_only_unarchive_clears_the_outcome():
    payload = load("lever_candidate_archive_change")
    payload["data"]["fromArchived"] = payload["data"]["toArchived"]
    payload["data"]["toArchived"] = None

    [change] = normalize("lever", payload, client=None)

    assert change.outcome == ""


# -- Ashby -------------------------------------------------------------------------------------


def test_ashby_stage_change_is_anchored_on_the_application():
    [change] = normalize("ashby", load("ashby_candidate_stage_change"))

    assert change.application_remote_id == "3ae2b801-19f6-41ef-ad28-214bd731948f"
    assert change.candidate.remote_id == "152fc51a-69f1-4815-b642-2f314ed22975"
    assert (change.candidate.first_name, change.candidate.last_name) == ("Jane", "Marie van Doe")
    assert change.candidate.email == "jane@example.com"
    assert change.requisition.remote_id == "968209bc-521d-4094-9bc1-fd5e56e70b87"
    assert change.requisition.title == "Support Engineer"
    assert change.remote_stage_id == "8c2955af-1318-4800-9343-8828bdedd470"
    assert change.remote_stage_name == "AI Interview"
    assert change.outcome == ""
    assert change.occurred_at == utc(2026, 4, 9, 16, 38, 36)
    assert change.applied_at == utc(2026, 4, 1, 10)


def test_ashby_archived_stage_is_a_rejection():
    [change] = normalize("ashby", load("ashby_application_update_archived"))

    assert change.outcome == "rejected"
    assert change.occurred_at == utc(2026, 4, 12, 8, 5)


def test_ashby_hired_stage_is_a_hire():
    payload = load("ashby_candidate_stage_change")
    payload["data"]["application"]["currentInterviewStage"].update(title="Hired", type="Hired")

    [change] = normalize("ashby", payload)

    assert change.outcome == "hired"


def test_ashby_single_word_name_is_a_first_name():
    payload = load("ashby_candidate_stage_change")
    payload["data"]["application"]["candidate"]["name"] = "Prince"

    [change] = normalize("ashby", payload)

    assert (change.candidate.first_name, change.candidate.last_name) == ("Prince", "")


@pytest.mark.parametrize("action", ["candidateHire", "candidateMerge", "jobUpdate", "ping"])
def test_ashby_other_actions_give_nothing(action):
    assert normalize("ashby", load("ashby_candidate_stage_change"), action=action) == []


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("id", "data.application.id"),
        ("currentInterviewStage", "data.application.currentInterviewStage"),
        ("job", "data.application.job.id"),
    ],
)
def test_ashby_missing_required_fields_are_named_in_the_error(key, field):
    payload = load("ashby_candidate_stage_change")
    del payload["data"]["application"][key]

    with pytest.raises(MalformedPayloadError, match=f"missing required field {field}"):
        normalize("ashby", payload)


# -- generic -----------------------------------------------------------------------------------


def test_generic_event_becomes_one_canonical_change():
    [change] = normalize("generic", load("generic_application_stage_changed"))

    assert change.application_remote_id == "app_8731"
    assert change.candidate == change.candidate.__class__(
        remote_id="cand_5512",
        first_name="Amara",
        last_name="Okafor",
        email="amara.okafor@example.com",
    )
    assert change.requisition.remote_id == "job_204"
    assert change.requisition.location == "Lisbon, Portugal"
    assert (change.remote_stage_id, change.remote_stage_name) == (
        "stage_ai_interview",
        "AI Interview",
    )
    # An offset is kept as the same instant.
    assert change.occurred_at == utc(2026, 4, 9, 14, 38, 36)


def test_generic_stage_by_name_only_is_enough():
    payload = load("generic_application_stage_changed")
    payload["stage"] = {"name": "Phone Screen"}

    [change] = normalize("generic", payload)

    assert (change.remote_stage_id, change.remote_stage_name) == ("", "Phone Screen")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(stage={}), "stage"),
        (lambda p: p.update(stage={"id": "", "name": ""}), "stage.id or stage.name"),
        (lambda p: p.update(outcome="ghosted"), "outcome"),
        (lambda p: p["job"].update(status="paused"), "job.status"),
        (lambda p: p["candidate"].pop("id"), "candidate.id"),
        (lambda p: p.update(occurred_at="last tuesday"), "occurred_at"),
    ],
)
def test_generic_bad_fields_are_clear_errors(mutate, message):
    payload = copy.deepcopy(load("generic_application_stage_changed"))
    mutate(payload)

    with pytest.raises(MalformedPayloadError, match=message):
        normalize("generic", payload)


def test_generic_naive_timestamp_is_read_as_utc():
    payload = load("generic_application_stage_changed")
    payload["occurred_at"] = "2026-04-09T16:38:36"

    [change] = normalize("generic", payload)

    assert change.occurred_at == utc(2026, 4, 9, 16, 38, 36)


def test_generic_other_types_give_nothing():
    assert normalize("generic", load("generic_application_stage_changed"), action="ping") == []
