"""Text cues on real speech: the bundled Whisper model transcribes a real two-person recording."""

from __future__ import annotations

from pathlib import Path

import pytest
from faster_whisper import decode_audio

from analysis.counselor_acts import CounselorAct
from analysis.words import WordCues
from server.live.asr import AsrSettings, WhisperTranscriber

RECORDING = Path(__file__).resolve().parents[1] / "data" / "azure_katiesteve" / "katiesteve.wav"


@pytest.mark.model
def test_real_transcript_through_word_cues() -> None:
    transcriber = WhisperTranscriber(AsrSettings(beam_size=1))
    result = transcriber.transcribe(decode_audio(str(RECORDING), sampling_rate=16000))
    texts = [(seg.text.strip(), seg.end_s) for seg in result.segments if seg.text.strip()]
    assert len(texts) >= 5
    cues = WordCues()
    acts = []
    for text, end_s in texts:
        # the same recording, once as a client (tone, risk) and once as a counselor (acts)
        assert cues.feed("client", "client", text, end_s) == []  # a friendly tech chat: nothing to flag
        acts.append(cues.feed_line("counselor", "counselor", text, end_s)[0].counselor_act)
    series = cues.series("client")
    assert [t for t, _ in series] == [t for _, t in texts]
    assert max(c for _, c in series) > 0.3  # "Good morning, Steve." / "That's exciting."
    assert CounselorAct.CLOSED_QUESTION in acts  # "Have you tried the latest ... ?"
    assert cues.act_tally("counselor").questions >= 2
