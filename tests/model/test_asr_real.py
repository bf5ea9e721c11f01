"""Live captions with the real model: recordings streamed through CaptionStream + AsrPool.

WER bound: on the manifest, bench.captions measured tiny.en at 4.6 % offline and 4.4-4.6 % streaming;
the six clips here score about 4-8 % streamed at 4x real time. 12 % leaves room for
the faster pacing (fewer partial decodes) and machine load, while a broken policy (lost or repeated
lines, cut words) lands far above it.
"""

from __future__ import annotations

import csv
import re

import jiwer
import numpy as np
import pytest

from analysis.events import CaptionFinal, CaptionPartial
from analysis.text_normalize import normalize_text
from server.live.asr import MAX_NEW_TOKENS_CAP, AsrPool, AsrSettings, StreamingVad, WhisperTranscriber

from .streaming import DATA, load, read_wav, stream

pytestmark = pytest.mark.model

STREAMING_WER_MAX = 0.12
STOCK_PHRASES = re.compile(r"\b(thank you|thanks for watching|subscribe|bye|see you next time)\b")
CLIPS = [
    "jfk/jfk.flac",
    "librispeech_samples/1089-134686-0000.flac",
    "librispeech_samples/2412-153948-0000.flac",
    "ljspeech_subset/wavs/LJ001-0001.flac",
    "ljspeech_subset/wavs/LJ001-0004.flac",
    "ljspeech_subset/wavs/LJ001-0011.flac",
]


def references() -> dict[str, str]:
    with (DATA / "wer_manifest.tsv").open(newline="") as f:
        return {r["path"]: r["reference"] for r in csv.DictReader(f, delimiter="\t")}


# Partials in a short encoder window (the default) and in Whisper's full 30 s window.
PARTIAL_WINDOWS = pytest.mark.parametrize("window_pad", [1.0, None], ids=["short-window", "full-window"])


@PARTIAL_WINDOWS
async def test_streamed_recordings_match_their_references(
    transcriber: WhisperTranscriber, window_pad: float | None
) -> None:
    refs = references()
    pool = AsrPool(AsrSettings(), transcriber=transcriber)
    await pool.start()
    hyps, truths = [], []
    partial_count = 0
    try:
        for clip in CLIPS:
            events = await stream(pool, load(DATA / clip), window_pad=window_pad)
            finals = [e for e in events if isinstance(e, CaptionFinal)]
            partials = [e for e in events if isinstance(e, CaptionPartial)]
            assert finals, clip
            partial_count += len(partials)
            # a short window must not make Whisper's stock endings show up, even as provisional text
            shown = " ".join(normalize_text(f"{p.stable_text} {p.tentative_text}") for p in partials)
            assert not STOCK_PHRASES.search(shown), (clip, shown)
            assert all(e.start_s >= 100.0 for e in finals)  # session time = stream time + offset
            hyps.append(normalize_text(" ".join(e.text for e in finals)))
            truths.append(normalize_text(refs.get(clip) or (DATA / "jfk" / "jfk.txt").read_text()))
    finally:
        await pool.close()
    error = jiwer.wer(truths, hyps)
    assert error <= STREAMING_WER_MAX, list(zip(truths, hyps, strict=True))
    # partial decodes ran while the clips streamed, not one call per clip at the end
    assert partial_count >= len(CLIPS) and pool.metrics.calls > len(CLIPS) * 2
    # partials ran in short windows (about half the CPU of 30 s ones, bench.captions) only when asked to
    assert (pool.metrics.windowed_calls > len(CLIPS)) == (window_pad is not None)


@PARTIAL_WINDOWS
@pytest.mark.parametrize("name", ["white_noise", "brown_noise", "hum", "music"])
async def test_noise_and_music_give_no_text(
    transcriber: WhisperTranscriber, name: str, window_pad: float | None
) -> None:
    pool = AsrPool(AsrSettings(), transcriber=transcriber)
    await pool.start()
    try:
        events = await stream(pool, read_wav(DATA / "asr" / f"{name}.wav"), speed=8.0, window_pad=window_pad)
    finally:
        await pool.close()
    assert [e.text for e in events if e.text] == []


async def test_silence_gives_no_text_and_no_decodes(transcriber: WhisperTranscriber) -> None:
    pool = AsrPool(AsrSettings(), transcriber=transcriber)
    await pool.start()
    try:
        events = await stream(pool, np.zeros(10 * 16000, np.int16), speed=10.0)
        quiet = (np.random.default_rng(1).normal(0, 30, 10 * 16000)).astype(np.int16)  # room tone
        events += await stream(pool, quiet, speed=10.0)
    finally:
        await pool.close()
    assert events == [] and pool.metrics.calls == 0


def test_whisper_transcriber_returns_words_and_guard_signals(transcriber: WhisperTranscriber) -> None:
    audio = load(DATA / "jfk" / "jfk.flac").astype(np.float32) / 32768
    result = transcriber.transcribe(audio, beam_size=1)
    words = [w for s in result.segments for w in s.words]
    assert "country" in normalize_text(result.text).split()
    assert all(0.0 <= w.start_s <= w.end_s <= 11.5 and 0.0 <= w.probability <= 1.0 for w in words)
    assert all(s.no_speech_prob < 0.5 and s.avg_logprob > -1.0 and s.compression_ratio < 2.4
               for s in result.segments)
    assert result.language == "en"


def test_a_short_encoder_window_gives_the_same_words_and_encodes_only_that_window(
    transcriber: WhisperTranscriber,
) -> None:
    audio = load(DATA / "jfk" / "jfk.flac").astype(np.float32) / 32768  # 11 s
    full = transcriber.transcribe(audio, beam_size=1)
    assert transcriber.encoded_frames() == 3000
    short = transcriber.transcribe(audio, beam_size=1, window_s=12.0)
    assert transcriber.encoded_frames() == 1200
    assert normalize_text(short.text) == normalize_text(full.text)
    ends = [w.end_s for s in short.segments for w in s.words]
    assert ends and max(ends) <= 11.5
    # a window shorter than the audio is widened to hold it all
    transcriber.transcribe(audio[: 16000 * 8], beam_size=1, window_s=2.0)
    assert transcriber.encoded_frames() == 802
    transcriber.transcribe(audio, beam_size=1)  # the next plain call is back to Whisper's 30 s
    assert transcriber.encoded_frames() == 3000


def test_a_single_pass_partial_encodes_once_and_keeps_the_first_pass_words(transcriber: WhisperTranscriber) -> None:
    """A partial's audio ends mid-speech; faster-whisper then decodes the audio after the last word's end a
    second time (encode and generate again). ``single_pass`` stops after the first pass: one encode, the
    same words up to where the first pass ended."""
    audio = load(DATA / "jfk" / "jfk.flac").astype(np.float32) / 32768
    passes = []
    for cut_s in (3.0, 5.9, 6.5, 7.1, 9.6):  # ends inside words
        chunk = audio[: int(cut_s * 16000)]
        double = transcriber.transcribe(chunk, beam_size=5, window_s=max(5.0, np.ceil(cut_s + 1.0)))
        passes.append(transcriber.encode_calls())
        single = transcriber.transcribe(chunk, beam_size=5, window_s=max(5.0, np.ceil(cut_s + 1.0)),
                                        single_pass=True)
        assert transcriber.encode_calls() == 1
        single_words = [w.text for s in single.segments for w in s.words]
        double_words = [w.text for s in double.segments for w in s.words]
        assert single_words == double_words[: len(single_words)] and single_words, (single_words, double_words)
    assert max(passes) >= 2  # the plain decode does take a second pass on some of these cuts
    transcriber.transcribe(audio[: 16000 * 6], beam_size=1)
    assert transcriber.encode_calls() >= 1  # plain calls are not limited


def test_finals_fall_back_on_three_temperatures_of_one_sample_and_every_decode_is_capped(
    transcriber: WhisperTranscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """faster-whisper's own fallback (six temperatures, five samples each) made the slowest 5 % of finals
    cost 2.4 times more for the same WER (bench.final_window): a final tries 0.0, 0.2, 0.4 with one sample,
    partials never fall back, and no decode may generate more tokens than fit beside the longest prompt."""
    calls: list[dict[str, object]] = []
    real = transcriber._model.transcribe

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(transcriber._model, "transcribe", spy)
    audio = load(DATA / "jfk" / "jfk.flac").astype(np.float32) / 32768
    transcriber.transcribe(audio, beam_size=5)  # a final: beam search in Whisper's window
    transcriber.transcribe(audio[: 16000 * 3], beam_size=5, window_s=5.0)  # a windowed partial
    assert calls[0]["temperature"] == (0.0, 0.2, 0.4) and calls[0]["best_of"] == 1
    assert calls[1]["temperature"] == 0.0
    # A 29 s turn with a prompt of the most faster-whisper keeps: uncapped, 300 new tokens and the prompt's
    # 228 would exceed Whisper's 448 and raise.
    long_turn = np.tile(audio, 3)[: 16000 * 29]
    prompt = " ".join(["and so my fellow Americans ask not what your country can do for you"] * 30)
    result = transcriber.transcribe(long_turn, prompt=prompt, beam_size=5)
    assert "country" in normalize_text(result.text).split()
    assert all(isinstance(c["max_new_tokens"], int) and c["max_new_tokens"] <= MAX_NEW_TOKENS_CAP for c in calls)


def test_streaming_vad_matches_whole_file_vad_and_finds_the_speech() -> None:
    from faster_whisper.vad import get_vad_model

    audio = load(DATA / "jfk" / "jfk.flac").astype(np.float32) / 32768
    n = len(audio) // 512 * 512
    whole = get_vad_model()(audio[:n]).reshape(-1)
    vad = StreamingVad()
    chunked: list[float] = []
    for k in range(0, len(audio), 320):
        chunked += vad(audio[k : k + 320])
    np.testing.assert_allclose(chunked[: len(whole)], whole, atol=1e-5)
    assert np.mean(np.asarray(chunked) > 0.5) > 0.6  # JFK speaks most of the clip
