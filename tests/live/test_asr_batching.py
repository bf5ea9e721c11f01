"""Partials of different streams that wait together are decoded in one call (fake transcriber; the real
model's batched decode: tests/model/test_batch_decode.py)."""

from __future__ import annotations

import asyncio

import numpy as np

from analysis.captions import AsrSegment, TranscriptionResult
from server.live.asr import AsrPool, AsrSettings, FakeTranscriber

AUDIO = np.zeros(16000, np.float32)


def echo(audio: np.ndarray, prompt: str, beam: int | None) -> TranscriptionResult:
    return TranscriptionResult((AsrSegment(prompt, 0.0, 1.0, -0.2, 0.01, 1.0, ()),), "en", 1.0)


async def run_queued(settings: AsrSettings, jobs: list[dict[str, object]]) -> tuple[FakeTranscriber, AsrPool,
                                                                                   list[str]]:
    """Queue ``jobs`` while the only worker is busy with a final of stream "x"; return what each got."""
    fake = FakeTranscriber(echo, delay_s=0.05)
    pool = AsrPool(settings, transcriber=fake)
    await pool.start()
    busy = asyncio.ensure_future(pool.transcribe(AUDIO, prompt="busy", stream_id="x", priority=0))
    await asyncio.sleep(0.01)
    futures = [pool.transcribe(AUDIO, **job) for job in jobs]  # type: ignore[arg-type]
    results = await asyncio.gather(busy, *futures)
    await pool.close()
    return fake, pool, [r.text for r in results[1:]]


def partial(stream: str, prompt: str, window_s: float = 5.0, beam: int | None = None) -> dict[str, object]:
    return {"stream_id": stream, "prompt": prompt, "window_s": window_s, "single_pass": True, "beam_size": beam}


async def test_waiting_partials_of_different_streams_share_one_call_and_each_gets_its_own_words() -> None:
    jobs = [partial(s, f"{s}1") for s in "abcde"] + [partial("a", "a2")]
    fake, pool, texts = await run_queued(AsrSettings(num_workers=1, max_batch=4), jobs)
    assert texts == ["a1", "b1", "c1", "d1", "e1", "a2"]
    # one stream's two partials never share a call; the first call takes four streams, round robin
    assert fake.batches == [4, 2]
    assert [c[1] for c in fake.calls] == ["busy", "a1", "b1", "c1", "d1", "e1", "a2"]
    snapshot = pool.snapshot()
    assert snapshot["batches"] == 2 and snapshot["batched_partials"] == 6
    assert pool.metrics.calls == 7 and pool.queue_depth == 0


async def test_finals_plain_decodes_other_beams_far_windows_and_max_batch_1_are_not_batched() -> None:
    jobs = [
        {"stream_id": "a", "prompt": "a-final", "window_s": 5.0, "single_pass": True, "priority": 0},
        partial("b", "b-long-window", window_s=20.0),
        partial("c", "c-greedy", beam=1),
        {"stream_id": "d", "prompt": "d-two-pass", "window_s": 5.0},
        partial("e", "e"),
    ]
    fake, _pool, texts = await run_queued(AsrSettings(num_workers=1, max_batch=4), jobs)
    assert texts == ["a-final", "b-long-window", "c-greedy", "d-two-pass", "e"]
    assert fake.batches == []  # b's window is 4x e's; c asks for another beam; a is a final, d two-pass

    jobs = [partial(s, s) for s in "abc"]
    fake, _pool, texts = await run_queued(AsrSettings(num_workers=1, max_batch=1), jobs)
    assert texts == ["a", "b", "c"] and fake.batches == []


async def test_a_failed_batch_fails_each_of_its_partials_and_the_pool_carries_on() -> None:
    def broken(audio: np.ndarray, prompt: str, beam: int | None) -> TranscriptionResult:
        if prompt.startswith("bad"):
            raise RuntimeError("model error")
        return echo(audio, prompt, beam)

    pool = AsrPool(AsrSettings(num_workers=1, max_batch=4), transcriber=FakeTranscriber(broken, delay_s=0.05))
    await pool.start()
    busy = asyncio.ensure_future(pool.transcribe(AUDIO, prompt="busy", stream_id="x", priority=0))
    await asyncio.sleep(0.01)
    batch = [pool.transcribe(AUDIO, **partial(s, f"bad-{s}")) for s in "ab"]  # type: ignore[arg-type]
    outcomes = await asyncio.gather(busy, *batch, return_exceptions=True)
    after = await pool.transcribe(AUDIO, **partial("a", "good"))  # type: ignore[arg-type]
    await pool.close()
    assert [type(o).__name__ for o in outcomes[1:]] == ["RuntimeError", "RuntimeError"]
    assert after.text == "good" and pool.metrics.failures == 1
