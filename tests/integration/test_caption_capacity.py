"""Admission to live captions, through the real path (aiortc peers, the real Whisper model): with room for one
captioned session, a second session runs without captions, its counselor and client are told, the first
keeps its captions, and the operator metrics count the shed session; when the first session ends, the
second gets live captions (its people are told) and they flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings
from tests.conftest import DATA, AppHarness, WsPeer
from tests.integration.test_uplink import metric, start_uplink

JFK = DATA / "jfk" / "jfk.flac"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", captions=False, reconnect_grace_s=1.5, caption_capacity=1)


def captions(peer: WsPeer) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in peer.inbox if m.get("type") == "caption"]


async def test_a_session_beyond_capacity_runs_without_captions_and_says_so(live: AppHarness) -> None:
    _s1, counselor1, _, client1, clw1 = await live.admitted_pair()
    await client1.send(type="consent", granted=True, version=clw1["consent"]["version"])
    await client1.expect("consent_recorded")
    pc1, _ = await start_uplink(client1, JFK)

    _s2, counselor2, _, client2, clw2 = await live.admitted_pair()
    await client2.send(type="consent", granted=True, version=clw2["consent"]["version"])
    await client2.expect("consent_recorded")
    try:
        await counselor1.expect("caption", timeout=20)  # the first session is captioned
        pc2, _ = await start_uplink(client2, JFK)
        try:
            notice = await counselor2.expect(
                "counselor", lambda m: m["event"]["kind"] == "captions_unavailable", timeout=15
            )
            assert notice["event"]["reason"] == "capacity"
            assert "no live captions" in notice["event"]["message"]
            told = await client2.expect("captions_unavailable", timeout=5)
            assert told["message"] == "Live captions are not available right now."

            # Both keep talking: the first session's captions keep coming, the second gets none.
            seen1 = len(captions(counselor1))
            await counselor2.drain(6.0)
            await counselor1.drain(0.5)
            await client2.drain(0.5)
            assert len(captions(counselor1)) > seen1
            assert not captions(counselor2) and not captions(client2)
            assert not [m for m in counselor1.inbox if m.get("type") == "captions_unavailable"
                        or (m.get("type") == "counselor" and m["event"]["kind"] == "captions_unavailable")]
            # the client's notice is public; the reason and the wider explanation stay with the counselor
            assert not [m for m in client2.inbox if m.get("type") == "counselor"]

            text = await live.metrics()
            assert metric(text, "attune_sessions_shed_total") == 1.0
            assert metric(text, "attune_caption_sessions") == 1.0
            assert metric(text, "attune_caption_capacity") == 1.0
            assert metric(text, "attune_asr_decode_lag_max_seconds") >= 0.0
            assert "attune_asr_partials_skipped" in text and "attune_asr_decode_seconds_per_audio_second" in text
            assert clw1["you"]["participant_id"] not in text and clw2["you"]["participant_id"] not in text

            # The first session ends: room comes free, and the second session gets live captions.
            await counselor1.send(type="end_session")
            on = await counselor2.expect(
                "counselor", lambda m: m["event"]["kind"] == "captions_available", timeout=20
            )
            assert "Live captions are on for this session now" in on["event"]["message"]
            assert (await client2.expect("captions_available", timeout=5))["message"] == "Live captions are on now."
            await counselor2.expect("caption", timeout=30)
            await client2.expect("caption", timeout=10)
            line = await counselor2.expect(
                "counselor", lambda m: m["event"]["kind"] == "transcript_line", timeout=30
            )
            assert line["event"]["text"]
            assert not [m for m in client2.inbox if m.get("type") == "counselor"]
            assert metric(await live.metrics(), "attune_sessions_readmitted_total") == 1.0
        finally:
            await pc2.close()
    finally:
        await pc1.close()
