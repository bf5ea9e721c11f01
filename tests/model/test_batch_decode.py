"""The real model's batched partial decode (``server.live.batch_decode``): the same words as one decode per
stream, and the caption engine batching partials of concurrent streams with the transcripts intact."""

from __future__ import annotations

import asyncio

import jiwer
import numpy as np
import pytest

from analysis.events import CaptionFinal
from analysis.text_normalize import normalize_text
from server.live.asr import AsrPool, AsrSettings, PartialDecode, WhisperTranscriber

from .streaming import DATA, load, stream
from .test_asr_real import references

pytestmark = pytest.mark.model

CLIPS = [
    "librispeech_samples/2412-153948-0000.flac",
    "librispeech_samples/1089-134686-0000.flac",
    "ljspeech_subset/wavs/LJ001-0001.flac",
    "ljspeech_subset/wavs/LJ001-0004.flac",
]


def words(result: object) -> list[tuple[str, float, float]]:
    return [(w.text, round(w.start_s, 2), round(w.end_s, 2)) for s in result.segments for w in s.words]  # type: ignore[attr-defined]


@pytest.mark.parametrize("beam", [5, 1])
def test_a_batch_of_partials_gives_each_stream_the_words_of_its_own_decode(
    transcriber: WhisperTranscriber, beam: int,
) -> None:
    # partial buffers of four speakers, 2.6-3.5 s of speech each: all in the 5 s minimum partial window.
    # (A decode that loops until its token cap keeps the batch's longer score: not compared here.)
    audios = [load(DATA / clip)[: int(16000 * (2.6 + 0.3 * i))].astype(np.float32) / 32768
              for i, clip in enumerate(CLIPS)]
    prompts = ["", "", "", ""]
    apart = [transcriber.transcribe(a, prompt=p, beam_size=beam, window_s=5.0, single_pass=True)
             for a, p in zip(audios, prompts, strict=True)]
    together = transcriber.transcribe_batch(
        [PartialDecode(a, p, 5.0) for a, p in zip(audios, prompts, strict=True)], beam_size=beam)
    assert [r.text for r in together] == [r.text for r in apart]
    assert [words(r) for r in together] == [words(r) for r in apart]
    assert all(r.text.strip() for r in together)
    for a, b in zip(apart, together, strict=True):
        for sa, sb in zip(a.segments, b.segments, strict=True):
            assert sb.avg_logprob == pytest.approx(sa.avg_logprob, abs=0.02)
            assert sb.no_speech_prob == pytest.approx(sa.no_speech_prob, abs=0.02)
            assert sb.compression_ratio == pytest.approx(sa.compression_ratio, abs=0.01)


def test_prompts_of_different_lengths_are_decoded_in_their_own_groups(transcriber: WhisperTranscriber) -> None:
    audio = load(DATA / "jfk" / "jfk.flac").astype(np.float32)[: 16000 * 8] / 32768
    decodes = [PartialDecode(audio, "", 9.0), PartialDecode(audio, "My fellow Americans.", 9.0),
               PartialDecode(audio, "", 9.0)]
    together = transcriber.transcribe_batch(decodes, beam_size=5)
    apart = [transcriber.transcribe(d.audio, prompt=d.prompt, beam_size=5, window_s=9.0, single_pass=True)
             for d in decodes]
    assert [r.text for r in together] == [r.text for r in apart]
    assert together[0].text == together[2].text and "country" in normalize_text(together[0].text)


async def test_concurrent_streams_share_partial_decodes_and_keep_their_transcripts(
    transcriber: WhisperTranscriber,
) -> None:
    refs = references()
    # one worker for four streams at 2x real time: partials queue up, so they are decoded in batches
    pool = AsrPool(AsrSettings(num_workers=1, max_batch=4), transcriber=transcriber)
    await pool.start()
    try:
        runs = await asyncio.gather(*(stream(pool, load(DATA / clip), speed=2.0, stream_id=f"p-{i}")
                                      for i, clip in enumerate(CLIPS)))
    finally:
        await pool.close()
    hyps = [normalize_text(" ".join(e.text for e in events if isinstance(e, CaptionFinal))) for events in runs]
    truths = [normalize_text(refs.get(clip) or (DATA / "jfk" / "jfk.txt").read_text()) for clip in CLIPS]
    assert pool.metrics.batches >= 3 and pool.metrics.batched_partials >= 2 * pool.metrics.batches
    assert jiwer.wer(truths, hyps) <= 0.12, list(zip(truths, hyps, strict=True))
