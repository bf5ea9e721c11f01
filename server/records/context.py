"""The records layer's resources: the repositories and the recorder, built once the database is open."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.db.database import DATABASE
from server.records.annotations import Annotations
from server.records.read_model import SentimentScorer
from server.records.recorder import Recorder
from server.records.repository import SessionRecords

RECORDS = web.AppKey("session_records", SessionRecords)
ANNOTATIONS = web.AppKey("annotations", Annotations)
RECORDER = web.AppKey("recorder", Recorder)
SENTIMENT = web.AppKey("sentiment_scorer", SentimentScorer)


async def records_ctx(app: web.Application) -> AsyncIterator[None]:
    records = SessionRecords(app[DATABASE])
    app[RECORDS] = records
    app[ANNOTATIONS] = Annotations(app[DATABASE])
    app[RECORDER] = Recorder(records)
    app[SENTIMENT] = SentimentScorer()
    yield
