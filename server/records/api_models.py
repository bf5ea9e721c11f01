"""Request and reply bodies of the session-records API (and the JSON export, which is the record reply).

Built from the read model's dataclasses with ``from_...`` constructors, so the handlers, the export and
the OpenAPI document share one definition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from analysis.events import Severity
from server.http.api import ApiModel
from server.http.fields import NO_INVALID_CHARACTERS, typed_text
from server.records.models import ConsentEvent, Note, ParticipantRecord, SessionSummary
from server.records.read_model import Listening, ReviewCue, ReviewLine, SessionRecord, TalkTime
from server.session.states import ConsentState

MAX_QUERY = 200
MAX_CORRECTION = 5000
MAX_NOTE = 10_000

Role = Literal["counselor", "client"]


class RecordParticipant(ApiModel):
    participant_id: str
    name: str
    role: Role
    consent: str = Field(description="the participant's latest consent decision, or pending")
    joined_at: datetime
    left_at: datetime | None

    @classmethod
    def of(cls, p: ParticipantRecord) -> RecordParticipant:
        return cls(
            participant_id=p.participant_id, name=p.name, role=_role(p.role), consent=p.consent,
            joined_at=p.joined_at, left_at=p.left_at,
        )


class RecordConsentEvent(ApiModel):
    participant_id: str
    role: Role
    state: ConsentState
    version: str = Field(description="the consent text the participant was shown")
    at: datetime
    at_s: float = Field(ge=0, description="seconds into the session (the clock of lines and cues)")

    @classmethod
    def of(cls, c: ConsentEvent) -> RecordConsentEvent:
        return cls(
            participant_id=c.participant_id, role=_role(c.role),
            state=ConsentState(c.state),
            version=c.version, at=c.at, at_s=c.at_s,
        )


class SessionSummaryReply(ApiModel):
    session_id: str
    title: str
    created_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    line_count: int
    participants: list[RecordParticipant]
    consent_events: list[RecordConsentEvent] = Field(description="every consent decision, in order")

    @classmethod
    def summary_fields(cls, s: SessionSummary) -> dict[str, Any]:
        return {
            "session_id": s.session_id,
            "title": s.title,
            "created_at": s.created_at,
            "ended_at": s.ended_at,
            "duration_s": None if s.duration_s is None else round(s.duration_s, 1),
            "line_count": s.line_count,
            "participants": [RecordParticipant.of(p) for p in s.participants],
            "consent_events": [RecordConsentEvent.of(c) for c in s.consent_events],
        }


class SearchMatch(ApiModel):
    line_id: int
    text: str


class SessionListItem(SessionSummaryReply):
    matches: list[SearchMatch] = Field(description="transcript lines matching the search (at most 5)")
    live: bool = Field(default=False, description="the session is live now: its counselor can return to it "
                                                  "(POST /api/sessions/{session_id}/return)")


class SessionList(ApiModel):
    sessions: list[SessionListItem]
    query: str | None = None


class SessionListQuery(ApiModel):
    q: Annotated[str, Field(max_length=MAX_QUERY, description="searches transcripts, titles and names")] = ""


class RecordLine(ApiModel):
    line_id: int
    participant_id: str
    speaker: str
    role: Role
    start_s: float
    end_s: float
    text: str
    original_text: str | None = Field(description="the recognised text, when the line was corrected")
    corrected: bool
    sentiment: float = Field(ge=-1, le=1)

    @classmethod
    def of(cls, review_line: ReviewLine) -> RecordLine:
        ln = review_line.line
        return cls(
            line_id=ln.line_id, participant_id=ln.participant_id, speaker=ln.speaker_name,
            role=_role(ln.speaker_role), start_s=round(ln.start_s, 2), end_s=round(ln.end_s, 2), text=ln.text,
            original_text=ln.original_text, corrected=ln.corrected, sentiment=review_line.sentiment,
        )


class RecordCue(ApiModel):
    cue_id: int
    participant_id: str
    at_s: float
    kind: str
    severity: Severity
    sentence: str
    evidence: dict[str, Any]
    line_id: int | None = Field(description="the line the cue points at")

    @classmethod
    def of(cls, review_cue: ReviewCue) -> RecordCue:
        c = review_cue.cue
        return cls(
            cue_id=c.id, participant_id=c.participant_id, at_s=round(c.at_s, 2), kind=c.kind,
            severity=Severity(c.severity),
            sentence=c.sentence, evidence=c.evidence, line_id=review_cue.line_id,
        )


class RecordTalkTime(ApiModel):
    participant_id: str
    name: str
    role: str
    seconds: float
    share: float = Field(ge=0, le=1)

    @classmethod
    def of(cls, t: TalkTime) -> RecordTalkTime:
        return cls(participant_id=t.participant_id, name=t.name, role=t.role, seconds=t.seconds, share=t.share)


class RecordListening(ApiModel):
    """A counselor's listening over the session, from their sentences as coded live (rules and model)."""

    participant_id: str
    name: str
    open_question: int = Field(ge=0)
    closed_question: int = Field(ge=0)
    reflection: int = Field(ge=0)
    other: int = Field(ge=0)
    reflection_to_question: float | None = Field(
        ge=0, description="reflections per question (MITI: 1:1 is fair, 2:1 good); null before a question")
    percent_open: float | None = Field(ge=0, le=100, description="share of the questions that were open")
    rating: Literal["below_fair", "fair", "good"] | None = Field(
        description="the reflections-to-questions band: below 1:1, fair (1:1), good (2:1)")

    @classmethod
    def of(cls, listening: Listening) -> RecordListening:
        t = listening.tally
        ratio, share = t.reflection_to_question, t.percent_open
        return cls(
            participant_id=listening.participant_id, name=listening.name, open_question=t.open_question,
            closed_question=t.closed_question, reflection=t.reflection, other=t.other,
            reflection_to_question=round(ratio, 2) if ratio is not None else None,
            percent_open=round(share, 1) if share is not None else None,
            rating=t.rating.value if t.rating is not None else None,
        )


class NoteReply(ApiModel):
    note_id: int
    text: str
    created_at: datetime

    @classmethod
    def of(cls, note: Note) -> NoteReply:
        return cls(note_id=note.id, text=note.text, created_at=note.created_at)


class SessionRecordReply(SessionSummaryReply):
    """The whole record: the review page's data and the JSON export."""

    lines: list[RecordLine]
    cues: list[RecordCue]
    talk_time: list[RecordTalkTime]
    notes: list[NoteReply] = Field(description="the counselor's private notes, oldest first")
    listening: list[RecordListening] = Field(
        default_factory=list, description="per counselor: questions and reflections"
    )

    @classmethod
    def record_fields(cls, record: SessionRecord) -> dict[str, Any]:
        return SessionSummaryReply.summary_fields(record.summary) | {
            "lines": [RecordLine.of(ln) for ln in record.lines],
            "cues": [RecordCue.of(c) for c in record.cues],
            "talk_time": [RecordTalkTime.of(t) for t in record.talk_time],
            "notes": [NoteReply.of(n) for n in record.notes],
            "listening": [RecordListening.of(x) for x in record.listening],
        }

    @classmethod
    def of(cls, record: SessionRecord) -> SessionRecordReply:
        return cls(**cls.record_fields(record))


class CorrectionRequest(ApiModel):
    text: Annotated[str, typed_text(1, MAX_CORRECTION), NO_INVALID_CHARACTERS]


class CorrectionReply(ApiModel):
    line_id: int
    text: str
    original_text: str | None
    corrected: bool


class NoteRequest(ApiModel):
    text: Annotated[str, typed_text(1, MAX_NOTE), NO_INVALID_CHARACTERS]


def _role(value: str) -> Role:
    return "counselor" if value == "counselor" else "client"
