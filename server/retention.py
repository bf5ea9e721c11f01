"""Retention: session records older than ``retention_days`` are hard-deleted, on start and then hourly.

Deletion removes the rows (transcript, cues, notes, consent, participants, the session); the audit log
keeps one ``retention_delete`` entry per session, with no content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from aiohttp import web

from server import audit, keys
from server.sessions import now_utc
from server.store import Store

log = logging.getLogger(__name__)


async def purge_expired(store: Store, now: datetime, retention_days: float) -> list[str]:
    """Deletes the sessions created more than ``retention_days`` before ``now``; returns their ids."""
    if retention_days <= 0:
        return []
    expired = await store.sessions_created_before(now - timedelta(days=retention_days))
    if expired:
        await store.delete_sessions(expired)
        for session_id in expired:
            await audit.record(store, None, audit.Action.RETENTION_DELETE, session_id, f"{retention_days:g} days")
        log.info("retention: deleted %d session record(s) older than %g days", len(expired), retention_days)
    await store.delete_expired_logins(now)
    return expired


async def _loop(app: web.Application) -> None:
    settings = app[keys.settings]
    while True:
        try:
            await purge_expired(app[keys.store], now_utc(), settings.retention_days)
        except Exception:
            log.exception("retention: the purge failed; trying again later")
        await asyncio.sleep(settings.retention_check_interval_s)


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(app), name="retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
