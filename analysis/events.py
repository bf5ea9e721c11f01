"""Events produced by the pure analysis code.

Every event is a frozen dataclass. Times are seconds on the producing stream's own clock (audio
sample count for audio streams), passed in by the caller; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class CaptionPartial:
    """The line a speaker is in the middle of. ``stable_text`` will not change; the rest may."""

    stream_id: str
    utterance_id: int
    stable_text: str
    tentative_text: str
    start_s: float
    at_s: float

    @property
    def text(self) -> str:
        return " ".join(t for t in (self.stable_text, self.tentative_text) if t)


@dataclass(frozen=True, slots=True)
class TimedWord:
    """One settled word as Whisper wrote it (with its punctuation) and its span on the stream clock.

    ``glued``: Whisper gave it no leading space, it continues the previous word ("i" ".e.")."""

    text: str
    start_s: float
    end_s: float
    glued: bool = False


@dataclass(frozen=True, slots=True)
class CaptionFinal:
    """A settled caption line: speaker stream, text and its span on the stream clock.

    ``words``: the line's words with their own times (empty where a producer has none); the sentence
    assembler (``analysis.sentences``) cuts sentences inside a line by them.

    ``speech_start_s`` / ``speech_end_s``: the voice detector's bounds of the utterance the line belongs to,
    on the same clock: when its speech began, and, only on the line that closes the utterance, when it
    ended (None on lines settled while the utterance goes on, and from producers without a detector). The
    sentence assembler measures the silence between utterances by them; Whisper's word times stretch into
    silence and are too loose for that."""

    stream_id: str
    utterance_id: int
    text: str
    start_s: float
    end_s: float
    at_s: float
    words: tuple[TimedWord, ...] = ()
    speech_start_s: float | None = None
    speech_end_s: float | None = None


CaptionEvent = CaptionPartial | CaptionFinal


class Severity(StrEnum):
    INFO = "info"
    NOTICE = "notice"
    URGENT = "urgent"


@dataclass(frozen=True, slots=True)
class Cue:
    """A private cue for the counselor: what was noticed, about whom, and the evidence behind it.

    ``kind`` is a dotted name such as ``words.sentiment_shift`` or ``voice.pace``; ``sentence`` is the
    short human sentence shown on the panel; ``evidence`` holds the words, measurements and the
    baseline they were compared with (JSON-serialisable values only).
    """

    at_s: float
    participant_id: str
    kind: str
    severity: Severity
    sentence: str
    evidence: dict[str, Any] = field(default_factory=dict)
