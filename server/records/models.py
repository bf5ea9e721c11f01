"""A session record as the review, the exports and the API read it: decrypted, plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analysis.events import TimedWord


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """A stored sentence of one speaker, decrypted. ``text`` is the corrected text when there is one;
    ``words`` are the recognised words with their times (empty for records older than sentences)."""

    session_id: str
    participant_id: str
    speaker_name: str
    speaker_role: str
    start_s: float
    end_s: float
    text: str
    line_id: int = 0
    original_text: str | None = None  # set only when the line was corrected
    words: tuple[TimedWord, ...] = ()
    counselor_act: str | None = None  # how a counselor's sentence was coded live

    @property
    def corrected(self) -> bool:
        return self.original_text is not None


@dataclass(frozen=True, slots=True)
class StoredCue:
    id: int
    participant_id: str
    at_s: float
    kind: str
    severity: str
    sentence: str
    evidence: dict[str, Any]
    line_id: int | None = None  # the sentence a cue about words was raised on


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    account_id: int
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    participant_id: str
    role: str
    state: str  # granted | declined | withdrawn
    version: str
    at: datetime
    at_s: float  # seconds on the session clock (the time base of lines and cues), from the session's start


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    participant_id: str
    name: str
    role: str
    joined_at: datetime
    left_at: datetime | None
    consent: str  # the participant's latest consent decision, or "pending"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    title: str
    created_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    participants: list[ParticipantRecord] = field(default_factory=list)
    line_count: int = 0
    consent_events: list[ConsentEvent] = field(default_factory=list)  # every decision, in order
