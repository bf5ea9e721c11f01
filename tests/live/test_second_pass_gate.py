"""Gates on the pool's load: a turn's second pass (seconds of one worker) starts only on a pool with a free
worker, nothing queued and short recent waits, so it never makes the captions' decodes wait; a session that
started without live captions gets them only with room and an unhurried pool."""

from __future__ import annotations

import asyncio

import numpy as np

from analysis.captions import TranscriptionResult
from server.live.asr import AsrPool, AsrSettings, FakeTranscriber
from server.live.engine import READMIT_SPACING_S, free_for_second_pass, room_for_a_late_session

AUDIO = np.zeros(1600, np.float32)


async def test_a_second_pass_waits_for_a_free_worker_an_empty_queue_and_short_waits() -> None:
    pool = AsrPool(AsrSettings(num_workers=2), transcriber=FakeTranscriber([TranscriptionResult((), "en", 0.1)],
                                                                           delay_s=0.12))
    await pool.start()
    try:
        assert free_for_second_pass(pool)
        one = asyncio.ensure_future(pool.transcribe(AUDIO, stream_id="a"))
        await asyncio.sleep(0.03)
        assert pool.in_flight == 1 and free_for_second_pass(pool)  # the other worker is free
        two = asyncio.ensure_future(pool.transcribe(AUDIO, stream_id="b"))
        await asyncio.sleep(0.03)
        assert pool.in_flight == 2 and not free_for_second_pass(pool)  # both busy (the old gate said yes)
        three = asyncio.ensure_future(pool.transcribe(AUDIO, stream_id="c"))
        await asyncio.sleep(0)
        assert pool.queue_depth == 1 and not free_for_second_pass(pool)
        await asyncio.gather(one, two, three)
        assert free_for_second_pass(pool)
        # a final that just waited 0.1 s in the queue: captions are being held up, no second pass yet
        pool.load.job_started("final", 0.1, pool.now())
        assert pool.queue_depth == 0 and pool.in_flight == 0 and not free_for_second_pass(pool)
    finally:
        await pool.close()


async def test_a_session_that_started_without_captions_gets_them_only_with_room_and_an_easy_pool() -> None:
    pool = AsrPool(AsrSettings(num_workers=1), transcriber=FakeTranscriber([TranscriptionResult((), "en", 0.1)]))
    await pool.start()
    try:
        now = pool.now()
        assert room_for_a_late_session(pool, 1, 2, None)
        assert room_for_a_late_session(pool, 1, 2, now - READMIT_SPACING_S - 0.1)
        assert not room_for_a_late_session(pool, 2, 2, None)  # as many captioned sessions as allowed
        assert not room_for_a_late_session(pool, 1, 2, now - 1.0)  # one was just given captions
        # finals waited 0.1 s in the queue: the captions already served are held up a little
        pool.load.job_started("final", 0.1, pool.now())
        assert not room_for_a_late_session(pool, 1, 2, None)
    finally:
        await pool.close()
