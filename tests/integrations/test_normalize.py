"""Each provider's ``mapping.normalize``: webhook bodies → canonical StageChange facts (no DB)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from integrations import registry
from integrations.connectors.base import AtsClient, MalformedPayloadError
from integrations.connectors.lever.mapping import PLACEHOLDER_POSTING_ID
from integrations.connectors.payload import REQUISITION_PLACEHOLDER
from tests.factories import AtsConnectionFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "normalize"

LEVER_TO_STAGE = "7c2690d8-6308-4ed9-ae2a-cbfe7db26593"
HIRED_REASON = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeLeverClient(AtsClient):
    """Answers stage names from a dict and records which ids were asked for."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__(AtsConnectionFactory.build(provider="lever"))
        self.names = names
        self.asked: list[str] = []

    def stage_name(self, remote_stage_id: str) -> str:
        self.asked.append(remote_stage_id)
        return self.names[remote_stage_id]


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


def test_lever_stage_change_is_anchored_on_the_opportunity_and_named_by_the_client():
    client = FakeLeverClient({LEVER_TO_STAGE: "AI Interview"})

    [change] = normalize("lever", load("lever_candidate_stage_change"), client=client)

    assert change.application_remote_id == "3410c8b9-5c31-4bab-b7e9-9f710206d647"
    # The contact is the person; the deprecated candidateId is never used.
    assert change.candidate.remote_id == "05c248f9-ccb1-435f-bab5-0ec608aec263"
    assert "daeaa038-cddb-4d69-9b8c-74b6c23be3f3" not in repr(change)
    assert (change.remote_stage_id, change.remote_stage_name) == (LEVER_TO_STAGE, "AI Interview")
    assert client.asked == [LEVER_TO_STAGE]
    assert change.occurred_at == dt.datetime.fromtimestamp(1775752716.072, tz=dt.UTC)
    assert change.occurred_at.tzinfo is not None


def test_lever_data_missing_from_the_event_is_a_flagged_placeholder():
    client = FakeLeverClient({LEVER_TO_STAGE: "AI Interview"})

    [change] = normalize("lever", load("lever_candidate_stage_change"), client=client)

    assert (change.candidate.first_name, change.candidate.email) == ("", "")
    assert change.requisition.remote_id == PLACEHOLDER_POSTING_ID
    assert change.requisition.status == ""
    assert change.extra[REQUISITION_PLACEHOLDER] is True


def test_lever_without_a_client_keeps_the_stage_id_only():
    [change] = normalize("lever", load("lever_candidate_stage_change"), client=None)

    assert (change.remote_stage_id, change.remote_stage_name) == (LEVER_TO_STAGE, "")


def test_lever_stage_change_without_a_target_stage_is_an_error():
    payload = load("lever_candidate_stage_change")
    del payload["data"]["toStageId"]

    with pytest.raises(MalformedPayloadError, match=r"data\.toStageId"):
        normalize("lever", payload, client=FakeLeverClient({}))


def test_lever_archive_is_a_rejection():
    [change] = normalize("lever", load("lever_candidate_archive_change"), client=None)

    assert change.outcome == "rejected"
    assert (change.remote_stage_id, change.remote_stage_name) == ("", "")
    assert change.application_remote_id == "3410c8b9-5c31-4bab-b7e9-9f710206d647"


def test_lever_archive_with_a_configured_hired_reason_is_a_hire():
    connection = AtsConnectionFactory.build(
        provider="lever", settings={"hired_archive_reason_ids": [HIRED_REASON]}
    )

    [change] = normalize(
        "lever", load("lever_candidate_archive_change"), connection=connection, client=None
    )

    assert change.outcome == "hired"


def test_lever_unarchive_clears_the_outcome():
    payload = load("lever_candidate_archive_change")
    payload["data"]["fromArchived"] = payload["data"]["toArchived"]
    payload["data"]["toArchived"] = None

    [change] = normalize("lever", payload, client=None)

    assert change.outcome == ""


@pytest.mark.parametrize("event", ["candidateHired", "contactUpdated", "interviewCreated"])
def test_lever_other_events_give_nothing_and_call_no_api(event):
    client = FakeLeverClient({})

    assert (
        normalize("lever", load("lever_candidate_stage_change"), action=event, client=client) == []
    )
    assert client.asked == []


def test_lever_timestamp_must_be_epoch_milliseconds():
    payload = load("lever_candidate_stage_change")
    payload["triggeredAt"] = "yesterday"

    with pytest.raises(MalformedPayloadError, match="triggeredAt"):
        normalize("lever", payload, client=FakeLeverClient({LEVER_TO_STAGE: "x"}))


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
