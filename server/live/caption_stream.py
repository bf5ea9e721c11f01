"""Live captions for one participant's audio track.

``CaptionStream`` takes every uplink audio chunk (int16 mono 16 kHz), runs streaming VAD and Whisper
through the shared ``AsrPool``, drives the pure ``analysis.captions.CaptionPolicy`` and hands caption
events to ``on_event``.

``on_event(event)`` is called on the event loop, in order, once per event; it may be a plain function
or a coroutine function (awaited before the next event). Event times (``start_s``, ``end_s``,
``at_s``) are session seconds: stream seconds (sample count / 16000) plus ``time_offset_s``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import numpy as np
import numpy.typing as npt

from analysis.captions import SAMPLE_RATE, CaptionPolicy, CaptionPolicySettings, DecodeRequest
from analysis.events import CaptionEvent, CaptionFinal, CaptionPartial
from server.live.asr import AsrPool, PartialSkippedError, StreamingVad, TranscriptionResult

log = logging.getLogger(__name__)

EventCallback = Callable[[CaptionEvent], Awaitable[None] | None]
RECENT_AUDIO_S = 32.0  # a turn of up to 24 s plus its padding, with room for the turn to be judged over


class CaptionStream:
    """Captions for one speaker stream. ``feed`` never blocks and never drops audio in normal use.

    The backlog (audio fed but not yet through VAD) is bounded by ``max_backlog_s``; past that, the
    oldest audio is dropped and counted in ``dropped_s`` (only if VAD stalls for that long).
    """

    def __init__(
        self,
        pool: AsrPool,
        stream_id: str,
        on_event: EventCallback,
        *,
        time_offset_s: float = 0.0,
        settings: CaptionPolicySettings | None = None,
        max_backlog_s: float = 30.0,
    ) -> None:
        self.stream_id = stream_id
        self.time_offset_s = time_offset_s
        self._pool = pool
        self._on_event = on_event
        self._policy = CaptionPolicy(stream_id, settings)
        self._vad = StreamingVad()
        self._backlog: deque[npt.NDArray[np.int16]] = deque()
        self._backlog_samples = 0
        self._max_backlog_samples = int(max_backlog_s * SAMPLE_RATE)
        self._dropped_samples = 0
        self._fed_samples = 0
        # The last RECENT_AUDIO_S of audio, for the second pass over a finished turn (analysis.revision).
        self._recent: deque[npt.NDArray[np.int16]] = deque()
        self._recent_samples = 0
        self._wake = asyncio.Event()
        self._decode: asyncio.Task[TranscriptionResult] | None = None
        self._request: DecodeRequest | None = None
        self._closing = False
        self._runner = asyncio.create_task(self._run(), name=f"captions-{stream_id}")
        self.decode_calls = 0
        self.events_sent = 0

    # ------------------------------------------------------------------ public
    def feed(self, samples: npt.NDArray[np.int16]) -> None:
        """Queue one chunk of int16 mono 16 kHz audio (any length)."""
        if self._closing:
            raise RuntimeError("CaptionStream is closed")
        chunk = np.asarray(samples, dtype=np.int16).reshape(-1)
        if not len(chunk):
            return
        self._backlog.append(chunk)
        self._backlog_samples += len(chunk)
        self._fed_samples += len(chunk)
        self._recent.append(chunk)
        self._recent_samples += len(chunk)
        while self._recent_samples - len(self._recent[0]) >= RECENT_AUDIO_S * SAMPLE_RATE:
            self._recent_samples -= len(self._recent.popleft())
        while self._backlog_samples > self._max_backlog_samples and len(self._backlog) > 1:
            old = self._backlog.popleft()
            self._backlog_samples -= len(old)
            self._dropped_samples += len(old)
            log.warning("captions %s: backlog full, dropped %.2f s of audio", self.stream_id,
                        len(old) / SAMPLE_RATE)
        self._wake.set()

    async def on_audio(self, samples: npt.NDArray[np.int16], start_s: float) -> None:
        """``server.media.consumers.AudioConsumer`` entry point: the first chunk's session time sets the offset."""
        if self._fed_samples == 0 and not self._backlog:
            self.time_offset_s = start_s
        self.feed(samples)

    def audio_between(self, start_s: float, end_s: float) -> npt.NDArray[np.float32] | None:
        """The stream's audio from ``start_s`` to ``end_s`` (session seconds) as float32, or None when
        part of it is no longer (or not yet) kept."""
        kept_from = self._fed_samples - self._recent_samples
        first = max(0, round((start_s - self.time_offset_s) * SAMPLE_RATE))  # nothing before the stream began
        last = min(round((end_s - self.time_offset_s) * SAMPLE_RATE), self._fed_samples)
        if first < kept_from or last <= first:
            return None
        audio = np.concatenate(list(self._recent))[first - kept_from : last - kept_from]
        return audio.astype(np.float32) / 32768.0

    @property
    def settled_until_s(self) -> float:
        """Session time up to which this speaker's speech is settled (the sentence assembler's pause clock)."""
        return self.time_offset_s + self._policy.settled_until_s

    @property
    def backlog_s(self) -> float:
        """Audio fed but not yet analysed, in seconds."""
        return self._backlog_samples / SAMPLE_RATE

    @property
    def dropped_s(self) -> float:
        return self._dropped_samples / SAMPLE_RATE

    @property
    def fed_s(self) -> float:
        return self._fed_samples / SAMPLE_RATE

    async def close(self, flush: bool = True) -> None:
        """Stop. With ``flush``, analyse the backlog and finalise pending speech first."""
        if not self._closing:
            self._closing = True
            if not flush:
                self._runner.cancel()
            self._wake.set()
        try:
            await self._runner
        except asyncio.CancelledError:
            if not self._runner.cancelled():
                raise
        finally:
            if self._decode is not None and not self._decode.done():
                self._decode.cancel()
            self._pool.load.forget(self.stream_id)

    # ------------------------------------------------------------------ internals
    async def _run(self) -> None:
        flushed = False
        while True:
            await self._wake.wait()
            self._wake.clear()
            # VAD works on 32 ms windows: wait for two before a hop to the VAD thread (or flush at close)
            if self._backlog and (self._backlog_samples >= 1024 or self._closing):
                chunks = list(self._backlog)
                self._backlog.clear()
                audio = np.concatenate(chunks).astype(np.float32) / 32768.0
                probs = await self._pool.vad(self._vad, audio)
                self._backlog_samples -= sum(len(c) for c in chunks)
                await self._emit(self._policy.feed(audio, probs))
            if self._decode is not None and not self._decode.done() and self._policy.final_waiting:
                # The utterance ended while its partial still waits in the queue: the final goes instead.
                self._withdraw_partial()
            if self._decode is not None and self._decode.done():
                await self._finish_decode()
            if self._closing and not self._backlog and not flushed:
                flushed = True
                await self._emit(self._policy.flush())
            if self._decode is None:
                self._start_decode()
            self._pool.load.progress(self.stream_id, self.fed_s, self._policy.settled_until_s)
            if flushed and self._decode is None and not self._backlog and not self._policy.pending:
                return

    def _withdraw_partial(self) -> None:
        if self._request is not None and self._request.kind == "partial":
            self._pool.withdraw_partial(self.stream_id)

    def _start_decode(self) -> None:
        base = self._policy.settings.partial_step_s
        load, now = self._pool.load, self._pool.now()
        step = load.partial_step_s(base, now)
        if step > base and self._policy.partial_due(base) and not self._policy.partial_due(step):
            if (load.settings.partials_fill_idle_workers and self._pool.has_idle_worker
                    and load.first_held(now) in (None, self.stream_id)):
                # The widened interval is there to leave workers to the decodes that wait; none waits.
                step = base
                load.partials_on_idle_workers += 1
            else:
                load.partial_held(self.stream_id, now)
                return
        load.partial_released(self.stream_id)
        short_final = self._pool.short_finals(self.stream_id, now)
        tail = load.tail_partials(now)
        request = self._policy.next_request(partial_step_s=step, short_final=short_final or None,
                                            tail_partial=tail or None)
        if request is None:
            return
        if request.kind == "final" and short_final and request.window_s is not None:
            load.finals_short += 1
        if request.context_start_s is not None:
            load.partials_tail += 1
        self._request = request
        self._decode = asyncio.create_task(
            self._pool.transcribe(
                request.audio,
                prompt=request.prompt,
                beam_size=request.beam_size,
                window_s=request.window_s,
                stream_id=self.stream_id,
                priority=0 if request.kind == "final" else 1,
                single_pass=request.single_pass,
            )
        )
        self._decode.add_done_callback(lambda _task: self._wake.set())
        self.decode_calls += 1

    async def _finish_decode(self) -> None:
        task, request = self._decode, self._request
        assert task is not None and request is not None
        self._decode = self._request = None
        try:
            result = task.result()
        except PartialSkippedError:
            self._policy.cancel(request)
            return
        except Exception:
            log.warning("captions %s: decode failed", self.stream_id, exc_info=True)
            self._policy.cancel(request)
            return
        await self._emit(self._policy.on_result(request, result))

    async def _emit(self, events: list[CaptionEvent]) -> None:
        for event in events:
            shifted = _shift(event, self.time_offset_s)
            self.events_sent += 1
            try:
                outcome = self._on_event(shifted)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("captions %s: on_event failed", self.stream_id)


def _shift(event: CaptionEvent, offset: float) -> CaptionEvent:
    if not offset:
        return event
    if isinstance(event, CaptionFinal):
        words = tuple(
            dataclasses.replace(w, start_s=w.start_s + offset, end_s=w.end_s + offset) for w in event.words
        )
        return dataclasses.replace(
            event, start_s=event.start_s + offset, end_s=event.end_s + offset, at_s=event.at_s + offset,
            words=words,
            speech_start_s=None if event.speech_start_s is None else event.speech_start_s + offset,
            speech_end_s=None if event.speech_end_s is None else event.speech_end_s + offset,
        )
    assert isinstance(event, CaptionPartial)
    return dataclasses.replace(event, start_s=event.start_s + offset, at_s=event.at_s + offset)

