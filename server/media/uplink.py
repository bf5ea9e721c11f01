"""The analysis uplink: one receive-only aiortc peer per consenting participant.

Signaling stays in ``server.signaling``; this module only turns an offer into an answer and reads every
received track to its end (an unread aiortc track queues frames without bound). Audio is resampled once
per track to 16 kHz mono s16; video frames are handed over newest-first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Literal

import av
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from server.media.consumers import AudioConsumer, MediaTotals, ParticipantMedia, VideoConsumer
from server.session.delivery import deliver
from server.session.effects import ToCounselors
from server.session.model import Session
from server.session.participant import Participant
from server.session.protocol.counselor import UplinkState
from server.session.states import Role

log = logging.getLogger(__name__)

ConsumerFactory = Callable[[Session, Participant], tuple[list[AudioConsumer], list[VideoConsumer]]]
UplinkStateName = Literal["connecting", "connected", "closed"]


ANSWER_TIMEOUT_S = 10.0


class UplinkError(Exception):
    """The offer could not be answered (malformed SDP, no usable media)."""


def ice_configuration(ice_servers: tuple[dict[str, Any], ...]) -> RTCConfiguration:
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in ice_servers
    ]
    return RTCConfiguration(iceServers=servers)


def announce(session: Session, participant: Participant, state: UplinkStateName, reason: str | None = None) -> None:
    """Record the uplink's state and tell the counselor (the People tab shows it)."""
    participant.media.uplink_state = state
    deliver(session, [ToCounselors(UplinkState(participant_id=participant.id, state=state, reason=reason))])


class Uplink:
    def __init__(
        self,
        session: Session,
        participant: Participant,
        media: ParticipantMedia,
        configuration: RTCConfiguration,
    ) -> None:
        self.session = session
        self.participant = participant
        self.media = media
        self.pc = RTCPeerConnection(configuration)
        self.readers: list[asyncio.Task[None]] = []
        self.closed = False
        self.label = f"session {session.id} participant {participant.id}"

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                reader = self._read_audio(track)
            elif track.kind == "video" and participant.role is Role.CLIENT:
                reader = self._read_video(track)
            else:
                # The counselor's own video is not analysed; the track is still read to its end.
                reader = self._discard(track)
            self.readers.append(asyncio.create_task(reader, name=f"{track.kind} reader {self.label}"))

        @self.pc.on("connectionstatechange")
        async def on_connection_state() -> None:
            state = self.pc.connectionState
            log.debug("uplink %s connection %s", self.label, state)
            if state == "connected":
                announce(session, participant, "connected")
            elif state == "failed":
                await self.close("connection failed")

    @property
    def connected(self) -> bool:
        return not self.closed and self.participant.media.uplink_state == "connected"

    async def answer(self, offer_sdp: str) -> str:
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
                if not any(t.kind == "audio" for t in self.pc.getTransceivers()):
                    raise UplinkError("the offer carries no audio")
                answer = await self.pc.createAnswer()
                await self.pc.setLocalDescription(answer)
        except UplinkError:
            raise
        except TimeoutError as exc:
            raise UplinkError("the answer took too long") from exc
        except Exception as exc:  # aiortc raises ValueError and friends on bad SDP
            raise UplinkError(f"the offer could not be used ({type(exc).__name__})") from exc
        self.media.start()
        return self.pc.localDescription.sdp

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            for out in resampler.resample(frame):
                await self.media.put_audio(np.asarray(out.to_ndarray(), np.int16).reshape(-1).copy())

    async def _read_video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.media.offer_video(frame)

    async def _discard(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return

    async def close(self, reason: str, flush: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        await self.pc.close()
        for reader in self.readers:
            reader.cancel()
        for reader in self.readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self.media.close(flush=flush)
        announce(self.session, self.participant, "closed", reason)
        log.info("uplink %s closed: %s", self.label, reason)


class UplinkManager:
    """Owns every uplink; at most one per participant (a new offer replaces the old peer)."""

    def __init__(
        self,
        ice_servers: tuple[dict[str, Any], ...],
        audio_queue_chunks: int,
        video_executor: Executor,
        consumer_factory: ConsumerFactory,
    ) -> None:
        self.configuration = ice_configuration(ice_servers)
        self.audio_queue_chunks = audio_queue_chunks
        self.video_executor = video_executor
        self.consumer_factory = consumer_factory
        self.totals = MediaTotals()
        self.uplinks: dict[tuple[str, str], Uplink] = {}

    def get(self, session: Session, participant: Participant) -> Uplink | None:
        return self.uplinks.get((session.id, participant.id))

    async def open(self, session: Session, participant: Participant, offer_sdp: str) -> str:
        await self.close(session, participant, "replaced by a new uplink")
        audio, video = self.consumer_factory(session, participant)
        media = ParticipantMedia(
            f"session {session.id} participant {participant.id}",
            participant.media,
            self.totals,
            session.clock,
            self.audio_queue_chunks,
            self.video_executor,
            audio,
            video,
        )
        uplink = Uplink(session, participant, media, self.configuration)
        self.uplinks[(session.id, participant.id)] = uplink
        participant.media.uplinks_opened += 1
        announce(session, participant, "connecting")
        try:
            return await uplink.answer(offer_sdp)
        except UplinkError:
            self.uplinks.pop((session.id, participant.id), None)
            await uplink.close("offer refused", flush=False)
            raise

    async def close(self, session: Session, participant: Participant, reason: str, flush: bool = True) -> bool:
        uplink = self.uplinks.pop((session.id, participant.id), None)
        if uplink is None:
            return False
        await uplink.close(reason, flush=flush)
        return True

    async def close_session(self, session: Session, reason: str) -> None:
        for (sid, _pid), uplink in list(self.uplinks.items()):
            if sid == session.id:
                await self.close(session, uplink.participant, reason)

    async def close_all(self) -> None:
        for uplink in list(self.uplinks.values()):
            await self.close(uplink.session, uplink.participant, "server shutting down")
