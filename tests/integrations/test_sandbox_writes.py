"""The lowest layer: no connector ever writes to the ATS of a sandbox connection."""

from __future__ import annotations

import pytest

from integrations import registry
from integrations.connectors.base import SandboxWriteRefusedError
from integrations.models import ConnectionMode, WritebackKind
from tests.ats_server import AtsServer, loopback_connection
from tests.factories import ApplicationFactory, WritebackJobFactory

pytestmark = pytest.mark.django_db

KIND = {
    "greenhouse": WritebackKind.NOTE,
    "lever": WritebackKind.NOTE,
    "ashby": WritebackKind.NOTE,
    "generic": WritebackKind.GENERIC,
}


@pytest.mark.parametrize("provider", sorted(KIND))
def test_a_sandbox_connection_client_refuses_to_write_and_sends_nothing(
    ats_server: AtsServer, provider: str
) -> None:
    connection = loopback_connection(ats_server, provider)
    job = WritebackJobFactory(
        connection=connection,
        application=ApplicationFactory(connection=connection),
        kind=KIND[provider],
        payload={"body": "Automated interview result"},
    )
    client = registry.client_for(connection)
    # Live: the same job reaches the loopback ATS, so the refusal below is the guard's doing.
    client.send_writeback(job)
    assert ats_server.requests()
    ats_server.reset()

    connection.mode = ConnectionMode.SANDBOX
    connection.save()
    with pytest.raises(SandboxWriteRefusedError, match="sandbox"):
        registry.client_for(connection).send_writeback(job)

    assert ats_server.requests() == []
    assert SandboxWriteRefusedError("x").permanent
