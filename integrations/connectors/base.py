"""The contract every ATS connector implements.

A connector is three parts that live in ``integrations/connectors/<provider>/``:

- ``webhook.py``: ``verify(connection, headers, body) -> Delivery`` checks the provider's signature
  on the raw bytes (constant-time) and names the delivery; it raises :class:`SignatureError` or
  :class:`MalformedPayloadError` and never touches the database.
- ``mapping.py``: ``normalize(connection, action, payload, *, client) -> list[StageChange]`` turns a
  stored delivery into canonical stage-change facts (an empty list for events that don't move an
  application). It may use ``client`` to fetch what the event lacks (Lever reads the
  opportunity back, since its signature does not cover the body).
- ``client.py``: an :class:`AtsClient` subclass for outbound calls (writebacks and reconcile reads),
  all HTTP through ``integrations.http``.

``integrations.registry`` maps a provider to these modules and imports them lazily.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from integrations.http import AtsPermanentError

if TYPE_CHECKING:
    from integrations.models import AtsConnection, WritebackJob


class SignatureError(Exception):
    """The delivery is not authentic: missing/bad signature or timestamp out of tolerance (401)."""


class MalformedPayloadError(Exception):
    """The delivery is authentic but its body cannot be understood (400)."""


@dataclass(frozen=True)
class Delivery:
    """What verification learns about one webhook delivery before it is stored."""

    delivery_id: str
    action: str
    # Provider timestamp of the event, when the provider sends one (Lever triggeredAt, Ashby
    # application.updatedAt, Standard Webhooks timestamp); None otherwise (Greenhouse).
    occurred_at: dt.datetime | None = None
    # A connectivity check (Ashby "ping"): answered 200 and not stored.
    is_ping: bool = False


@dataclass(frozen=True)
class CandidateData:
    remote_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class RequisitionData:
    remote_id: str
    title: str = ""
    department: str = ""
    location: str = ""
    status: str = "open"  # RequisitionStatus value


@dataclass(frozen=True)
class StageChange:
    """One application observed in one remote stage, in canonical form.

    ``outcome`` carries a terminal state the ATS reports outside its stage list (Greenhouse
    ``status: rejected``, Lever archive, Ashby ``Archived``/``Hired``): "rejected", "hired",
    "withdrawn" or "" — it takes precedence over the stage mapping.
    """

    application_remote_id: str
    candidate: CandidateData
    requisition: RequisitionData
    remote_stage_id: str = ""
    remote_stage_name: str = ""
    outcome: str = ""
    occurred_at: dt.datetime | None = None
    applied_at: dt.datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WritebackOutcome:
    """What the ATS answered to a successful write."""

    status_code: int
    remote_reference: str = ""  # e.g. the created note id


class SandboxWriteRefusedError(AtsPermanentError):
    """A write to the ATS of a sandbox connection: refused before anything is sent."""


def _refuse_in_sandbox(send: Callable[..., WritebackOutcome]) -> Callable[..., WritebackOutcome]:
    @functools.wraps(send)
    def guarded(self: AtsClient, job: WritebackJob) -> WritebackOutcome:
        if self.connection.is_sandbox:
            raise SandboxWriteRefusedError(
                f"{self.connection.slug} is a sandbox connection: nothing is written to its ATS"
            )
        return send(self, job)

    return guarded


class AtsClient:
    """Base of the outbound clients. Subclasses implement the provider's calls.

    Errors are the typed exceptions of ``integrations.http`` (timeouts, 429 with retry-after,
    5xx, auth and other permanent 4xx); the writeback relay decides on retries from them.

    Every subclass's ``send_writeback`` is wrapped so that a **sandbox** connection never
    writes: the outbox already records sandbox jobs without sending, and this is the lowest
    layer's guarantee should any other caller (a shell, a future task) try.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        send = cls.__dict__.get("send_writeback")
        if send is not None:
            cls.send_writeback = _refuse_in_sandbox(send)  # type: ignore[method-assign]

    def __init__(self, connection: AtsConnection) -> None:
        self.connection = connection

    def send_writeback(self, job: WritebackJob) -> WritebackOutcome:
        """Perform one WritebackJob (its ``kind`` and ``payload``) against the ATS."""
        raise NotImplementedError

    def iter_stage_changes(self, *, since: dt.datetime | None) -> Iterator[StageChange]:
        """Page through the ATS's applications updated since ``since`` (reconcile)."""
        raise NotImplementedError

    def stage_name(self, remote_stage_id: str) -> str:
        """Name of a remote stage, for providers whose events carry only ids (Lever)."""
        raise NotImplementedError
