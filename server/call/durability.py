"""Sessions that outlive their instance: this instance renews its lease on the sessions it holds, lets go
of a session another instance took over (a PostgreSQL notice says so), ends the sessions whose instance
died and that nobody came back to, and on a clean shutdown hands its sessions back at once.

The load balancer (deploy/haproxy.cfg) decides where a session lives: it sends every socket of one
session to the same instance, and to another one when that instance dies; the instance that receives
the session's socket takes it over from the database (``SessionRegistry.open``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from server.call.context import SIGNALING
from server.call.signaling import Signaling
from server.db.notices import NOTICES
from server.records.context import RECORDS
from server.records.repository import SessionRecords
from server.session.participant import now_utc
from server.session.registry import SESSIONS, SessionRegistry
from server.settings import SETTINGS

log = logging.getLogger(__name__)

CHANNEL = "attune_sessions"
SWEEP_EVERY_S = 5.0


async def _renew_forever(registry: SessionRegistry, signaling: Signaling) -> None:
    while True:
        await asyncio.sleep(registry.lease_s / 3)
        try:
            for session_id in await registry.renew():
                log.info("session %s: another instance holds it now", session_id)
                await signaling.let_go(session_id)
        except Exception:
            log.exception("renewing the session leases failed; trying again")


async def _sweep_forever(
    registry: SessionRegistry, signaling: Signaling, records: SessionRecords, grace_s: float
) -> None:
    # Browsers keep trying to reconnect while no server is there: their grace period starts when this
    # instance can take them back, not when the previous one stopped.
    await asyncio.sleep(grace_s)
    while True:
        try:
            await sweep_once(registry, signaling, records, grace_s)
        except Exception:
            log.exception("sweeping abandoned sessions failed; trying again")
        await asyncio.sleep(SWEEP_EVERY_S)


async def sweep_once(registry: SessionRegistry, signaling: Signaling, records: SessionRecords, grace_s: float) -> int:
    """Ends the live sessions whose instance stopped renewing more than a grace period ago, and completes
    the records of sessions that were cut short before live sessions were stored. Returns how many."""
    if registry.store is None:
        return 0
    now = now_utc()
    ended = 0
    for session_id, last_alive in await registry.store.abandoned(now, timedelta(seconds=grace_s)):
        session = await registry.take_over_to_end(session_id)
        if session is not None:
            log.info("session %s: nobody came back after its instance stopped; ending it", session_id)
            await signaling.end_abandoned(session, last_alive)
            ended += 1
    ended += await records.end_orphans(now - timedelta(seconds=grace_s))
    return ended


def _on_notice(registry: SessionRegistry, signaling: Signaling, payload: str) -> None:
    # "claimed <session id> <instance>": that instance took the session over.
    parts = payload.split()
    if len(parts) == 3 and parts[0] == "claimed" and parts[2] != registry.instance and parts[1] in registry.sessions:
        signaling.spawn(signaling.let_go(parts[1]), name=f"let go {parts[1]}")


async def durability_ctx(app: web.Application) -> AsyncIterator[None]:
    registry, signaling, notices = app[SESSIONS], app[SIGNALING], app[NOTICES]

    async def tell_previous_owner(session_id: str, previous_owner: str) -> None:
        await notices.publish(CHANNEL, f"claimed {session_id} {registry.instance}")

    signaling.on_taken_over = tell_previous_owner
    await notices.subscribe(CHANNEL, lambda payload: _on_notice(registry, signaling, payload))
    grace_s = app[SETTINGS].reconnect_grace_s
    tasks = [
        asyncio.create_task(_renew_forever(registry, signaling), name="session leases"),
        asyncio.create_task(_sweep_forever(registry, signaling, app[RECORDS], grace_s), name="abandoned sessions"),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with contextlib.suppress(Exception):
        await registry.release_all()

