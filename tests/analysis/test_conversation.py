"""Conversation dynamics: synthetic interval sequences, plus the real two-speaker recordings."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.conversation import SESSION_ID, ConversationAnalyzer, ConversationSettings, Role
from analysis.voice import VoiceActivity, VoiceAnalyzer, yin_f0
from bench.cues import DATA, load_mono_16k

SR = 16_000
C, A, B, K = "counselor", "client-a", "client-b", "client-c"


def speak(analyzer: ConversationAnalyzer, pid: str, start: float, end: float) -> list:
    cues = analyzer.feed([VoiceActivity(pid, start, True)], start)
    return cues + analyzer.feed([VoiceActivity(pid, end, False)], end)


def test_simultaneous_start_is_not_an_interruption() -> None:
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    conv.feed([VoiceActivity(A, 1.0, True), VoiceActivity(C, 1.2, True), VoiceActivity(A, 2.5, False),
               VoiceActivity(C, 5.0, False)], 5.0)
    assert conv.summary().interruptions == {}
    assert conv.summary().transitions == {A: {C: 1}}


def test_interruption_backchannel_and_overlap() -> None:
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    edges = [
        VoiceActivity(A, 0.0, True),
        VoiceActivity(C, 2.0, True), VoiceActivity(C, 2.4, False),  # "mm-hm"
        VoiceActivity(C, 3.0, True), VoiceActivity(A, 4.0, False),  # counselor takes the floor
        VoiceActivity(C, 8.0, False),
        VoiceActivity(A, 9.0, True), VoiceActivity(C, 10.0, True), VoiceActivity(C, 12.0, False),
        VoiceActivity(A, 14.0, False),  # counselor tried to come in and gave up
    ]
    conv.feed(edges, 14.0)
    summary = conv.summary()
    assert summary.interruptions == {C: {A: 1}}
    assert summary.backchannels == 1
    assert summary.overlaps == 3
    assert summary.overlap_s == pytest.approx(0.4 + 1.0 + 2.0)
    assert summary.transitions[A][C] == 1


def test_response_latency_against_clients_own_usual() -> None:
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    t = 0.0
    for _ in range(6):
        assert speak(conv, C, t, t + 3.0) == []
        assert speak(conv, A, t + 4.0, t + 8.0) == []  # answers after 1 s
        t += 10.0
    speak(conv, C, t, t + 3.0)
    cues = speak(conv, A, t + 8.5, t + 10.0)  # 5.5 s: long for this client
    assert [c.kind for c in cues] == ["conversation.response_latency"]
    assert cues[0].participant_id == A
    assert cues[0].evidence["latency_s"] == pytest.approx(5.5)
    assert cues[0].evidence["usual_latency_s"] == pytest.approx(1.0)
    # Counselor pausing and resuming is not a client's latency.
    t += 12.0
    speak(conv, C, t, t + 2.0)
    speak(conv, C, t + 8.0, t + 9.0)
    assert speak(conv, A, t + 9.5, t + 11.0) == []
    client = next(p for p in conv.summary().participants if p.participant_id == A)
    assert client.median_response_latency_s == pytest.approx(1.0)


def test_long_silence_cued_once_per_silence() -> None:
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    speak(conv, A, 0.0, 5.0)
    assert conv.feed([], 10.0) == []
    cues = conv.feed([], 18.0)
    assert [c.kind for c in cues] == ["conversation.long_silence"]
    assert cues[0].participant_id == SESSION_ID
    assert cues[0].evidence["silence_s"] == pytest.approx(13.0)
    assert conv.feed([], 30.0) == []
    speak(conv, C, 31.0, 32.0)
    assert [c.kind for c in conv.feed([], 45.0)] == ["conversation.long_silence"]
    assert conv.summary().longest_silence_s == pytest.approx(26.0)


def test_counselor_talk_share_notice() -> None:
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    cues = []
    t = 0.0
    for _ in range(20):  # counselor 12 s, client 3 s, repeatedly: 80 %
        cues += speak(conv, C, t, t + 12.0)
        cues += speak(conv, A, t + 12.5, t + 15.5)
        t += 16.0
    shares = [c for c in cues if c.kind == "conversation.talk_share"]
    assert len(shares) == 1
    assert shares[0].participant_id == C
    assert shares[0].evidence["share"] == pytest.approx(0.8, abs=0.03)
    summary = conv.summary()
    counselor = next(p for p in summary.participants if p.participant_id == C)
    assert counselor.share == pytest.approx(0.8, abs=0.01)


def test_family_transitions_silent_member_and_interruption_burst() -> None:
    settings = ConversationSettings(silent_client_s=120.0)
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT, B: Role.CLIENT, K: Role.CLIENT}, settings)
    cues = speak(conv, K, 0.0, 3.0)
    t = 4.0
    for _ in range(12):
        cues += speak(conv, C, t, t + 4.0)
        cues += conv.feed([VoiceActivity(A, t + 5.0, True)], t + 5.0)
        # B cuts A off every time.
        cues += conv.feed([VoiceActivity(B, t + 8.0, True), VoiceActivity(A, t + 9.0, False)], t + 9.0)
        cues += conv.feed([VoiceActivity(B, t + 12.0, False)], t + 12.0)
        t += 13.0
    summary = conv.summary()
    assert summary.transitions[C] == {A: 12}
    assert summary.transitions[A] == {B: 12}
    assert summary.transitions[B] == {C: 11}  # the last cut-off ends the session
    assert summary.transitions[K] == {C: 1}
    assert summary.interruptions == {B: {A: 12}}
    assert summary.silent_participant_ids == (K,)
    silent = [c for c in cues if c.kind == "conversation.silent_participant"]
    assert [c.participant_id for c in silent] == [K]
    bursts = [c for c in cues if c.kind == "conversation.interruptions"]
    assert bursts and all(c.participant_id == B for c in bursts)
    assert bursts[0].evidence["interrupted"] == {A: 3}
    # Not re-raised inside its own window: 12 interruptions over ~156 s give two cues at most.
    assert len(bursts) <= 2


def _activity(samples: np.ndarray, pid: str) -> list[VoiceActivity]:
    voice = VoiceAnalyzer(pid)
    voice.feed(samples, 0.0)
    voice.feed(np.zeros(SR, dtype=np.int16), samples.size / SR)
    return voice.take_activity()


def test_stereo_recording_one_speaker_per_channel() -> None:
    path = DATA / "faster_whisper_stereo" / "stereo_diarization.wav"
    left = _activity(load_mono_16k(path, channel=0), C)
    right = _activity(load_mono_16k(path, channel=1), A)
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    conv.feed(left + right, 6.0)
    summary = conv.summary(6.0)
    # Both sentences were read at once: a simultaneous start (within 0.3 s), so an overlap for as long
    # as the shorter sentence lasts, and no interruption.
    assert summary.overlaps == 1
    assert summary.interruptions == {}
    assert summary.backchannels == 0
    assert 1.9 < summary.overlap_s < 2.6
    speech = {p.participant_id: p.speech_s for p in summary.participants}
    # tiny.en word timestamps put the right channel's last word ("distant") at 2.02-2.44 s.
    assert 3.8 < speech[C] < 4.8 and 1.9 < speech[A] < 2.6


def test_katie_steve_turns_from_energy_vad_and_pitch() -> None:
    folder = DATA / "azure_katiesteve"
    mix = load_mono_16k(folder / "katiesteve.wav")

    def median_f0(samples: np.ndarray) -> float:
        audio = samples.astype(np.float64) / 32768
        frames = np.lib.stride_tricks.sliding_window_view(audio, 640)[::320]
        loud = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10) > -40
        return float(np.nanmedian(yin_f0(frames[loud], SR, 65.0, 400.0, 0.2)))

    # Who is who comes from each speaker's own enrollment recording.
    enrolled = {name: median_f0(load_mono_16k(folder / f"enrollment_audio_{name}.wav"))
                for name in ("katie", "steve")}
    assert enrolled["katie"] > 1.4 * enrolled["steve"]
    edges = _activity(mix, "mix")
    segments = [(edges[i].at_s, edges[i + 1].at_s) for i in range(0, len(edges), 2)]
    assert len(segments) >= 5
    labelled: list[VoiceActivity] = []
    for start, end in segments:
        f0 = median_f0(mix[int(start * SR) : int(end * SR)])
        name = min(enrolled, key=lambda n: abs(np.log(f0 / enrolled[n])))
        labelled += [VoiceActivity(name, start, True), VoiceActivity(name, end, False)]
    conv = ConversationAnalyzer({"katie": Role.COUNSELOR, "steve": Role.CLIENT})
    cues = conv.feed(labelled, mix.size / SR)
    summary = conv.summary()
    assert summary.transitions["katie"]["steve"] >= 2 and summary.transitions["steve"]["katie"] >= 2
    assert summary.interruptions == {}
    shares = {p.participant_id: p.share for p in summary.participants}
    assert 0.25 < shares["katie"] < 0.75 and shares["katie"] + shares["steve"] == pytest.approx(1.0)
    steve = next(p for p in summary.participants if p.participant_id == "steve")
    assert steve.median_response_latency_s is not None and 0.3 < steve.median_response_latency_s < 2.0
    assert cues == []  # a brisk two-person exchange: nothing worth a hint


def test_no_pause_before_answering_is_counted_from_before_both_were_in_the_call() -> None:
    """The counselor talks to an empty room (the client is still in the waiting room), the client is
    admitted 15 s later and says hello: no "long pause", and the 17 s are not learnt as their usual."""
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    assert speak(conv, C, 0.0, 5.0) == []
    conv.presence_changed(A, 20.0)  # admitted; their audio reaches the analysis from here
    assert speak(conv, A, 22.0, 24.0) == []
    client = next(p for p in conv.summary().participants if p.participant_id == A)
    assert client.median_response_latency_s is None
    # Once both are there, a real long pause still counts.
    speak(conv, C, 30.0, 33.0)
    [cue] = speak(conv, A, 40.0, 42.0)
    assert cue.kind == "conversation.response_latency" and cue.evidence["latency_s"] == pytest.approx(7.0)


def test_a_rejoin_or_the_counselor_stepping_away_is_not_a_pause() -> None:
    conv = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    conv.presence_changed(A, 0.0)
    conv.presence_changed(C, 0.0)
    # The counselor asks; the client's connection drops and comes back 20 s later.
    speak(conv, C, 1.0, 4.0)
    conv.presence_changed(A, 6.0)  # dropped
    conv.presence_changed(A, 26.0)  # back
    assert speak(conv, A, 27.0, 30.0) == []
    # The counselor asks, then their own connection drops; the client answers while they are away.
    speak(conv, C, 35.0, 38.0)
    conv.presence_changed(C, 39.0)
    assert speak(conv, A, 48.0, 50.0) == []
    assert next(p for p in conv.summary().participants if p.participant_id == A).median_response_latency_s is None
    # The arrival can reach the engine before the counselor's (earlier) speech does: compared by time.
    late = ConversationAnalyzer({C: Role.COUNSELOR, A: Role.CLIENT})
    late.presence_changed(A, 8.0)
    speak(late, C, 0.0, 3.0)
    assert speak(late, A, 12.0, 14.0) == []
