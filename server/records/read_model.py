"""One session record as the review page and the exports see it: decrypted, with the numbers the
review shows (talk time per participant, tone per line, cues tied to the line they were raised on)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analysis.counselor_acts import CounselorAct, ListeningCounter, ListeningTally
from analysis.sentiment import score_text
from server.records.models import (
    ConsentEvent,
    Note,
    ParticipantRecord,
    SessionSummary,
    StoredCue,
    TranscriptLine,
)
from server.records.repository import SessionRecords


@dataclass(frozen=True, slots=True)
class ReviewLine:
    line: TranscriptLine
    sentiment: float  # VADER compound, -1..1, of the line as it reads now (corrected text if any)


@dataclass(frozen=True, slots=True)
class ReviewCue:
    cue: StoredCue
    line_id: int | None  # the line the cue points at: the participant's last line at or before the cue


@dataclass(frozen=True, slots=True)
class TalkTime:
    participant_id: str
    name: str
    role: str
    seconds: float
    share: float


@dataclass(frozen=True, slots=True)
class Listening:
    """How a counselor listened over the session: their sentences coded live as MITI-style acts."""

    participant_id: str
    name: str
    tally: ListeningTally


@dataclass(frozen=True, slots=True)
class ConsentGap:
    """A stretch in which a participant had captions and cues off (withdrawn or declined): nothing they said
    was transcribed or analysed. ``end_s`` is None when they never agreed again."""

    participant_id: str
    role: str
    state: str  # withdrawn | declined
    start_s: float
    end_s: float | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    summary: SessionSummary
    lines: list[ReviewLine]
    cues: list[ReviewCue]
    talk_time: list[TalkTime]
    notes: list[Note] = field(default_factory=list)
    listening: list[Listening] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        return self.summary.session_id

    @property
    def consent_events(self) -> list[ConsentEvent]:
        return self.summary.consent_events

    def consent_gaps(self) -> list[ConsentGap]:
        """Every stretch with analysis off, in time order: from a withdrawal or a decline to the participant's
        next agreement (or the end)."""
        gaps: list[ConsentGap] = []
        open_gaps: dict[str, ConsentGap] = {}
        for event in sorted(self.consent_events, key=lambda e: e.at_s):
            pid = event.participant_id
            if event.state in ("withdrawn", "declined") and pid not in open_gaps:
                open_gaps[pid] = ConsentGap(pid, event.role, event.state, event.at_s, None)
            elif event.state == "granted" and pid in open_gaps:
                gap = open_gaps.pop(pid)
                gaps.append(ConsentGap(pid, gap.role, gap.state, gap.start_s, event.at_s))
        gaps.extend(open_gaps.values())
        return sorted(gaps, key=lambda g: g.start_s)

    @property
    def participants(self) -> list[ParticipantRecord]:
        return self.summary.participants

    def name_of(self, participant_id: str) -> str:
        for p in self.summary.participants:
            if p.participant_id == participant_id:
                return p.name
        return "?"


class SentimentScorer:
    """One VADER analyzer for the server; scoring runs in a worker thread (it is pure CPU)."""

    def __init__(self) -> None:
        self._analyzer: SentimentIntensityAnalyzer | None = None

    def score_all(self, texts: list[str]) -> list[float]:
        if self._analyzer is None:
            self._analyzer = SentimentIntensityAnalyzer()
        return [round(score_text(self._analyzer, t), 3) for t in texts]


def _line_for_cue(cue: StoredCue, lines: list[TranscriptLine]) -> int | None:
    """The sentence a cue was raised on when it says so (words cues), else the speaker's sentence at or
    before the cue's time (voice, flow and video cues)."""
    if cue.line_id is not None and any(ln.line_id == cue.line_id for ln in lines):
        return cue.line_id
    own = [ln for ln in lines if ln.participant_id == cue.participant_id and ln.start_s <= cue.at_s]
    if own:
        return own[-1].line_id
    earlier = [ln for ln in lines if ln.start_s <= cue.at_s]
    return earlier[-1].line_id if earlier else (lines[0].line_id if lines else None)


def talk_time(summary: SessionSummary, lines: list[TranscriptLine]) -> list[TalkTime]:
    seconds: dict[str, float] = {p.participant_id: 0.0 for p in summary.participants}
    for ln in lines:
        seconds[ln.participant_id] = seconds.get(ln.participant_id, 0.0) + max(0.0, ln.end_s - ln.start_s)
    total = sum(seconds.values())
    roles = {p.participant_id: (p.name, p.role) for p in summary.participants}
    return [
        TalkTime(pid, roles.get(pid, ("?", "?"))[0], roles.get(pid, ("?", "?"))[1], round(s, 2),
                 round(s / total, 4) if total else 0.0)
        for pid, s in seconds.items()
    ]


def listening(summary: SessionSummary, lines: list[TranscriptLine]) -> list[Listening]:
    """Per counselor, the acts their sentences were coded as while the session ran (the panel's counters)."""
    counter = ListeningCounter()
    counselors: dict[str, None] = {}  # in order of their first coded sentence
    for ln in lines:
        act = ln.counselor_act
        if ln.speaker_role == "counselor" and act is not None and act in CounselorAct._value2member_map_:
            counter.add(ln.participant_id, CounselorAct(act))
            counselors.setdefault(ln.participant_id)
    names = {p.participant_id: p.name for p in summary.participants}
    return [Listening(pid, names.get(pid, "Counselor"), counter.tally(pid)) for pid in counselors]


async def load_record(
    records: SessionRecords, summary: SessionSummary, scorer: SentimentScorer, notes: list[Note] | None = None
) -> SessionRecord:
    lines = await records.transcript(summary.session_id)
    cues = await records.cues(summary.session_id)
    scores = await asyncio.to_thread(scorer.score_all, [ln.text for ln in lines])
    return SessionRecord(
        summary=summary,
        lines=[ReviewLine(ln, s) for ln, s in zip(lines, scores, strict=True)],
        cues=[ReviewCue(c, _line_for_cue(c, lines)) for c in cues],
        talk_time=talk_time(summary, lines),
        notes=notes or [],
        listening=listening(summary, lines),
    )
