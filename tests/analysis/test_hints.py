"""Hint policy: storms, cooldowns, mutes, and urgent cues that always get through."""

from __future__ import annotations

from analysis.events import Cue, Severity
from analysis.hints import HintPolicy, HintSettings


def cue(at: float, pid: str = "c1", kind: str = "voice.pace", severity: Severity = Severity.INFO,
        sentence: str | None = None) -> Cue:
    return Cue(at, pid, kind, severity, sentence or f"{kind} at {at}")


def test_storm_is_capped_per_minute() -> None:
    policy = HintPolicy(HintSettings(max_per_minute=3, cooldown_s=0.0))
    storm = [cue(10.0, pid=f"p{i}", kind=f"k{i}") for i in range(20)]
    assert len(policy.feed(storm, 10.0)) == 3
    assert policy.feed([cue(40.0, pid="x")], 40.0) == []
    assert len(policy.feed([cue(71.0, pid="y")], 71.0)) == 1
    assert policy.stats.capped == 18


def test_cooldown_per_participant_and_kind() -> None:
    policy = HintPolicy(HintSettings(cooldown_s=120.0, max_per_minute=100))
    assert len(policy.feed([cue(0.0)], 0.0)) == 1
    assert policy.feed([cue(60.0)], 60.0) == []
    # Another participant, or another kind, is not held by that cooldown.
    assert len(policy.feed([cue(61.0, pid="c2"), cue(61.0, kind="voice.pitch")], 61.0)) == 2
    assert len(policy.feed([cue(121.0)], 121.0)) == 1


def test_exact_duplicates_dropped_beyond_cooldown() -> None:
    policy = HintPolicy(HintSettings(cooldown_s=10.0, duplicate_window_s=600.0))
    assert len(policy.feed([cue(0.0, sentence="Speaking faster than earlier.")], 0.0)) == 1
    assert policy.feed([cue(30.0, sentence="Speaking faster than earlier.")], 30.0) == []
    assert len(policy.feed([cue(31.0, sentence="Speaking slower than earlier.")], 31.0)) == 1
    assert policy.stats.duplicates == 1


def test_mute_and_unmute_a_kind() -> None:
    policy = HintPolicy(HintSettings(cooldown_s=0.0))
    policy.mute("voice.pitch")
    assert policy.muted_kinds == {"voice.pitch"}
    assert policy.feed([cue(0.0, kind="voice.pitch")], 0.0) == []
    assert [c.kind for c in policy.feed([cue(1.0, kind="voice.pace")], 1.0)] == ["voice.pace"]
    policy.unmute("voice.pitch")
    assert [c.kind for c in policy.feed([cue(2.0, kind="voice.pitch")], 2.0)] == ["voice.pitch"]


def test_urgent_is_never_muted_capped_cooled_or_delayed() -> None:
    policy = HintPolicy(HintSettings(max_per_minute=1, cooldown_s=300.0))
    policy.mute("words.risk")
    storm = [cue(5.0, pid=f"p{i}", kind=f"k{i}") for i in range(10)]
    urgent = [cue(5.0 + i, kind="words.risk", severity=Severity.URGENT, sentence="same") for i in range(3)]
    shown = policy.feed([*storm, *urgent], 5.0)
    assert [c for c in shown if c.severity is Severity.URGENT] == urgent
    assert shown[:3] == urgent  # first in the batch, ahead of minor cues
    assert len(shown) == 4
    # Urgent cues do not use up the per-minute allowance of ordinary ones, and vice versa.
    assert policy.feed([cue(6.0, kind="words.risk", severity=Severity.URGENT)], 6.0) != []


def test_real_voice_cues_through_the_policy() -> None:
    import numpy as np

    from analysis.voice import VoiceAnalyzer, VoiceSettings
    from bench.cues import DATA, load_mono_16k

    clips = [load_mono_16k(path) for path in sorted((DATA / "ljspeech_subset" / "wavs").glob("*.flac"))]
    gap = np.zeros(6400, dtype=np.int16)
    baseline = np.concatenate([p for clip in clips[:16] for p in (clip, gap)])
    louder = np.concatenate([p for clip in clips[16:] for p in (clip, gap)]).astype(np.float64) * 2.2
    audio = np.concatenate([baseline, np.clip(louder, -32768, 32767).astype(np.int16)])
    voice = VoiceAnalyzer("client-1", VoiceSettings(baseline_speech_s=80.0))
    muted, open_policy = HintPolicy(), HintPolicy()
    muted.mute("voice.loudness")
    shown_muted: list[Cue] = []
    shown_open: list[Cue] = []
    raised: list[Cue] = []
    for offset in range(0, audio.size, 3200):
        now = offset / 16000
        cues = voice.feed(audio[offset : offset + 3200], now)
        raised += cues
        shown_muted += muted.feed(cues, now)
        shown_open += open_policy.feed(cues, now)
    assert raised and {c.kind for c in raised} == {"voice.loudness"}
    assert shown_muted == []
    assert shown_open == raised[:1]
