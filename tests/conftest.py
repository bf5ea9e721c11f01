"""Shared fixtures: a real app on a real socket, and a small WebSocket participant for protocol tests."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.accounts.passwords import create_account
from server.accounts.repository import ACCOUNTS
from server.app import create_app
from server.settings import Settings

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


class WsPeer:
    """One browser-like participant speaking the JSON protocol; keeps every message it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def expect(
        self, type_: str, where: Callable[[dict[str, Any]], bool] = lambda m: True, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The next message of this type that matches (skipping others, which stay in ``inbox``)."""
        for i, m in enumerate(self._pending):
            if m.get("type") == type_ and where(m):
                return self._pending.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {type_!r} message; got {[m.get('type') for m in self.inbox[-15:]]}")
            try:
                msg = await self.ws.receive(timeout=remaining)
            except TimeoutError:
                continue  # reported by the deadline check above, with what did arrive
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                raise AssertionError(f"socket closed ({self.ws.close_code}) while waiting for {type_!r}")
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            self.inbox.append(data)
            if data.get("type") == type_ and where(data):
                return data
            self._pending.append(data)

    async def drain(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Collect whatever arrives during ``seconds``."""
        got: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await self.ws.receive(timeout=remaining)
            except TimeoutError:
                break
            if msg.type is aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                self.inbox.append(data)
                self._pending.append(data)
                got.append(data)
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
        return got

    async def close(self) -> None:
        await self.ws.close()


COUNSELOR_EMAIL = "counselor@example.org"
COUNSELOR_PASSWORD = "a long test passphrase"


class AppHarness:
    """A real app on a real socket, with a client that logs in as a counselor before starting sessions
    (only logged-in counselors may start them)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.app = client.app
        self.csrf_token: str | None = None

    async def login(self, email: str = COUNSELOR_EMAIL, password: str = COUNSELOR_PASSWORD) -> dict[str, Any]:
        """Logs this harness's client in, creating the account (an admin) on first use."""
        accounts = self.app[ACCOUNTS]
        if await accounts.with_password_hash(email) is None:
            await create_account(accounts, email, password, is_admin=True)
        resp = await self.client.post("/api/login", json={"email": email, "password": password})
        assert resp.status == 200, await resp.text()
        me: dict[str, Any] = await resp.json()
        self.csrf_token = me["csrf_token"]
        return me

    @property
    def csrf(self) -> dict[str, str]:
        assert self.csrf_token is not None, "log in first"
        return {"X-CSRF-Token": self.csrf_token}

    async def new_session(self) -> dict[str, Any]:
        if self.csrf_token is None:
            await self.login()
        resp = await self.client.post("/api/sessions", headers=self.csrf)
        assert resp.status == 201
        data = await resp.json()
        data["counselor_token"] = data["counselor_url"].rsplit("/", 1)[1]
        data["invite_token"] = data["invite_url"].rsplit("/", 1)[1]
        return data

    async def connect(self) -> WsPeer:
        return WsPeer(await self.client.ws_connect("/ws"))

    async def join(self, token: str, name: str, resume_key: str | None = None) -> tuple[WsPeer, dict[str, Any]]:
        peer = await self.connect()
        message: dict[str, Any] = {"token": token, "name": name}
        if resume_key:
            message["resume_key"] = resume_key
        await peer.send(type="join", **message)
        welcome = await peer.expect("welcome")
        return peer, welcome

    async def admitted_pair(self) -> tuple[dict[str, Any], WsPeer, dict[str, Any], WsPeer, dict[str, Any]]:
        """A session with a counselor and one admitted client."""
        s = await self.new_session()
        counselor, cw = await self.join(s["counselor_token"], "Dr. Rivera")
        client, clw = await self.join(s["invite_token"], "Sam")
        await client.expect("waiting")
        await counselor.send(type="admit", participant_id=clw["you"]["participant_id"])
        await client.expect("admitted")
        return s, counselor, cw, client, clw

    async def metrics(self) -> str:
        resp = await self.client.get("/metrics")
        assert resp.status == 200
        return await resp.text()


async def start_session_over(http: aiohttp.ClientSession, server: TestServer) -> dict[str, Any]:
    """For tests that drive a bare TestServer: log ``http`` in as the counselor, then POST /api/sessions.
    ``http`` needs ``cookie_jar=aiohttp.CookieJar(unsafe=True)`` to keep cookies for 127.0.0.1."""
    accounts = server.app[ACCOUNTS]
    if await accounts.with_password_hash(COUNSELOR_EMAIL) is None:
        await create_account(accounts, COUNSELOR_EMAIL, COUNSELOR_PASSWORD, is_admin=True)
    async with http.post(
        server.make_url("/api/login"), json={"email": COUNSELOR_EMAIL, "password": COUNSELOR_PASSWORD}
    ) as resp:
        assert resp.status == 200, await resp.text()
        csrf = (await resp.json())["csrf_token"]
    async with http.post(server.make_url("/api/sessions"), headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 201, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", captions=False, reconnect_grace_s=1.5)


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[AppHarness]:
    app = create_app(settings)
    async with TestServer(app) as server, TestClient(server) as client:
        yield AppHarness(client)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[AppHarness]:
    """Like ``harness``, with the caption engine and the real Whisper model running."""
    async with TestServer(create_app(replace(settings, captions=True))) as server, TestClient(server) as client:
        yield AppHarness(client)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        return replace(Settings(data_dir=tmp_path / "data", captions=False), **changes)

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server (Debian's packages) for the whole run, via scripts/postgres.sh.
    Fails loudly when PostgreSQL is not installed: the storage tests must run against both databases."""
    folder = Path(tempfile.mkdtemp(prefix="attune-pg-"))
    port = free_port()
    started = subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres.sh"), "start", str(folder), str(port)],
        capture_output=True, text=True, timeout=120,
    )
    assert started.returncode == 0, f"could not start PostgreSQL:\n{started.stderr}"
    url = started.stdout.strip().splitlines()[-1]
    try:
        yield url
    finally:
        subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "stop", str(folder)], timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_postgres_database(server_url: str) -> str:
    """A new empty database on the test server, so each test starts from nothing."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = server_url.replace("postgresql+asyncpg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name
