"""Per-participant media consumers: what the analysis uplink's track readers hand their frames to.

Audio goes through a bounded queue that is never dropped from: when it is full the track reader waits
(and aiortc's receive buffer absorbs the pause). Video keeps only the newest frame: a frame that is
replaced before the consumer took it is counted as dropped, because analysing stale video is worthless.
Consumers (captions, voice and video cues) plug in through the small protocols below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

import av
import numpy as np
import numpy.typing as npt

from server.session.participant import MediaCounters

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
AudioChunk = npt.NDArray[np.int16]  # 16 kHz mono
RgbFrame = npt.NDArray[np.uint8]  # (H, W, 3)
ANALYSIS_WIDTH = 320


class AudioConsumer(Protocol):
    """Receives every 16 kHz mono int16 chunk of one participant, in order, with its start time in
    session seconds (stream sample count plus the uplink's start offset)."""

    async def on_audio(self, samples: AudioChunk, start_s: float) -> None: ...

    async def close(self, flush: bool) -> None: ...


class VideoConsumer(Protocol):
    """Receives the newest decoded video frame as an RGB array (H, W, 3) uint8; called from a worker
    thread, never on the event loop."""

    def on_video(self, frame_rgb: RgbFrame, at_s: float) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class MediaTotals:
    """What every uplink of this instance delivered since it started: the operator's view, with nothing
    that names a session or a participant (those ids are visible to every client in the roster)."""

    audio_seconds: float = 0.0
    audio_dropped_seconds: float = 0.0
    video_frames: int = 0
    video_frames_dropped: int = 0


class ParticipantMedia:
    """The consumer side of one participant's uplink."""

    def __init__(
        self,
        label: str,
        counters: MediaCounters,
        totals: MediaTotals,
        clock: Callable[[], float],
        audio_queue_chunks: int,
        video_executor: Executor,
        audio_consumers: list[AudioConsumer] | None = None,
        video_consumers: list[VideoConsumer] | None = None,
    ) -> None:
        self.label = label
        self.counters = counters
        self.totals = totals
        self.clock = clock
        self.audio_consumers = audio_consumers or []
        self.video_consumers = video_consumers or []
        self._audio: asyncio.Queue[AudioChunk | None] = asyncio.Queue(audio_queue_chunks)
        self._video_frame: tuple[av.VideoFrame, float] | None = None
        self._video_ready = asyncio.Event()
        self._video_executor = video_executor
        self._audio_start_s: float | None = None
        self._samples = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._consume_audio(), name=f"audio consumer {self.label}"),
            asyncio.create_task(self._consume_video(), name=f"video consumer {self.label}"),
        ]

    async def put_audio(self, samples: AudioChunk) -> None:
        if self._closing:
            return
        await self._audio.put(samples)

    def offer_video(self, frame: av.VideoFrame) -> None:
        if self._closing:
            return
        if self._video_frame is not None:
            self.counters.video_frames_dropped += 1
            self.totals.video_frames_dropped += 1
        self._video_frame = (frame, self.clock())
        self._video_ready.set()

    async def _consume_audio(self) -> None:
        while True:
            chunk = await self._audio.get()
            if chunk is None:
                return
            if self._audio_start_s is None:
                self._audio_start_s = self.clock()
            start_s = self._audio_start_s + self._samples / SAMPLE_RATE
            self._samples += len(chunk)
            self.counters.audio_seconds += len(chunk) / SAMPLE_RATE
            self.totals.audio_seconds += len(chunk) / SAMPLE_RATE
            for consumer in self.audio_consumers:
                try:
                    await consumer.on_audio(chunk, start_s)
                except Exception:
                    log.exception("audio consumer failed for %s; it is detached", self.label)
                    self.audio_consumers = [c for c in self.audio_consumers if c is not consumer]

    async def _consume_video(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._video_ready.wait()
            self._video_ready.clear()
            taken, self._video_frame = self._video_frame, None
            if taken is None:
                continue
            frame, at_s = taken
            try:
                await loop.run_in_executor(self._video_executor, self._analyse_frame, frame, at_s)
            except Exception:
                log.exception("video analysis failed for %s", self.label)
            self.counters.video_frames += 1
            self.totals.video_frames += 1

    def _analyse_frame(self, frame: av.VideoFrame, at_s: float) -> None:
        if not self.video_consumers:
            return
        if frame.width > ANALYSIS_WIDTH:
            # Browsers may ignore the requested size; analysis works on small frames only.
            height = max(2, round(frame.height * ANALYSIS_WIDTH / frame.width / 2) * 2)
            rgb: RgbFrame = np.asarray(frame.to_ndarray(format="rgb24", width=ANALYSIS_WIDTH, height=height), np.uint8)
        else:
            rgb = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
        for consumer in self.video_consumers:
            consumer.on_video(rgb, at_s)

    async def close(self, flush: bool) -> None:
        """Stop consuming. With ``flush`` the queued audio is still delivered (a normal end); without
        it (consent withdrawn) queued audio is discarded unheard and consumers drop pending work."""
        self._closing = True
        if not flush:
            while not self._audio.empty():
                self._audio.get_nowait()
        await self._audio.put(None)
        audio_task, video_task = self._tasks or (None, None)
        if audio_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await audio_task
        if video_task is not None:
            video_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await video_task
        for consumer in self.audio_consumers:
            try:
                await consumer.close(flush)
            except Exception:
                log.exception("closing an audio consumer failed for %s", self.label)
        for video_consumer in self.video_consumers:
            with contextlib.suppress(Exception):
                video_consumer.close()
