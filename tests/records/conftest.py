"""Fixtures for the session-records tests: logged-in harnesses on SQLite or a real PostgreSQL server, and
a helper that fills a session record the way a live session would (through the Store the server uses)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.accounts.passwords import create_account
from server.accounts.repository import ACCOUNTS
from server.app import create_app
from server.records.context import RECORDS
from server.settings import Settings
from tests.conftest import AppHarness, fresh_postgres_database

REPO = Path(__file__).resolve().parents[2]
OTHER_EMAIL = "other.counselor@example.org"
OTHER_PASSWORD = "another long passphrase"

# A short exchange, with words a search can find and names a raw database must not reveal.
LINES: list[tuple[str, float, float, str]] = [
    ("counselor", 1.0, 3.5, "Hello Robin, how have you been sleeping this week?"),
    ("client", 4.0, 9.0, "Honestly not great. I keep waking up at four and worrying about the apartment."),
    ("counselor", 9.5, 12.0, "That sounds exhausting. What goes through your mind at four?"),
    ("client", 12.5, 19.0, "Mostly the rent, and whether my sister will ever call me back. I feel hopeless."),
    ("client", 19.5, 24.0, "But the walks with the dog help. I'm glad I started those, they make me happy."),
]


@dataclass
class SeededSession:
    session_id: str
    counselor_pid: str
    client_pid: str
    counselor_url: str
    invite_url: str


async def seed_session(harness: AppHarness, *, client_name: str = "Robin Quill",
                       counselor_name: str = "Dr. Ada Marsh", with_cue: bool = True) -> SeededSession:
    """Starts a session as the harness's counselor and stores what a live session would have stored."""
    created = await harness.new_session()
    sid = created["session_id"]
    store = harness.app[RECORDS]
    start = datetime.now(UTC)
    await store.add_participant(sid, "p-c1", "counselor", counselor_name, start)
    await store.add_participant(sid, "p-k1", "client", client_name, start + timedelta(seconds=1))
    await store.add_consent(sid, "p-c1", "counselor", "granted", "2026-11-01", start)
    await store.add_consent(sid, "p-k1", "client", "granted", "2026-11-01", start)
    for role, t0, t1, text in LINES:
        pid = "p-c1" if role == "counselor" else "p-k1"
        await store.add_transcript_line(sid, pid, role, t0, t1, text, start + timedelta(seconds=t1))
    if with_cue:
        await store.add_cue(
            sid, "p-k1", 19.0, "words.risk_language", "urgent", "Robin said they feel hopeless.",
            {"words": ["hopeless"], "line": "I feel hopeless.", "score": 0.91},
        )
    return SeededSession(sid, "p-c1", "p-k1", created["counselor_url"], created["invite_url"])


async def second_counselor(server: TestServer) -> AppHarness:
    """Another counselor, logged in through their own client (own cookie jar)."""
    accounts = server.app[ACCOUNTS]
    if await accounts.with_password_hash(OTHER_EMAIL) is None:
        await create_account(accounts, OTHER_EMAIL, OTHER_PASSWORD)
    client = TestClient(server)
    await client.start_server()
    other = AppHarness(client)
    await other.login(OTHER_EMAIL, OTHER_PASSWORD)
    return other


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_settings(backend: str, settings: Settings, request: pytest.FixtureRequest) -> Settings:
    if backend == "postgresql":
        server_url = request.getfixturevalue("postgres_server")
        return replace(settings, database_url=fresh_postgres_database(server_url))
    return settings


@pytest.fixture
async def records(backend_settings: Settings) -> AsyncIterator[AppHarness]:
    """A logged-in counselor harness on SQLite and on PostgreSQL."""
    app = create_app(backend_settings)
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        yield harness


@pytest.fixture
async def sqlite_records(settings: Settings) -> AsyncIterator[AppHarness]:
    """A logged-in counselor harness on the embedded default (SQLite)."""
    app = create_app(settings)
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        yield harness


