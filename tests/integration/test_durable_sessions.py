"""A live session outlives its server: after the app stops and a new one starts on the same database, the
same links work and the participants come back with their resume keys as themselves (no second waiting
room, no second consent); a session nobody comes back to is ended and its record completed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.records.context import RECORDS
from server.settings import Settings
from tests.conftest import AppHarness


class Restartable:
    """One data folder, served by successive app instances (as a restarted server would)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: TestServer | None = None
        self.client: TestClient | None = None
        self.harness: AppHarness | None = None

    async def start(self) -> AppHarness:
        self.server = TestServer(create_app(self.settings), port=self.settings.port or None)
        self.client = TestClient(self.server)
        await self.client.start_server()
        self.harness = AppHarness(self.client)
        return self.harness

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.client = self.server = self.harness = None


@pytest.fixture
async def restartable(tmp_path: Path) -> AsyncIterator[Restartable]:
    settings = Settings(data_dir=tmp_path / "data", captions=False, reconnect_grace_s=3.0, instance_id="test")
    box = Restartable(settings)
    try:
        yield box
    finally:
        await box.stop()


async def test_participants_come_back_as_themselves_after_a_restart(restartable: Restartable) -> None:
    first = await restartable.start()
    s, _, cw, client, clw = await first.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    counselor_key, client_key = cw["resume_key"], clw["resume_key"]
    await restartable.stop()

    again = await restartable.start()
    assert again.client is not None
    # The same links open the same room.
    for path in (f"/host/{s['counselor_token']}", f"/join/{s['invite_token']}"):
        page = await again.client.get(path)
        assert page.status == 200 and s["session_id"] in await page.text()
    _, cw2 = await again.join(s["counselor_token"], "Dr. Rivera", counselor_key)
    client2 = await again.connect()
    await client2.send(type="join", token=s["invite_token"], name="Sam", resume_key=client_key, continuing=True)
    clw2 = await client2.expect("welcome")
    assert cw2["you"]["participant_id"] == cw["you"]["participant_id"]
    assert clw2["you"]["participant_id"] == clw["you"]["participant_id"]
    assert clw2["state"] == "admitted" and clw2["consent"]["state"] == "granted"
    assert clw2["resume_key"] != client_key  # replaced at every join
    roster = await client2.expect("roster", lambda m: {p["state"] for p in m["participants"]} == {"admitted"})
    assert {p["participant_id"] for p in roster["participants"]} == {
        cw["you"]["participant_id"], clw["you"]["participant_id"]
    }
    epochs = {p["participant_id"]: p["epoch"] for p in roster["participants"]}
    assert epochs[clw["you"]["participant_id"]] == 1  # continuing: peers keep their call to it
    assert not any(m.get("type") == "waiting" for m in client2.inbox)
    # Once the page confirms the new key, the old one is spent: a copy of it no longer opens the place.
    await client2.send(type="resume_saved")
    await client2.send(type="ping")
    await client2.expect("pong")
    thief = await again.connect()
    await thief.send(type="join", token=s["invite_token"], name="Sam", resume_key=client_key)
    await thief.expect("waiting")


async def test_a_session_nobody_returns_to_is_ended_and_its_record_completed(restartable: Restartable) -> None:
    first = await restartable.start()
    s, *_ = await first.admitted_pair()
    await restartable.stop()

    again = await restartable.start()
    records = again.app[RECORDS]
    for _ in range(60):  # grace 3 s, sweep every 5 s
        summaries = await records.session_summaries(1, only=s["session_id"])
        if summaries and summaries[0].ended_at is not None and all(p.left_at for p in summaries[0].participants):
            break
        await asyncio.sleep(0.5)
    summary = summaries[0]
    assert summary.ended_at is not None
    assert summary.participants and all(p.left_at is not None for p in summary.participants)
    assert all(p.left_at <= summary.ended_at for p in summary.participants if p.left_at)
    assert again.client is not None
    gone = await again.client.get(f"/join/{s['invite_token']}")
    assert gone.status == 410


async def test_counselor_link_after_the_end_speaks_to_the_counselor(tmp_path: Path) -> None:
    settings = replace(Settings(data_dir=tmp_path / "data", captions=False), instance_id="test")
    async with TestServer(create_app(settings)) as server, TestClient(server) as client:
        harness = AppHarness(client)
        s = await harness.new_session()
        counselor, _ = await harness.join(s["counselor_token"], "Dr. Rivera")
        await counselor.send(type="end_session")
        await counselor.expect("session_ended")
        async with aiohttp.ClientSession() as http:
            page = await http.get(client.make_url(f"/host/{s['counselor_token']}"))
            text = await page.text()
        assert page.status == 410 and "You ended this session" in text and "Session records" in text
