"""Celery tasks of the governance app: thin wrappers around the retention and data-request
services. Both are safe to run twice (receipts and requests record what is already done)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="governance.purge_expired", ignore_result=True)
def purge_expired_task() -> dict[str, int]:
    """The daily retention run: purge what is past its policy, retry vendor deletions, and
    finish candidate data requests still waiting for their vendor."""
    from governance.data_requests import data_requests_resume
    from governance.retention import purge_expired

    outcomes = purge_expired()
    return {
        "purged": sum(outcome.count for outcome in outcomes),
        "requests_completed": data_requests_resume(),
    }


@shared_task(name="governance.data_request_erase", ignore_result=True)
def data_request_erase_task(request_id: int) -> None:
    """Erase one candidate data request (governance.data_requests)."""
    from governance.data_requests import data_request_erase

    data_request_erase(request_id=request_id)
