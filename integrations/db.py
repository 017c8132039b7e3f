"""Retrying a transaction that lost to a concurrent one (deadlock or serialization failure).

PostgreSQL resolves a deadlock by aborting one of the transactions (SQLSTATE ``40P01``) and a
serializable conflict the same way (``40001``). The aborted transaction did nothing — it was
rolled back whole — and running it again almost always succeeds, so the processing services
(inbound events, vendor events, the launch on a stage change) run their transaction through
:func:`retry_transient` instead of recording a failure a human would have to retry.

Only a transaction the caller owns can be retried: inside an outer ``atomic`` block the outer
transaction is aborted too, so the error is raised at once for the owner of that block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

# deadlock_detected, serialization_failure
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
# Seconds to wait before each retry: three more tries within a second.
RETRY_DELAYS = (0.05, 0.2, 0.5)


def is_transient_db_error(exc: BaseException) -> bool:
    """True when ``exc`` (or the driver error it wraps) is a deadlock or serialization failure."""
    seen: BaseException | None = exc
    for _ in range(5):  # Django's error wraps the driver's; a short chain is enough
        if seen is None:
            return False
        if getattr(seen, "sqlstate", None) in TRANSIENT_SQLSTATES:
            return True
        seen = seen.__cause__
    return False


def retry_transient[T](work: Callable[[], T], *, what: str, using: str = DEFAULT_DB_ALIAS) -> T:
    """``work()``, run again (at most ``len(RETRY_DELAYS)`` times) after a transient abort.

    ``work`` must be a whole transaction that is safe to repeat after a rollback (every
    caller's work claims or checks its rows first). Any other error, the last transient one,
    and any error inside an outer transaction are raised unchanged.
    """
    for delay in (*RETRY_DELAYS, None):
        try:
            return work()
        except DatabaseError as exc:
            if (
                delay is None
                or not is_transient_db_error(exc)
                or connections[using].in_atomic_block
            ):
                raise
            logger.warning(
                "%s lost to a concurrent transaction (%s); retrying in %.2f s",
                what,
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
