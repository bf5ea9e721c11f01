"""The analysis uplink with a real aiortc peer sending a real recording (audio + talking-face video)."""

from __future__ import annotations

import asyncio
import re

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from tests.conftest import DATA, AppHarness, WsPeer

FACE_CLIP = DATA / "grid_av_faces" / "bbaf2n.mpg"


def metric(text: str, name: str) -> float:
    """One series of the operator metrics (they are counts, with no per-participant labels)."""
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def offer_uplink(peer: WsPeer, media_file=FACE_CLIP) -> tuple[RTCPeerConnection, MediaPlayer]:  # type: ignore[no-untyped-def]
    """Send an analysis-uplink offer (audio, and video when the file has it) like a browser does."""
    player = MediaPlayer(str(media_file), loop=True)
    pc = RTCPeerConnection()
    if player.audio:
        pc.addTransceiver(player.audio, direction="sendonly")
    if player.video:
        pc.addTransceiver(player.video, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    await peer.send(type="uplink_offer", sdp=pc.localDescription.sdp)
    return pc, player


async def start_uplink(peer: WsPeer, media_file=FACE_CLIP) -> tuple[RTCPeerConnection, MediaPlayer]:  # type: ignore[no-untyped-def]
    pc, player = await offer_uplink(peer, media_file)
    answer = await peer.expect("uplink_answer", timeout=10)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return pc, player


async def wait_for(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.25)


async def test_uplink_needs_consent_then_delivers_audio_and_video_until_withdrawn(harness: AppHarness) -> None:
    _s, counselor, _, client, clw = await harness.admitted_pair()
    await client.send(type="uplink_offer", sdp="v=0\r\n" + "a=x\r\n" * 3)
    assert (await client.expect("error"))["code"] == "no_consent"

    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _player = await start_uplink(client)
    try:
        async def flowing() -> bool:
            m = await harness.metrics()
            return metric(m, "attune_uplink_audio_seconds_total") > 1.5 and metric(
                m, "attune_uplink_video_frames_total"
            ) >= 3

        await wait_for(flowing)
        await counselor.expect(
            "counselor", lambda m: m["event"]["kind"] == "uplink_state" and m["event"]["state"] == "connected"
        )
        m = await harness.metrics()
        assert metric(m, "attune_uplink_audio_dropped_seconds_total") == 0
        assert metric(m, "attune_uplinks_connected") == 1

        await client.send(type="consent", granted=False, version=clw["consent"]["version"])
        assert (await client.expect("uplink_closed"))["reason"] == "consent_withdrawn"
        stopped = await harness.metrics()
        await asyncio.sleep(1.5)
        later = await harness.metrics()
        for name in ("attune_uplink_audio_seconds_total", "attune_uplink_video_frames_total"):
            assert metric(later, name) == metric(stopped, name), name
        assert metric(later, "attune_uplinks_connected") == 0
        await counselor.expect(
            "counselor", lambda m: m["event"]["kind"] == "uplink_state" and m["event"]["state"] == "closed"
        )
        # With consent withdrawn, a new offer is refused.
        await client.send(type="uplink_offer", sdp=pc.localDescription.sdp)
        assert (await client.expect("error"))["code"] == "no_consent"
    finally:
        await pc.close()


async def test_broken_offer_is_refused_and_the_session_carries_on(harness: AppHarness) -> None:
    _, counselor, _, client, clw = await harness.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    await client.send(type="uplink_offer", sdp="v=0\r\nthis is not an SDP offer\r\n")
    err = await client.expect("error", timeout=10)
    assert err["code"] == "uplink_failed"
    await client.send(type="chat", text="still fine")
    assert (await counselor.expect("chat"))["text"] == "still fine"
