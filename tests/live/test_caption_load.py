"""The ASR pool under load, with a fake transcriber: finals first, partials withdrawn for a final, partial
intervals widening with queue wait, round-robin fairness, decode lag and saturation, finals never refused."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from analysis.captions import AsrSegment, AsrWord, CaptionPolicySettings, TranscriptionResult
from analysis.events import CaptionEvent, CaptionFinal
from server.live.asr import AsrBusyError, AsrPool, AsrSettings, FakeTranscriber, PartialSkippedError
from server.live.caption_stream import CaptionStream
from server.live.load import LoadSettings, PoolLoad
from tests.live.test_asr_pool import load_jfk, words_result

AUDIO = np.zeros(1600, np.float32)


def recorder(order: list[str]) -> FakeTranscriber:
    def respond(audio: np.ndarray, prompt: str, beam: int | None) -> TranscriptionResult:
        order.append(prompt)
        return TranscriptionResult((), "en", 0.1)

    return FakeTranscriber(respond, delay_s=0.03)


async def test_finals_go_before_partials_and_streams_take_turns() -> None:
    order: list[str] = []
    pool = AsrPool(AsrSettings(num_workers=1), transcriber=recorder(order))
    await pool.start()
    busy = asyncio.ensure_future(pool.transcribe(AUDIO, prompt="busy", stream_id="x"))
    await asyncio.sleep(0.01)  # the only worker is taken: everything below queues
    jobs = [pool.transcribe(AUDIO, prompt=f"{s}-partial{i}", stream_id=s) for i in range(2) for s in "ab"]
    jobs.append(pool.transcribe(AUDIO, prompt="c-partial0", stream_id="c"))
    jobs.append(pool.transcribe(AUDIO, prompt="b-final", stream_id="b", priority=0))
    jobs.append(pool.transcribe(AUDIO, prompt="c-final", stream_id="c", priority=0))
    await asyncio.gather(busy, *jobs)
    await pool.close()
    assert order[0] == "busy"
    # Finals first, in queue order; then the partials round robin, a, b, c, a, b (no stream waits for
    # another's whole backlog).
    assert order[1:3] == ["b-final", "c-final"]
    assert order[3:] == ["a-partial0", "b-partial0", "c-partial0", "a-partial1", "b-partial1"]


async def test_a_queued_partial_is_withdrawn_for_its_stream_s_final_but_a_running_one_is_not() -> None:
    order: list[str] = []
    pool = AsrPool(AsrSettings(num_workers=1), transcriber=recorder(order))
    await pool.start()
    running = asyncio.ensure_future(pool.transcribe(AUDIO, prompt="a-running", stream_id="a"))
    await asyncio.sleep(0.01)
    queued = asyncio.ensure_future(pool.transcribe(AUDIO, prompt="b-partial", stream_id="b"))
    final = asyncio.ensure_future(pool.transcribe(AUDIO, prompt="b-final", stream_id="b", priority=0))
    await asyncio.sleep(0)
    assert pool.withdraw_partial("b") is True
    assert pool.withdraw_partial("a") is False  # a's partial already runs: it finishes
    with pytest.raises(PartialSkippedError):
        await queued
    await asyncio.gather(running, final)
    await pool.close()
    assert order == ["a-running", "b-final"]
    assert pool.load.partials_skipped == 1 and pool.snapshot()["partials_skipped"] == 1.0
    assert pool.queue_depth == 0


async def test_finals_are_never_refused_when_the_queue_is_full() -> None:
    empty = TranscriptionResult((), "en", 0.1)
    pool = AsrPool(AsrSettings(num_workers=1, max_queue=1), transcriber=FakeTranscriber([empty], delay_s=0.05))
    await pool.start()
    first = asyncio.ensure_future(pool.transcribe(AUDIO, stream_id="a"))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(pool.transcribe(AUDIO, stream_id="b"))
    await asyncio.sleep(0)
    with pytest.raises(AsrBusyError):  # a partial beyond the bound is refused ...
        await pool.transcribe(AUDIO, stream_id="c")
    final = await pool.transcribe(AUDIO, stream_id="c", priority=0)  # ... a final is not
    await asyncio.gather(first, second)
    await pool.close()
    assert final is empty and pool.metrics.rejected == 1


def test_partial_interval_widens_with_queue_wait_and_comes_back() -> None:
    load = PoolLoad(LoadSettings(window_s=10.0, max_partial_step_s=2.0, partial_wait_weight=1.0,
                                 final_wait_weight=2.0))
    assert load.partial_step_s(0.35, now=0.0) == pytest.approx(0.35)
    for t in range(5):
        load.job_started("partial", 0.4, now=float(t))
    assert load.partial_step_s(0.35, now=5.0) == pytest.approx(0.75)
    load.job_started("final", 0.3, now=5.0)
    assert load.partial_step_s(0.35, now=5.0) == pytest.approx(0.35 + 0.4 + 2 * 0.3)
    for t in range(6, 12):
        load.job_started("final", 5.0, now=float(t))
    assert load.partial_step_s(0.35, now=12.0) == pytest.approx(2.0)  # capped: partials still come
    # ten quiet seconds later the waits have left the window
    assert load.partial_step_s(0.35, now=30.0) == pytest.approx(0.35)
    assert not load.saturated(now=30.0)


def test_finals_shorten_their_window_when_finals_wait() -> None:
    load = PoolLoad(LoadSettings(short_final_wait_s=0.5, short_final_pressure_s=None))
    load.job_started("partial", 3.0, now=0.0)  # without the pressure rule, partials waiting long is not enough
    assert load.pressure_s(now=0.0) == pytest.approx(2 * 3.0) and not load.short_finals(now=0.0)
    load.job_started("final", 0.4, now=0.5)
    assert not load.short_finals(now=0.5)
    load.job_started("final", 0.8, now=0.6)  # finals wait 0.6 s on average
    assert load.short_finals(now=0.6)
    assert load.pressure_s(now=0.6) == pytest.approx(2 * 3.0 + 4 * 0.6)


def test_finals_shorten_their_window_when_they_run_slow_without_waiting() -> None:
    """A machine whose CPU others take: finals find a free worker at once but take seconds each."""
    load = PoolLoad(LoadSettings(short_final_wait_s=0.5, short_final_busy_s=2.5, short_final_partial_busy_s=1.5))
    load.job_started("final", 0.0, now=0.0)
    load.job_done(1.3, "final", now=1.3)  # an idle machine's 30 s-window final
    load.job_done(0.3, "partial", now=1.4)  # and partial
    assert not load.short_finals(now=1.5) and load.mean_wait_s("final", 1.5) == 0.0
    load.job_started("final", 0.0, now=2.0)
    load.job_done(8.0, "final", now=10.0)  # mean 4.65 s
    assert load.short_finals(now=10.0)
    assert load.snapshot(now=10.0)["final_decode_seconds"] == pytest.approx(4.65)
    assert not load.short_finals(now=25.0)  # ten quiet seconds later the slow finals have left the window
    # Before any final has run (an instance that just took sessions over): slow partials tell it.
    load.job_done(0.9, "partial", now=30.0)
    assert not load.short_finals(now=30.0)
    load.job_done(3.4, "partial", now=31.0)  # mean 2.15 s for short-window partials
    assert load.short_finals(now=31.0) and load.snapshot(now=31.0)["partial_decode_seconds"] == pytest.approx(2.15)


def test_decode_lag_is_received_minus_settled_and_saturation_follows_it() -> None:
    load = PoolLoad(LoadSettings(saturation_lag_s=6.0, saturation_final_wait_s=1.0))
    load.progress("a", received_s=10.0, settled_s=9.0)
    load.progress("b", received_s=10.0, settled_s=7.0)
    assert load.lag_s("a") == pytest.approx(1.0) and load.lag_s("b") == pytest.approx(3.0)
    assert not load.saturated(now=0.0)
    load.progress("b", received_s=30.0, settled_s=10.0)  # b fell 20 s behind: mean lag 10.5 s
    assert load.saturated(now=0.0)
    snap = load.snapshot(now=0.0)
    assert snap["decode_lag_max_seconds"] == pytest.approx(20.0)
    assert snap["decode_lag_mean_seconds"] == pytest.approx(10.5)
    assert snap["audio_received_seconds"] == pytest.approx(40.0) and snap["saturated"] == 1.0
    assert not any(key.startswith(("a", "b")) and key in ("a", "b") for key in snap)  # no stream names
    load.forget("b")
    assert not load.saturated(now=0.0)
    for t in range(3):
        load.job_started("final", 1.5, now=float(t))  # finals wait 1.5 s: behind as well
    assert load.saturated(now=3.0)


async def test_under_backlog_every_utterance_still_gets_its_final_and_partials_thin_out() -> None:
    """Three streams of real speech fed four times faster than real time into one slow worker: the pool is
    far behind, yet every stream's speech ends in finals (settled text is never dropped), fewer partials
    run than at ease, and the pool's lag figures saw it."""
    audio = load_jfk()

    async def run(delay_s: float) -> tuple[dict[str, list[CaptionEvent]], FakeTranscriber, AsrPool, float]:
        fake = FakeTranscriber(lambda a, p, b: words_result(a), delay_s=delay_s)
        pool = AsrPool(AsrSettings(num_workers=1), transcriber=fake, load=LoadSettings(short_final_wait_s=0.1))
        await pool.start()
        got: dict[str, list[CaptionEvent]] = {s: [] for s in "abc"}
        streams = [CaptionStream(pool, s, got[s].append) for s in "abc"]
        peak_lag = 0.0
        for k in range(0, len(audio), 1600):
            for stream in streams:
                stream.feed(audio[k : k + 1600])
            await asyncio.sleep(0.025)
            peak_lag = max(peak_lag, pool.snapshot()["decode_lag_max_seconds"])
        for stream in streams:
            stream.feed(np.zeros(16000, np.int16))
        await asyncio.gather(*(stream.close(flush=True) for stream in streams))
        await pool.close()
        return got, fake, pool, peak_lag

    slow_got, slow, slow_pool, slow_lag = await run(0.12)
    for events in slow_got.values():
        assert any(isinstance(e, CaptionFinal) and e.text for e in events)
    # under pressure finals decode in the partials' short window too (cheaper), counted apart
    short_finals = slow_pool.load.finals_short
    slow_partials = sum(1 for c in slow.calls if c[3] is not None) - short_finals
    slow_finals = sum(1 for c in slow.calls if c[3] is None) + short_finals
    assert slow_finals >= 3  # one per stream at least: none was dropped
    assert short_finals > 0
    assert slow_lag > 1.0  # the lag figure saw the pool fall behind
    assert slow_pool.load.partials_deferred + slow_pool.load.partials_skipped > 0
    assert slow_pool.load.lags_s == []  # closed streams are forgotten
    _, quick, quick_pool, _ = await run(0.005)
    quick_partials = sum(1 for c in quick.calls if c[3] is not None) - quick_pool.load.finals_short
    assert slow_partials < quick_partials


async def test_a_partial_the_widened_interval_holds_back_runs_when_a_worker_is_idle() -> None:
    """The widened interval leaves workers to the decodes that wait. With a worker free and nothing queued
    (here: one stream, two workers, the queue's recent waits long), holding a partial back only leaves
    the CPU idle while its words wait: it runs, counted apart; without that rule it is deferred."""
    audio = load_jfk()

    async def run(fill: bool) -> tuple[int, AsrPool]:
        fake = FakeTranscriber(lambda a, p, b: words_result(a), delay_s=0.005)
        pool = AsrPool(AsrSettings(num_workers=2), transcriber=fake,
                       load=LoadSettings(partials_fill_idle_workers=fill, short_final_pressure_s=None,
                                         tail_partial_pressure_s=None))
        await pool.start()
        stream = CaptionStream(pool, "s", lambda e: None)
        for k in range(0, len(audio), 1600):
            pool.load.job_started("partial", 2.0, now=pool.now())  # the pool's figures say: far behind
            stream.feed(audio[k : k + 1600])
            await asyncio.sleep(0.03)
        stream.feed(np.zeros(16000, np.int16))
        await stream.close(flush=True)
        await pool.close()
        return sum(1 for c in fake.calls if c[3] is not None), pool

    filled, filled_pool = await run(True)
    held, held_pool = await run(False)
    assert held_pool.load.partial_step_s(0.35, held_pool.now()) == pytest.approx(2.0)  # widened to the cap
    assert held_pool.load.partials_deferred > 0 and held_pool.load.partials_on_idle_workers == 0
    assert filled_pool.load.partials_deferred == 0 and filled_pool.load.partials_on_idle_workers > 0
    assert filled > 2 * held
    assert filled_pool.snapshot()["partials_on_idle_workers"] == filled_pool.load.partials_on_idle_workers


def test_an_idle_worker_goes_to_the_partial_held_back_longest() -> None:
    """A stream whose decode has just finished sees its worker free first; the worker goes to the stream
    that has waited longest instead, unless that one stopped sending audio (held past the widest step)."""
    load = PoolLoad(LoadSettings(max_partial_step_s=2.0))
    assert load.first_held(0.0) is None
    load.partial_held("b", now=1.0)
    load.partial_held("a", now=1.5)
    load.partial_held("b", now=1.8)  # still held since 1.0
    assert load.first_held(2.0) == "b"
    load.partial_released("b")
    assert load.first_held(2.0) == "a"
    load.partial_held("b", now=2.1)
    assert load.first_held(2.2) == "a"
    assert load.first_held(4.1) == "b"  # "a" has not come back for 2.6 s: it sends no audio
    load.forget("b")
    assert load.first_held(4.1) is None


def test_under_pressure_finals_shorten_first_then_partials_decode_only_their_tail() -> None:
    # The defaults' order: the partial interval widens, then finals take the short window (cheaper in
    # accuracy), then partials decode only after the settled words; shedding comes last.
    load = PoolLoad(LoadSettings())
    assert not load.tail_partials(now=0.0) and not load.short_finals(now=0.0)
    load.job_started("partial", 0.2, now=0.5)  # a little queueing: the interval widens, nothing else
    assert load.partial_step_s(0.35, now=0.5) > 0.35
    assert not load.short_finals(now=0.5) and not load.tail_partials(now=0.5)
    load.job_started("partial", 0.6, now=0.6)  # mean partial wait 0.4 s: pressure 0.8 s
    assert load.short_finals(now=0.6) and not load.tail_partials(now=0.6)
    load.job_started("partial", 1.0, now=1.0)  # mean partial wait 0.6 s: pressure 1.2 s
    assert load.short_finals(now=1.0) and load.tail_partials(now=1.0) and not load.saturated(now=1.0)
    assert not load.tail_partials(now=20.0) and not load.short_finals(now=20.0)  # the waits have left the window
    assert not PoolLoad(LoadSettings(tail_partial_pressure_s=None)).tail_partials(now=0.0)
    never = PoolLoad(LoadSettings(short_final_pressure_s=None))
    never.job_started("partial", 1.0, now=0.0)
    assert never.pressure_s(now=0.0) == pytest.approx(2.0) and not never.short_finals(now=0.0)


async def test_under_pressure_a_stream_decodes_partials_only_after_the_settled_words() -> None:
    """The transcriber gets, for a tail partial, only the audio from just before the last settled word on
    (the exact samples of the stream there), prompted with the settled words before it; the finals are
    the same words as with whole-buffer partials, none doubled."""
    audio = load_jfk()
    # the clip's words where its VAD hears them (tiny.en's own times stretch words over the pauses)
    spoken = [(" And", 0.32, 0.6), (" so,", 0.6, 0.9), (" my", 1.2, 1.4), (" fellow", 1.4, 1.75),
              (" Americans", 1.76, 2.24), (" ask", 3.3, 3.7), (" not", 3.97, 4.35), (" what", 5.44, 5.7),
              (" your", 5.7, 6.02), (" country", 6.02, 6.36), (" can", 6.36, 6.76), (" do", 6.76, 7.02),
              (" for", 7.02, 7.26), (" you", 7.26, 7.6), (" ask", 8.22, 8.66), (" what", 8.66, 8.94),
              (" you", 8.94, 9.28), (" can", 9.28, 9.5), (" do", 9.5, 9.72), (" for", 9.72, 9.92),
              (" your", 9.92, 10.22), (" country.", 10.22, 10.5)]
    whole = audio.tobytes()
    offsets: list[tuple[float, float, str]] = []  # start, seconds, prompt of every decode

    def respond(chunk: np.ndarray, prompt: str, beam: int | None) -> TranscriptionResult:
        # a perfect recogniser: find where the chunk lies in the clip, answer with the words inside it
        # (by its last 40 ms: its first ones may be digital silence, found anywhere)
        ints = np.round(chunk * 32768).astype(np.int16).tobytes()
        at = whole.find(ints[-1280:])
        while at % 2:
            at = whole.find(ints[-1280:], at + 1)
        assert at >= 0
        dur = len(chunk) / 16000
        start = (at + 1280) / 2 / 16000 - dur
        offsets.append((start, dur, prompt))
        words = tuple(AsrWord(t, max(s - start, 0.0), min(e, start + dur) - start, 0.9) for t, s, e in spoken
                      if start <= (s + e) / 2 < start + dur - 0.1)
        text = "".join(w.text for w in words)
        return TranscriptionResult((AsrSegment(text, 0, dur, -0.2, 0.01, 1.2, words),) if words else (), "en", dur)

    async def run(tail: bool) -> tuple[list[str], list[tuple[float, float, str]], AsrPool]:
        offsets.clear()
        fake = FakeTranscriber(respond, delay_s=0.01)
        pool = AsrPool(AsrSettings(num_workers=1), transcriber=fake,
                       load=LoadSettings(tail_partial_pressure_s=-1.0 if tail else None))
        await pool.start()
        got: list[CaptionEvent] = []
        # the clip's utterances are 2.2 s at most: agree from 1 s, skip from 0.5 s, so tails happen in them
        settings = CaptionPolicySettings(min_agree_audio_s=1.0, partial_tail_min_skip_s=0.5)
        stream = CaptionStream(pool, "t", got.append, settings=settings)
        for k in range(0, len(audio), 1600):  # 2.5x real time
            stream.feed(audio[k : k + 1600])
            await asyncio.sleep(0.04)
        stream.feed(np.zeros(16000, np.int16))
        await stream.close(flush=True)
        await pool.close()
        text = " ".join(e.text for e in got if isinstance(e, CaptionFinal)).split()
        return text, list(offsets), pool

    tail_text, tail_calls, tail_pool = await run(True)
    whole_text, whole_calls, whole_pool = await run(False)
    expected = "".join(t for t, _, _ in spoken).split()
    assert whole_text == expected, whole_text
    assert tail_text == expected, tail_text
    assert whole_pool.load.partials_tail == 0 and tail_pool.load.partials_tail >= 3
    prompted = [(start, dur, prompt) for start, dur, prompt in tail_calls if prompt]
    assert len(prompted) == tail_pool.load.partials_tail
    for start, _dur, prompt in prompted:
        # the audio starts 0.1 s before a word; the prompt ends with the word before it
        k = min(range(len(spoken)), key=lambda i: abs(spoken[i][1] - 0.1 - start))
        assert abs(spoken[k][1] - 0.1 - start) < 0.01, tail_calls
        assert start > 0.5  # after the utterance's start, never its whole buffer
        assert prompt.split()[-1].strip(",.") == spoken[k - 1][0].strip(" ,.")
    tail_partial_s = sum(dur for _, dur, _ in tail_calls[:-1])
    whole_partial_s = sum(dur for _, dur, _ in whole_calls[:-1])
    assert tail_partial_s < whole_partial_s  # the clip's utterances are short: the saving is too (~15%)
    assert tail_pool.snapshot()["partials_tail"] == tail_pool.load.partials_tail


async def test_a_final_takes_the_short_window_while_another_stream_is_decoded() -> None:
    """One worker, no final timed yet (as on an instance that has just taken sessions over): while another
    stream has a decode queued or running, a stream's final decodes in the short window (the other
    stream's captions would wait behind a 30 s-window final); once a final has been timed the load figures
    decide. Alone, or with the setting off, finals keep Whisper's full window."""
    speech = load_jfk()[: 16000 * 8]

    async def finals_windows(*, contended: bool, when_contended: bool = True) -> tuple[list[float | None], int]:
        fake = FakeTranscriber(lambda a, p, b: words_result(a) if p != "b-busy" else TranscriptionResult((), "en", 0.1),
                               delay_s=0.02)
        pool = AsrPool(AsrSettings(num_workers=1), transcriber=fake,
                       load=LoadSettings(short_final_when_contended=when_contended))
        await pool.start()
        stop = asyncio.Event()

        async def other_stream() -> None:
            while not stop.is_set():
                await pool.transcribe(AUDIO, prompt="b-busy", stream_id="b")

        other = asyncio.ensure_future(other_stream()) if contended else None
        await asyncio.sleep(0.01)
        assert pool.serving_others("a") is contended and not pool.serving_others("b")
        # Every final would take the full window on an idle pool (no cut for short ones here).
        stream = CaptionStream(pool, "a", lambda e: None, settings=CaptionPolicySettings(short_final_under_s=0.0))
        for k in range(0, len(speech), 1600):
            stream.feed(speech[k : k + 1600])
            await asyncio.sleep(0.02)
        stream.feed(np.zeros(16000, np.int16))
        await stream.close(flush=True)
        stop.set()
        if other is not None:
            await other
        await pool.close()
        finals = [window for _, prompt, _, window in fake.calls if prompt != "b-busy"]
        return finals, pool.load.finals_short

    windows, short = await finals_windows(contended=False)
    assert None in windows and short == 0  # full-window finals
    windows, short = await finals_windows(contended=True)
    assert short >= 1
    windows, short = await finals_windows(contended=True, when_contended=False)
    assert None in windows and short == 0


def test_the_pool_knows_whether_it_has_timed_a_recent_final() -> None:
    load = PoolLoad(LoadSettings(window_s=10.0))
    assert not load.timed_recently("final", now=0.0)
    load.job_done(0.4, "partial", now=1.0)
    assert not load.timed_recently("final", now=1.0)
    load.job_done(1.2, "final", now=2.0)
    assert load.timed_recently("final", now=2.0) and load.timed_recently("final", now=11.9)
    assert not load.timed_recently("final", now=12.1)
