"""Sessions driven by aiortc peers through the balancer, as a browser's page would drive them: a counselor
socket and a client sending real speech over the analysis uplink, and the reconnection a page does when
its socket drops (join again with the resume key, then offer the uplink again)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from tests.conftest import DATA, WsPeer

SPEECH = DATA / "ljspeech_subset" / "wavs" / "LJ001-0001.flac"  # 10 s of read speech, looped


@dataclass
class Speaker:
    """A session with aiortc peers: a counselor socket and a client sending real speech."""

    base: str
    session_id: str
    counselor_token: str
    invite_token: str
    counselor: WsPeer | None = None
    client: WsPeer | None = None
    counselor_key: str = ""
    client_key: str = ""
    client_id: str = ""
    version: str = ""
    pc: RTCPeerConnection | None = None
    captions_at: list[float] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base.replace("http", "ws") + f"/ws?session={self.session_id}"

    async def join(
        self, http: aiohttp.ClientSession, token: str, name: str, key: str = ""
    ) -> tuple[WsPeer, dict[str, Any]]:
        peer = WsPeer(await http.ws_connect(self.ws_url))
        message: dict[str, Any] = {"type": "join", "token": token, "name": name}
        if key:
            message |= {"resume_key": key, "continuing": True}
        await peer.send(**message)
        return peer, await peer.expect("welcome", timeout=20)

    async def uplink(self) -> None:
        assert self.client is not None
        player = MediaPlayer(str(SPEECH), loop=True)
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(player.audio, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.client.send(type="uplink_offer", sdp=self.pc.localDescription.sdp)
        answer = await self.client.expect("uplink_answer", timeout=20)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for peer in (self.counselor, self.client):
            if peer is not None:
                await peer.close()


async def api_session(http: aiohttp.ClientSession, base: str, csrf: str) -> tuple[str, str, str]:
    async with http.post(f"{base}/api/sessions", headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 201, await resp.text()
        data = await resp.json()
    return data["session_id"], data["counselor_url"].rsplit("/", 1)[1], data["invite_url"].rsplit("/", 1)[1]


async def start_speaker(http: aiohttp.ClientSession, base: str, csrf: str) -> Speaker:
    sid, counselor_token, invite_token = await api_session(http, base, csrf)
    s = Speaker(base, sid, counselor_token, invite_token)
    s.counselor, cw = await s.join(http, counselor_token, "Dr. Rivera")
    s.client, clw = await s.join(http, invite_token, "Sam")
    s.counselor_key, s.client_key = cw["resume_key"], clw["resume_key"]
    s.client_id, s.version = clw["you"]["participant_id"], clw["consent"]["version"]
    await s.counselor.send(type="admit", participant_id=s.client_id)
    await s.client.expect("admitted", timeout=10)
    await s.client.send(type="consent", granted=True, version=s.version)
    await s.client.expect("consent_recorded", timeout=10)
    return s


async def reconnect(s: Speaker, http: aiohttp.ClientSession, deadline_s: float = 30.0) -> None:
    """What the browser does when its socket drops: join again with its resume key, then re-offer the
    uplink. Retries while the balancer still has nowhere to send it."""
    start = time.monotonic()
    while True:
        try:
            s.counselor, cw = await s.join(http, s.counselor_token, "Dr. Rivera", s.counselor_key)
            s.client, clw = await s.join(http, s.invite_token, "Sam", s.client_key)
            break
        except (aiohttp.ClientError, AssertionError):
            if time.monotonic() - start > deadline_s:
                raise
            await asyncio.sleep(0.5)
    assert clw["you"]["participant_id"] == s.client_id and clw["state"] == "admitted"
    assert clw["consent"]["state"] == "granted"  # no second consent
    s.counselor_key, s.client_key = cw["resume_key"], clw["resume_key"]
    if s.pc is not None:
        await s.pc.close()
    await s.uplink()


async def first_caption(peer: WsPeer, timeout: float) -> float:
    await peer.expect("caption", timeout=timeout)
    return time.monotonic()
