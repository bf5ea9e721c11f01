"""The aiohttp application factory: ``create_app(settings)``.

Long-lived resources (database, ASR pool, video worker, peers) are owned by ``cleanup_ctx`` entries and
released in reverse order on shutdown; sockets are closed with GOING_AWAY first.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from server import keys
from server.crypto import FieldCipher, load_or_create_key
from server.live import LiveAnalysis
from server.metrics import make_registry
from server.pages import WEB_DIR, Templates, add_routes
from server.records import Recorder
from server.review import setup_records
from server.sessions import Participant, Session, SessionRegistry
from server.settings import Settings
from server.signaling import Signaling
from server.store import Store, migrate
from server.uplink import UplinkManager

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Links carry tokens: never leak them to another site through the Referer header.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    if request.path.startswith(("/host/", "/join/", "/api/")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = await asyncio.to_thread(load_or_create_key, settings.data_dir, os.environ.get("ATTUNE_DATA_KEY"))
    await asyncio.to_thread(migrate, settings.resolved_database_url)
    store = Store.open(settings.resolved_database_url, FieldCipher(key))
    app[keys.store] = store
    app[keys.recorder].store = store
    yield
    await store.close()


async def media_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings]
    # One worker: video analysis must never compete with Whisper for more than a core.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video")
    app[keys.video_executor] = executor
    live = app[keys.live]
    live.video_executor = executor

    def consumers(session: Session, participant: Participant):  # type: ignore[no-untyped-def]
        return live.consumers(session, participant)

    def on_uplink_state(session: Session, participant: Participant, state: str, reason: str | None) -> None:
        event = {"kind": "uplink_state", "participant_id": participant.id, "state": state}
        if reason:
            event["reason"] = reason
        session.send_to_counselors(event)

    uplinks = UplinkManager(settings.ice_servers, settings.uplink_audio_queue_chunks, executor, consumers,
                            on_uplink_state)
    app[keys.uplinks] = uplinks
    app[keys.signaling] = Signaling(settings, app[keys.sessions], uplinks, app[keys.recorder], live)
    yield
    await uplinks.close_all()
    await app[keys.sessions].close()
    executor.shutdown(wait=True, cancel_futures=True)


async def close_sockets(app: web.Application) -> None:
    await app[keys.signaling].close_all()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[keys.signaling].handle(request)


def create_app(
    settings: Settings, *, live: LiveAnalysis | None = None, web_dir: Path = WEB_DIR
) -> web.Application:
    app = web.Application(client_max_size=64 * 1024, middlewares=[security_headers])
    app[keys.settings] = settings
    sessions = SessionRegistry(settings)
    app[keys.sessions] = sessions
    app[keys.templates] = Templates(web_dir)
    recorder = Recorder(None)
    app[keys.recorder] = recorder
    app[keys.live] = live if live is not None else LiveAnalysis(settings, recorder)
    app[keys.metrics_registry] = make_registry(sessions, app[keys.live].metrics)
    app.cleanup_ctx.append(storage_ctx)
    app.cleanup_ctx.append(app[keys.live].cleanup_ctx)
    app.cleanup_ctx.append(media_ctx)
    app.on_shutdown.append(close_sockets)
    app.router.add_get("/ws", websocket)
    add_routes(app, web_dir)
    setup_records(app, web_dir)
    return app
