from __future__ import annotations

import os

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from integrations import crypto
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    InboundEvent,
    StageMapping,
    normalize_stage_name,
)
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    CandidateFactory,
    InboundEventFactory,
    StageMappingFactory,
)

pytestmark = pytest.mark.django_db


def test_second_application_with_same_connection_and_remote_id_is_refused() -> None:
    first = ApplicationFactory(remote_id="app-1001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            connection=first.connection,
            remote_id="app-1001",
            candidate=first.candidate,
            requisition=first.requisition,
        )
    assert Application.objects.filter(remote_id="app-1001").count() == 1


def test_same_application_remote_id_on_another_connection_is_a_different_record() -> None:
    first = ApplicationFactory(remote_id="app-1001")
    second = ApplicationFactory(remote_id="app-1001")
    assert first.connection_id != second.connection_id
    assert Application.objects.filter(remote_id="app-1001").count() == 2


def test_two_candidates_with_the_same_email_but_different_remote_ids_are_both_kept() -> None:
    connection = AtsConnectionFactory()
    CandidateFactory(connection=connection, remote_id="c-1", email="sam@example.com")
    CandidateFactory(connection=connection, remote_id="c-2", email="sam@example.com")
    assert Candidate.objects.filter(email="sam@example.com").count() == 2


def test_second_candidate_with_same_remote_id_is_refused() -> None:
    candidate = CandidateFactory(remote_id="c-9")
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.create(
            connection=candidate.connection, remote_id="c-9", email="x@example.com"
        )


def test_empty_remote_id_is_refused_by_the_database() -> None:
    connection = AtsConnectionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.create(connection=connection, remote_id="")


def test_status_outside_its_choices_is_refused_by_the_database() -> None:
    event = InboundEventFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundEvent.objects.filter(pk=event.pk).update(status="bogus")


def test_canonical_stage_outside_the_enum_is_refused_by_the_database() -> None:
    application = ApplicationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(canonical_stage="phone_screen")


def test_stage_mapping_is_unique_per_connection_and_remote_stage_id() -> None:
    mapping = StageMappingFactory(remote_stage_id="4001", canonical_stage=CanonicalStage.ONSITE)
    with pytest.raises(IntegrityError), transaction.atomic():
        StageMapping.objects.create(
            connection=mapping.connection,
            remote_stage_id="4001",
            remote_stage_name="Other",
            canonical_stage=CanonicalStage.OFFER,
        )


def test_stage_mapping_by_name_is_unique_ignoring_case_and_whitespace() -> None:
    connection = AtsConnectionFactory()
    StageMapping.objects.create(
        connection=connection, remote_stage_name="Phone Screen", canonical_stage="recruiter_screen"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StageMapping.objects.create(
            connection=connection,
            remote_stage_name="  phone   SCREEN ",
            canonical_stage="recruiter_screen",
        )


def test_stage_cannot_be_mapped_to_unmapped() -> None:
    connection = AtsConnectionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StageMapping.objects.create(
            connection=connection, remote_stage_name="Limbo", canonical_stage="unmapped"
        )


def test_normalize_stage_name_folds_case_and_whitespace() -> None:
    assert normalize_stage_name("  Initial\tCall ") == "initial call"


def test_webhook_secret_is_stored_encrypted_and_never_in_repr() -> None:
    connection = AtsConnectionFactory()
    connection.set_webhook_secret("whsec-plain-value-123")
    connection.save()
    stored = AtsConnection.objects.values_list("webhook_secret_encrypted", flat=True).get(
        pk=connection.pk
    )
    assert "whsec-plain-value-123" not in stored
    assert AtsConnection.objects.get(pk=connection.pk).webhook_secret() == "whsec-plain-value-123"
    assert "whsec" not in repr(connection)
    assert "whsec" not in str(connection)


def test_secret_named_by_environment_variable_wins_over_stored_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection = AtsConnectionFactory(webhook_secret_env="SB_TEST_GH_SECRET")
    connection.set_webhook_secret("stored")
    monkeypatch.setenv("SB_TEST_GH_SECRET", "from-env")
    assert connection.webhook_secret() == "from-env"


def test_missing_environment_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SB_TEST_MISSING", raising=False)
    connection = AtsConnectionFactory(webhook_secret_env="SB_TEST_MISSING")
    with pytest.raises(crypto.SecretUnavailableError, match="SB_TEST_MISSING is not set"):
        connection.webhook_secret()
    assert "SB_TEST_MISSING" not in os.environ


def test_secret_encrypted_under_another_key_is_reported_not_crashed(settings) -> None:
    connection = AtsConnectionFactory()
    connection.set_webhook_secret("value")
    settings.FIELD_ENCRYPTION_KEY = "a-different-key"
    with pytest.raises(crypto.SecretUnavailableError, match="cannot be decrypted"):
        connection.webhook_secret()


def test_environment_variable_name_is_validated() -> None:
    connection = AtsConnectionFactory.build(webhook_secret_env="lower-case name")
    with pytest.raises(ValidationError) as excinfo:
        connection.clean()
    assert "webhook_secret_env" in excinfo.value.message_dict
