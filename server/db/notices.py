"""Small notices between server instances that share a database, over PostgreSQL's LISTEN/NOTIFY.

A notice is delivered to every instance listening on the channel once the sending transaction commits;
it is never replayed, so it only says "look again" (the state itself is in the tables). With SQLite
there is one instance and nobody to tell: ``publish`` does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from server.db.database import DATABASE

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class Notices:
    """``publish(channel, payload)`` and ``subscribe(channel, listener)``; payloads are short strings."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._dsn: str | None = None
        if url.get_backend_name() == "postgresql":
            self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: Any = None
        self._listeners: dict[str, list[Listener]] = {}
        # One connection does one thing at a time (asyncpg refuses overlapping operations).
        self._lock = asyncio.Lock()

    @property
    def shared(self) -> bool:
        """True when other instances can hear these notices (PostgreSQL)."""
        return self._dsn is not None

    async def start(self) -> None:
        if self._dsn is not None:
            import asyncpg

            self._connection = await asyncpg.connect(self._dsn)

    async def subscribe(self, channel: str, listener: Listener) -> None:
        self._listeners.setdefault(channel, []).append(listener)
        if self._connection is not None and len(self._listeners[channel]) == 1:
            async with self._lock:
                await self._connection.add_listener(channel, self._on_notify)

    def _on_notify(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        for listener in self._listeners.get(channel, []):
            try:
                listener(payload)
            except Exception:
                log.exception("a listener of %s failed", channel)

    async def publish(self, channel: str, payload: str) -> None:
        if self._connection is not None:
            async with self._lock:
                await self._connection.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), timeout=5)
            self._connection = None


NOTICES = web.AppKey("notices", Notices)


async def notices_ctx(app: web.Application) -> AsyncIterator[None]:
    notices = Notices(str(app[DATABASE].engine.url.render_as_string(hide_password=False)))
    await notices.start()
    app[NOTICES] = notices
    yield
    await notices.close()
