"""Live captions through the real path: an aiortc peer sends a real recording over the uplink, the real
Whisper model transcribes it, captions reach the participants and final lines are stored encrypted."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp

from analysis.text_normalize import normalize_text
from server.settings import SETTINGS
from tests.conftest import DATA, AppHarness
from tests.integration.test_uplink import offer_uplink, start_uplink

JFK = DATA / "jfk" / "jfk.flac"
JFK_WORDS = set(normalize_text((DATA / "jfk" / "jfk.txt").read_text()).split())


def words_of(messages: list[dict], kind: str) -> set[str]:  # type: ignore[type-arg]
    text = " ".join(m["text"] for m in messages if m.get("type") == "caption" and m["kind"] == kind)
    return set(normalize_text(text).split())


async def test_captions_reach_everyone_and_final_lines_are_stored_encrypted(live: AppHarness) -> None:
    s, counselor, _, client, clw = await live.admitted_pair()
    pid = clw["you"]["participant_id"]
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, JFK)
    try:
        # A partial (provisional) line comes before the speaker has finished.
        partial = await counselor.expect("caption", lambda m: m["kind"] == "partial", timeout=15)
        assert partial["participant_id"] == pid and partial["name"] == "Sam"
        line = await counselor.expect(
            "counselor", lambda m: m["event"]["kind"] == "transcript_line" and "country" in m["event"]["text"].lower(),
            timeout=30,
        )
        assert line["event"]["name"] == "Sam"
        # The recording loops; listen until the whole sentence has settled into final lines.
        for _ in range(30):
            if len(words_of(counselor.inbox, "final") & JFK_WORDS) >= 0.7 * len(JFK_WORDS):
                break
            await counselor.drain(1.0)
    finally:
        await pc.close()
    await asyncio.sleep(1.0)
    await counselor.drain(1.0)
    await client.drain(0.5)
    for peer in (counselor, client):
        finals = words_of(peer.inbox, "final")
        assert len(finals & JFK_WORDS) >= 0.7 * len(JFK_WORDS), finals
        assert all(m["name"] == "Sam" for m in peer.inbox if m.get("type") == "caption")

    # The record, read the way the counselor's review page reads it (the login; links are not enough).
    resp = await live.client.get(f"/api/records/sessions/{s['session_id']}")
    stored = await resp.json()
    text = " ".join(line["text"] for line in stored["lines"])
    assert "country" in text.lower()
    assert all(line["speaker"] == "Sam" and line["end_s"] >= line["start_s"] for line in stored["lines"])
    async with aiohttp.ClientSession() as stranger:
        forbidden = await stranger.get(live.client.make_url(f"/api/records/sessions/{s['session_id']}"))
        assert forbidden.status == 401

    # The database file on disk holds no transcript text and no names.
    db_path = live.app[SETTINGS].data_dir / "attune.db"
    raw = db_path.read_bytes()
    assert b"country" not in raw.lower() and b"Sam" not in raw
    with sqlite3.connect(db_path) as db:
        assert db.execute("select count(*) from transcript_lines").fetchone()[0] == len(stored["lines"])


async def test_declined_or_withdrawn_participants_are_not_transcribed(live: AppHarness) -> None:
    _s, counselor, _, client, clw = await live.admitted_pair()
    await client.send(type="consent", granted=False, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    refused, _ = await offer_uplink(client, JFK)
    assert (await client.expect("error"))["code"] == "no_consent"
    await refused.close()

    # Grant, speak, withdraw mid-speech: nothing arrives after the withdrawal.
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded", lambda m: m["state"] == "granted")
    pc, _ = await start_uplink(client, JFK)
    try:
        await counselor.expect("caption", timeout=15)
        await client.send(type="consent", granted=False, version=clw["consent"]["version"])
        await client.expect("uplink_closed")
        await counselor.drain(0.3)
        seen = len([m for m in counselor.inbox if m.get("type") == "caption"])
        await counselor.drain(4.0)
        assert len([m for m in counselor.inbox if m.get("type") == "caption"]) == seen
    finally:
        await pc.close()


async def test_captions_can_be_turned_off_per_participant(live: AppHarness) -> None:
    _, counselor, _, client, clw = await live.admitted_pair()
    await counselor.send(type="captions", enabled=False)
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, JFK)
    try:
        await client.expect("caption", timeout=15)  # the speaker's own captions keep coming
        await counselor.drain(2.0)
        assert not [m for m in counselor.inbox if m.get("type") == "caption"]
    finally:
        await pc.close()


async def test_ending_the_session_keeps_the_line_being_spoken(live: AppHarness) -> None:
    s, counselor, _, client, clw = await live.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, JFK)
    try:
        await counselor.expect("caption", lambda m: m["kind"] == "partial", timeout=20)
        await counselor.send(type="end_session")
        await client.expect("session_ended", timeout=5)  # told at once, before the last line is flushed
    finally:
        await pc.close()
    shown = [m for m in counselor.inbox if m.get("type") == "caption" and m["kind"] == "final"]
    stored: list[dict] = []  # type: ignore[type-arg]
    for _ in range(40):
        resp = await live.client.get(f"/api/records/sessions/{s['session_id']}")
        stored = (await resp.json())["lines"]
        if len(stored) > len(shown):
            break
        await asyncio.sleep(0.5)
    assert len(stored) > len(shown), (shown, stored)
