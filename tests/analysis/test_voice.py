"""Voice cues: real LJ Speech read speech as the baseline, sox-modified continuations as the change."""

from __future__ import annotations

import subprocess
from functools import cache

import numpy as np
import pytest
from numpy.typing import NDArray

from analysis.events import CaptionFinal, Cue
from analysis.voice import VoiceAnalyzer, VoiceSettings, yin_f0
from bench.cues import DATA, load_mono_16k

SR = 16_000
LJ = sorted((DATA / "ljspeech_subset" / "wavs").glob("*.flac"))
# The real recordings have ~110 s of speech in the first 16 clips: enough for an 80 s baseline.
SETTINGS = VoiceSettings(baseline_speech_s=80.0)


@cache
def lj_clips() -> tuple[NDArray[np.int16], ...]:
    assert len(LJ) == 32
    return tuple(load_mono_16k(path) for path in LJ)


def join(clips: tuple[NDArray[np.int16], ...], gap_s: float) -> NDArray[np.int16]:
    gap = np.zeros(round(gap_s * SR), dtype=np.int16)
    return np.concatenate([piece for clip in clips for piece in (clip, gap)])


def sox(samples: NDArray[np.int16], *effects: str) -> NDArray[np.int16]:
    """Run Debian's sox on raw 16 kHz int16 audio through pipes (tempo: WSOLA; pitch: WSOLA + resample)."""
    raw = ["-t", "raw", "-r", str(SR), "-e", "signed", "-b", "16", "-c", "1"]
    done = subprocess.run(["sox", *raw, "-", *raw, "-", *effects], input=samples.tobytes(), check=True,
                          capture_output=True)
    return np.frombuffer(done.stdout, dtype=np.int16).copy()


def run(analyzer: VoiceAnalyzer, samples: NDArray[np.int16], start_s: float = 0.0,
        chunk: int = 1600) -> list[Cue]:
    cues: list[Cue] = []
    for offset in range(0, samples.size, chunk):
        cues.extend(analyzer.feed(samples[offset : offset + chunk], start_s + offset / SR))
    return cues


def continuation_cues(continuation: NDArray[np.int16]) -> tuple[VoiceAnalyzer, list[Cue]]:
    baseline = join(lj_clips()[:16], 0.4)
    analyzer = VoiceAnalyzer("client-1", SETTINGS)
    assert run(analyzer, baseline) == []
    assert analyzer.baseline_ready
    return analyzer, run(analyzer, continuation, start_s=baseline.size / SR)


def plain_continuation() -> NDArray[np.int16]:
    return join(lj_clips()[16:], 0.4)


def test_unmodified_continuation_raises_no_cue() -> None:
    analyzer, cues = continuation_cues(plain_continuation())
    assert cues == []
    features = analyzer.features
    assert features is not None and features.pitch_hz is not None and features.syllables_per_s is not None
    # LJ Speech is one female reader: her median F0 is near 220 Hz.
    assert 180 < features.pitch_hz < 270
    assert set(analyzer.baseline) >= {"syllables_per_s", "loudness_dbfs", "pitch_st", "pitch_spread_st"}


@pytest.mark.parametrize(
    ("effects", "kind", "direction"),
    [
        (("tempo", "-s", "1.4"), "voice.pace", 1),
        (("tempo", "-s", "0.7"), "voice.pace", -1),
        (("pitch", "400"), "voice.pitch", 1),
        (("pitch", "-400"), "voice.pitch", -1),
        (("gain", "6"), "voice.loudness", 1),
        (("gain", "-8"), "voice.loudness", -1),
    ],
    ids=["faster", "slower", "higher", "lower", "louder", "quieter"],
)
def test_modified_continuation_raises_the_matching_cue_only(effects: tuple[str, ...], kind: str,
                                                            direction: int) -> None:
    _, cues = continuation_cues(sox(plain_continuation(), *effects))
    assert cues, "expected a cue"
    assert {cue.kind for cue in cues} == {kind}
    for cue in cues:
        assert np.sign(cue.evidence["change"]) == direction
        assert abs(cue.evidence["z"]) >= SETTINGS.z_threshold
        assert cue.evidence["window_speech_s"] >= SETTINGS.window_speech_s - 0.1
    first = cues[0]
    # Raised within the first minute of the changed speech, not only at the end.
    assert first.at_s < join(lj_clips()[:16], 0.4).size / SR + 60
    word = {1: ("faster", "higher", "louder"), -1: ("slower", "lower", "quietly")}[direction]
    assert any(w in first.sentence for w in word)


def test_faster_and_louder_together_raise_both() -> None:
    _, cues = continuation_cues(sox(plain_continuation(), "tempo", "-s", "1.4", "gain", "6"))
    assert {cue.kind for cue in cues} == {"voice.pace", "voice.loudness"}
    assert all(cue.evidence["change"] > 0 for cue in cues)


def test_pitch_level_of_real_male_and_female_readers() -> None:
    folder = DATA / "librispeech_samples"
    male = np.concatenate([load_mono_16k(folder / f"1089-{name}.flac")
                           for name in ("134686-0000", "134686-0001", "134691-0000", "134691-0001")])
    levels = {}
    for name, audio in (("male", male), ("female", join(lj_clips()[:4], 0.4))):
        analyzer = VoiceAnalyzer(name, VoiceSettings(window_speech_s=8.0, baseline_speech_s=8.0))
        run(analyzer, audio)
        assert analyzer.features is not None and analyzer.features.pitch_hz is not None
        levels[name] = analyzer.features.pitch_hz
    # LibriSpeech 1089 is a man reading, LJ Speech a woman: typical F0 ~85-155 Hz and ~165-255 Hz.
    assert 85 < levels["male"] < 155
    assert 165 < levels["female"] < 270


def test_longer_pauses_raise_pause_cue() -> None:
    _, cues = continuation_cues(join(lj_clips()[16:], 1.4))
    kinds = [cue.kind for cue in cues]
    assert "voice.pauses" in kinds
    pause = next(cue for cue in cues if cue.kind == "voice.pauses")
    assert pause.evidence["value"] > pause.evidence["baseline_median"] + 0.1
    assert not {"voice.pitch", "voice.loudness"} & set(kinds)


def test_activity_edges_follow_real_utterances_and_ignore_chunking() -> None:
    clips = lj_clips()[:6]
    audio = join(clips, 1.0)
    edges_by_chunk = []
    for chunk in (320, 16000):
        analyzer = VoiceAnalyzer("c", SETTINGS)
        run(analyzer, audio, chunk=chunk)
        run(analyzer, np.zeros(SR, dtype=np.int16), start_s=audio.size / SR)
        edges_by_chunk.append(analyzer.take_activity())
    floats = VoiceAnalyzer("c", SETTINGS)
    run(floats, (audio.astype(np.float32) / 32768).reshape(-1, 1), chunk=4800)
    run(floats, np.zeros(SR, dtype=np.float32), start_s=audio.size / SR)
    edges_by_chunk.append(floats.take_activity())
    small, large, from_floats = edges_by_chunk
    assert [(e.speaking, round(e.at_s, 2)) for e in from_floats] == [(e.speaking, round(e.at_s, 2)) for e in large]
    assert [(e.speaking, round(e.at_s, 2)) for e in small] == [(e.speaking, round(e.at_s, 2)) for e in large]
    starts = [e.at_s for e in small if e.speaking]
    ends = [e.at_s for e in small if not e.speaking]
    assert len(starts) == len(ends)
    # Every 1 s gap between clips separates segments; in-clip pauses may add a few more.
    assert len(clips) <= len(starts) <= 3 * len(clips)
    boundary = 0.0
    for clip in clips[:-1]:
        boundary += clip.size / SR
        assert any(abs(end - boundary) < 0.4 for end in ends)
        boundary += 1.0
        assert any(abs(start - boundary) < 0.4 for start in starts)


def test_stream_gap_is_not_counted_as_speech() -> None:
    clip = lj_clips()[0]
    analyzer = VoiceAnalyzer("c", SETTINGS)
    run(analyzer, clip)
    before = analyzer.speech_total_s
    run(analyzer, clip, start_s=100.0)
    edges = analyzer.take_activity()
    assert analyzer.speech_total_s == pytest.approx(2 * before, rel=0.02)
    assert any(not e.speaking and e.at_s < 12 for e in edges)
    assert any(e.speaking and e.at_s >= 100.0 for e in edges)


def _harmonic_voice(f0_hz: NDArray[np.float64]) -> NDArray[np.float32]:
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    signal = sum(np.sin(k * phase) / k for k in range(1, 8))
    t = np.arange(f0_hz.size) / SR
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t)  # 4 syllable-like pulses a second
    return (0.1 * signal * syllables).astype(np.float32)


def test_yin_tracks_known_f0() -> None:
    for f0 in (80.0, 120.0, 210.0, 340.0):
        audio = _harmonic_voice(np.full(SR, f0)).astype(np.float64)
        frames = np.lib.stride_tricks.sliding_window_view(audio, 640)[::320]
        estimates = yin_f0(frames, SR, 65.0, 400.0, 0.2)
        assert np.isfinite(estimates).mean() > 0.9
        assert np.nanmedian(estimates) == pytest.approx(f0, rel=0.01)
    noise = np.random.default_rng(0).normal(0, 0.1, SR)
    frames = np.lib.stride_tricks.sliding_window_view(noise, 640)[::320]
    assert np.isfinite(yin_f0(frames, SR, 65.0, 400.0, 0.2)).mean() < 0.2


def test_flatter_voice_raises_flatness_cue() -> None:
    # Synthetic on purpose: no real recording has a known monotone stretch.
    settings = VoiceSettings(baseline_speech_s=40.0)
    t = np.arange(70 * SR) / SR
    lively = 180.0 * 2 ** (4.0 * np.sin(2 * np.pi * 0.7 * t) / 12)
    flat = 180.0 * 2 ** (0.5 * np.sin(2 * np.pi * 0.7 * t) / 12)
    analyzer = VoiceAnalyzer("c", settings)
    assert run(analyzer, _harmonic_voice(lively)) == []
    cues = run(analyzer, _harmonic_voice(flat), start_s=70.0)
    assert [cue.kind for cue in cues] == ["voice.flatness"]
    assert cues[0].sentence.startswith("Voice flatter")
    assert cues[0].evidence["value"] < 0.5 * cues[0].evidence["baseline_median"]


def test_caption_word_rate_feeds_pace_words() -> None:
    baseline = join(lj_clips()[:16], 0.4)
    continuation = plain_continuation()
    analyzer = VoiceAnalyzer("c", SETTINGS)

    def captions(start: float, end: float, words_per_s: float) -> None:
        for n, line_start in enumerate(np.arange(start, end - 4, 4.0)):
            words = round(words_per_s * 4.0)
            analyzer.feed_caption(CaptionFinal("c", n, " ".join(["word"] * words), float(line_start),
                                               float(line_start) + 4.0, float(line_start) + 4.5))

    captions(0.0, baseline.size / SR, 2.5)
    assert run(analyzer, baseline) == []
    end = (baseline.size + continuation.size) / SR
    captions(baseline.size / SR, end, 4.0)
    cues = run(analyzer, continuation, start_s=baseline.size / SR)
    assert "voice.pace_words" in {cue.kind for cue in cues}
    assert analyzer.features is not None and analyzer.features.words_per_s == pytest.approx(4.0, rel=0.05)
