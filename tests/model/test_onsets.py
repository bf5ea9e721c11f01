"""Utterance onsets through the real model: speech that starts right after silence keeps its first words.

On unseen speech an utterance once lost its first four words: two partials that both left out the
opening words agreed on the words after them, which settled those and left the opening ones nowhere to
go (tests/analysis/test_captions_policy.py scripts that case). Here real recorded utterances, cut as upstream
cut them (speech within 0.3 s of the cut), are streamed after silence at the start of a stream and 0.6 s
after the previous utterance ended (just past the 0.5 s that closes an utterance).

Whisper itself drops a weak first "and" after silence now and then (offline too: the passage's first
utterance "And Mister John Dashwood ..." loses its "And" whenever silence precedes it), so these clips
start with content words.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.events import CaptionEvent, CaptionFinal
from analysis.text_normalize import normalize_text
from server.live.asr import AsrPool, AsrSettings, StreamingVad, WhisperTranscriber

from .streaming import DATA, load, stream

pytestmark = pytest.mark.model

SPEECH = DATA / "speech"
# dev split: one LibriVox reader, five utterances read one after another (see tests/data/speech/SOURCE.md);
# upstream utterance boundaries in seconds
PASSAGE = SPEECH / "librivox" / "sense_and_sensibility_01_0870-0930.flac"
BOUNDS = {"0880": (7.10, 10.09), "0890": (10.09, 15.39)}
OPENINGS = {"0880": "he was not an ill", "0890": "unless to be rather cold"}


def utterance(name: str) -> np.ndarray:
    start, end = BOUNDS[name]
    audio = load(PASSAGE)[int(start * 16000) : int(end * 16000)]
    probs = StreamingVad()(audio.astype(np.float32) / 32768)
    assert next(i for i, p in enumerate(probs) if p >= 0.5) * 512 / 16000 < 0.35  # speech right away
    return audio


def words_of(events: list[CaptionEvent]) -> list[str]:
    return normalize_text(" ".join(e.text for e in events if isinstance(e, CaptionFinal))).split()


async def streamed(transcriber: WhisperTranscriber, audio: np.ndarray) -> list[str]:
    pool = AsrPool(AsrSettings(), transcriber=transcriber)
    await pool.start()
    try:
        return words_of(await stream(pool, audio, speed=2.0))
    finally:
        await pool.close()


@pytest.mark.parametrize("name", ["0880", "0890"])
async def test_speech_right_after_silence_keeps_its_first_words(transcriber: WhisperTranscriber, name: str) -> None:
    words = await streamed(transcriber, utterance(name))
    assert words[:4] == normalize_text(OPENINGS[name]).split()[:4], words


async def test_an_utterance_right_after_another_keeps_its_first_words(transcriber: WhisperTranscriber) -> None:
    gap = np.zeros(int(0.6 * 16000), np.int16)
    words = await streamed(transcriber, np.concatenate([utterance("0880"), gap, utterance("0890")]))
    # The second utterance's first word right after the cut is heard, if not always right: under CPU load
    # tiny.en once made "unless" "i'd less" (a CI run; also locally with a busy core beside it). What must
    # not happen is what the policy once did, settle the words after it and lose it: so its next words
    # are there, and something stands for it between them and the first utterance's last word.
    after = normalize_text(OPENINGS["0890"]).split()[1:4]  # "to be rather"
    found = [i for i in range(1, len(words)) if words[i : i + 3] == after]
    assert found, " ".join(words)
    assert words[found[0] - 1] != "man", " ".join(words)  # "...young man" ends the first utterance
    assert words[:4] == normalize_text(OPENINGS["0880"]).split()[:4], words
