"""The aiohttp application factory: ``create_app(settings)`` wires the layers.

Each long-lived resource is built complete inside its own ``cleanup_ctx`` entry, in layer order, and
released in reverse: database -> notices -> audit log -> live sessions -> accounts -> records -> live
pipeline (ASR pool, cue and video threads, uplinks) -> signaling -> leases on the sessions held here.
Sockets are closed with GOING_AWAY on shutdown, before the rest.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.accounts.http import setup_accounts
from server.accounts.repository import accounts_ctx
from server.call.context import SIGNALING, call_ctx, websocket
from server.call.durability import durability_ctx
from server.call.error_pages import styled_not_found
from server.call.metrics import metrics
from server.call.pages import WEB_DIR, setup_pages
from server.call.return_link import setup_return_link
from server.db.audit import audit_ctx
from server.db.database import database_ctx
from server.db.notices import notices_ctx
from server.http.api import MAX_BODY_BYTES
from server.http.malformed import MAX_REQUEST_LINE_BYTES, quiet_malformed_requests
from server.http.middleware import api_errors, security_headers
from server.http.openapi import add_openapi_route
from server.live.asr import Transcriber
from server.live.engine import TRANSCRIBER, live_ctx
from server.records.context import records_ctx
from server.records.http import setup_records
from server.records.upgrade import upgrade_ctx
from server.session.context import sessions_ctx
from server.settings import SETTINGS, Settings


async def _close_sockets(app: web.Application) -> None:
    if SIGNALING in app:
        await app[SIGNALING].close()


def create_app(
    settings: Settings, *, transcriber: Transcriber | None = None, web_dir: Path = WEB_DIR
) -> web.Application:
    """The whole server. ``transcriber`` replaces the Whisper model (tests and benches)."""
    quiet_malformed_requests()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[security_headers, styled_not_found, api_errors],
        handler_args={"max_line_size": MAX_REQUEST_LINE_BYTES, "max_field_size": MAX_REQUEST_LINE_BYTES},
    )
    app[SETTINGS] = settings
    if transcriber is not None:
        app[TRANSCRIBER] = transcriber
    for ctx in (
        database_ctx, notices_ctx, audit_ctx, sessions_ctx, accounts_ctx, records_ctx, upgrade_ctx, live_ctx, call_ctx,
        durability_ctx,
    ):
        app.cleanup_ctx.append(ctx)
    app.on_shutdown.append(_close_sockets)
    setup_accounts(app)
    setup_records(app, web_dir)
    setup_pages(app, web_dir)
    setup_return_link(app)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/metrics", metrics)
    add_openapi_route(app)
    return app
