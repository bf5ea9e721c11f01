"""Retention: session records older than ``retention_days`` are hard-deleted, on start and then hourly.

Deletion removes the rows (transcript, cues, notes, consent, participants, the session); the audit log
keeps one ``retention_delete`` entry per session, with no content. Expired logins go in the same sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web

from server.accounts.repository import ACCOUNTS, Accounts
from server.db.audit import AUDIT, Action, AuditLog
from server.records.context import RECORDS
from server.records.repository import SessionRecords
from server.session.participant import now_utc
from server.settings import SETTINGS

log = logging.getLogger(__name__)


async def purge_expired(
    records: SessionRecords, audit: AuditLog, accounts: Accounts, now: datetime, retention_days: float
) -> list[str]:
    """Deletes the sessions created more than ``retention_days`` before ``now``; returns their ids."""
    expired: list[str] = []
    if retention_days > 0:
        expired = await records.sessions_created_before(now - timedelta(days=retention_days))
    if expired:
        await records.delete_sessions(expired)
        for session_id in expired:
            await audit.record(None, Action.RETENTION_DELETE, session_id, f"{retention_days:g} days")
        log.info("retention: deleted %d session record(s) older than %g days", len(expired), retention_days)
    await accounts.delete_expired_logins(now)
    return expired


async def _sweep_forever(app: web.Application) -> None:
    settings = app[SETTINGS]
    while True:
        try:
            await purge_expired(app[RECORDS], app[AUDIT], app[ACCOUNTS], now_utc(), settings.retention_days)
        except Exception:
            log.exception("retention: the purge failed; trying again later")
        await asyncio.sleep(settings.retention_check_interval_s)


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_sweep_forever(app), name="retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
