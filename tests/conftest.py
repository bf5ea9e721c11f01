"""Shared fixtures: a real app on a real socket, and a small WebSocket participant for protocol tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.settings import Settings

DATA = Path(__file__).parent / "data"
TEST_WEB_DIR = Path(__file__).resolve().parent.parent / "web"


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


class AppHarness:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.app = client.app

    async def new_session(self) -> dict[str, Any]:
        resp = await self.client.post("/api/sessions")
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", captions=False, reconnect_grace_s=1.5)


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[AppHarness]:
    app = create_app(settings, web_dir=TEST_WEB_DIR)
    async with TestServer(app) as server, TestClient(server) as client:
        yield AppHarness(client)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**changes: Any) -> Settings:
        return replace(Settings(data_dir=tmp_path / "data", captions=False), **changes)

    return make
