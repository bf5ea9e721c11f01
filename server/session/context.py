"""The session layer's resources: the store of live sessions and this instance's registry of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.db.database import DATABASE
from server.session.registry import SESSIONS, SessionRegistry
from server.session.store import LiveSessionStore
from server.settings import SETTINGS


async def sessions_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[SESSIONS] = SessionRegistry(
        settings.invite_ttl_s,
        settings.max_participants,
        LiveSessionStore(app[DATABASE]),
        instance=settings.instance_name,
        lease_s=settings.session_lease_s,
    )
    yield
