"""Cues through the real path: a real talking-face recording over the uplink reaches the cue engines,
and the panel data and cues arrive on the counselor channel only."""

from __future__ import annotations

from tests.conftest import DATA, AppHarness
from tests.integration.test_uplink import start_uplink

FACE_CLIP = DATA / "grid_av_faces" / "bbaf2n.mpg"


def panel(peer, kind: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [m["event"] for m in peer.inbox if m.get("type") == "counselor" and m["event"]["kind"] == kind]


async def test_panel_data_flows_to_the_counselor_only(live: AppHarness) -> None:
    _, counselor, _, client, clw = await live.admitted_pair()
    pid = clw["you"]["participant_id"]
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, FACE_CLIP)
    try:
        video = await counselor.expect(
            "counselor",
            lambda m: m["event"]["kind"] == "video_state" and m["event"]["features"]["face_present"],
            timeout=20,
        )
        assert video["event"]["participant_id"] == pid
        # sentiment is scored on the finished sentence (its full stop waits for settled silence or the next words)
        line = await counselor.expect(
            "counselor", lambda m: m["event"]["kind"] == "transcript_line" and m["event"]["closed"], timeout=30
        )
        assert isinstance(line["event"]["sentiment"], float)
        point = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "sentiment", timeout=10)
        assert point["event"]["participant_id"] == pid and -1 <= point["event"]["compound"] <= 1
        talk = await counselor.expect(
            "counselor",
            lambda m: m["event"]["kind"] == "conversation"
            and any(p["participant_id"] == pid and p["speech_s"] > 0.5 for p in m["event"]["participants"]),
            timeout=20,
        )
        shares = {p["participant_id"]: p["share"] for p in talk["event"]["participants"]}
        assert shares[pid] > 0.5  # only the client is speaking

        await counselor.send(type="cue_mute", kind="voice.pace", muted=True)
        muted = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "muted_kinds")
        assert muted["event"]["kinds"] == ["voice.pace"]
        await client.send(type="cue_mute", kind="voice.pace", muted=False)
        assert (await client.expect("error"))["code"] == "forbidden"
    finally:
        await pc.close()
    await client.drain(0.5)
    assert not [m for m in client.inbox if m.get("type") == "counselor"]
