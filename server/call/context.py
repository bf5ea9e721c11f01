"""The call layer's resources: the signaling endpoint and the metrics registry, built once the live
pipeline exists; shutdown closes every socket before the layers below go."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.call.metrics import METRICS_REGISTRY, make_registry
from server.call.pages import base_url
from server.call.signaling import Signaling
from server.live.engine import LIVE, UPLINKS
from server.records.context import RECORDER
from server.session.registry import SESSIONS
from server.settings import SETTINGS

SIGNALING = web.AppKey("signaling", Signaling)


async def call_ctx(app: web.Application) -> AsyncIterator[None]:
    live = app[LIVE]
    signaling = Signaling(app[SETTINGS], app[SESSIONS], app[UPLINKS], app[RECORDER], live, base_url)
    app[SIGNALING] = signaling
    app[METRICS_REGISTRY] = make_registry(app[SESSIONS], app[UPLINKS], live.metrics)
    yield
    await signaling.close()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[SIGNALING].handle(request)
