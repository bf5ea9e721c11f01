"""Typed application keys: all server state lives on the app under these, none in module globals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

from server.records import Recorder
from server.sessions import SessionRegistry
from server.settings import Settings
from server.store import Store

if TYPE_CHECKING:
    pass

settings = web.AppKey("settings", Settings)
sessions = web.AppKey("sessions", SessionRegistry)
templates = web.AppKey("templates", "Templates")
store = web.AppKey("store", Store)
recorder = web.AppKey("recorder", Recorder)
uplinks = web.AppKey("uplinks", "UplinkManager")
signaling = web.AppKey("signaling", "Signaling")
live = web.AppKey("live", "LiveAnalysis")
video_executor = web.AppKey("video_executor", ThreadPoolExecutor)
metrics_registry = web.AppKey("metrics_registry", CollectorRegistry)
