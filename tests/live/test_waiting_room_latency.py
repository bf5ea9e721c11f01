"""The live wiring of "Long pause before answering": real speech through the consumers an uplink gets
(``LiveAnalysis.consumers``) into the session's voice and conversation engines. The counselor speaks to an
empty room; the client's uplink opens (admitted) 15 s later and the client talks: no pause cue, because an
uplink that opens marks an arrival. With the counselor speaking again once both are in the call, a slow
answer still raises it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from analysis.events import Cue
from bench.cues import load_mono_16k
from server.live.engine import LiveAnalysis
from server.media.consumers import AudioConsumer
from server.session.model import Session
from server.session.participant import Participant, digest
from server.session.states import Presence, Role
from server.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
COUNSELOR_SPEECH = DATA / "librispeech_samples" / "1089-134686-0001.flac"
CLIENT_SPEECH = DATA / "jfk" / "jfk.flac"
CHUNK = 320  # 20 ms at 16 kHz


class Clock:
    """The session's wall clock, moved by the test: ``now`` is seconds since the session started."""

    START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> datetime:
        return self.START + timedelta(seconds=self.now)


class KeptCues:
    """Stands in for the recorder: the cues that passed the hint policy, as they would be stored."""

    def __init__(self) -> None:
        self.cues: list[Cue] = []

    async def cue(self, session: Session, cue: Cue, line_id: int | None = None) -> None:
        self.cues.append(cue)


async def feed(feeds: list[AudioConsumer], audio: np.ndarray, start_s: float) -> None:
    for i in range(0, len(audio), CHUNK):
        for consumer in feeds:
            await consumer.on_audio(audio[i : i + CHUNK], start_s + i / 16_000)


async def drain(executor: ThreadPoolExecutor) -> None:
    await asyncio.get_running_loop().run_in_executor(executor, lambda: None)
    await asyncio.sleep(0.05)


async def test_time_before_the_client_was_in_the_call_is_no_pause_before_answering() -> None:
    clock = Clock()
    session = Session("s1", digest("c"), digest("i"), 1e12, 6, created_at=Clock.START, wall_clock=clock)
    counselor = Participant("p-c", Role.COUNSELOR, "Dr. Rivera", b"", Presence.ADMITTED)
    client = Participant("p-k", Role.CLIENT, "Sam", b"", Presence.ADMITTED)
    session.participants.update({counselor.id: counselor, client.id: client})
    kept = KeptCues()
    counselor_audio, client_audio = load_mono_16k(COUNSELOR_SPEECH), load_mono_16k(CLIENT_SPEECH)
    silence = np.zeros(16_000 * 2, np.int16)
    with ThreadPoolExecutor(1) as cue_thread, ThreadPoolExecutor(1) as video_thread:
        live = LiveAnalysis(Settings(captions=False), kept, None, cue_thread, video_thread)  # type: ignore[arg-type]

        def pauses() -> list[Cue]:
            return [c for c in kept.cues if c.kind == "conversation.response_latency"]

        counselor_feeds, _ = live.consumers(session, counselor)  # the counselor's uplink opens
        spoken_s = len(counselor_audio) / 16_000
        await feed(counselor_feeds, np.concatenate([counselor_audio, silence]), 0.0)
        await drain(cue_thread)
        # Sam is admitted 15 s after the counselor stopped: their uplink opens, and they say hello.
        clock.now = spoken_s + 15.0
        client_feeds, _ = live.consumers(session, client)
        await feed(client_feeds, np.concatenate([client_audio, silence]), clock.now + 1.0)
        await drain(cue_thread)
        assert pauses() == []
        # Both in the call now: the counselor asks, Sam answers 9 s later. That is a long pause.
        asked_at = clock.now + 1.0 + len(client_audio) / 16_000 + 3.0
        await feed(counselor_feeds, np.concatenate([counselor_audio, silence]), asked_at)
        answered_at = asked_at + spoken_s + 9.0
        await feed(client_feeds, np.concatenate([client_audio, silence]), answered_at)
        await drain(cue_thread)
        [pause] = pauses()
        assert pause.participant_id == client.id and 8.0 < pause.evidence["latency_s"] < 11.0
        await live.close()
