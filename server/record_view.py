"""One session record as the review page and the exports see it: decrypted, with the numbers the
review shows (talk time per participant, tone per line, cues tied to the line they were raised on)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from analysis.sentiment import score_text
from server.store import (
    ParticipantRecord,
    SessionSummary,
    Store,
    StoredCue,
    TranscriptLine,
)


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
class SessionRecord:
    summary: SessionSummary
    lines: list[ReviewLine]
    cues: list[ReviewCue]
    talk_time: list[TalkTime]
    consent_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        return self.summary.session_id

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


async def load_record(store: Store, summary: SessionSummary, scorer: SentimentScorer) -> SessionRecord:
    lines = await store.transcript(summary.session_id)
    cues = await store.cues(summary.session_id)
    consents = await store.consent_events(summary.session_id)
    scores = await asyncio.to_thread(scorer.score_all, [ln.text for ln in lines])
    return SessionRecord(
        summary=summary,
        lines=[ReviewLine(ln, s) for ln, s in zip(lines, scores, strict=True)],
        cues=[ReviewCue(c, _line_for_cue(c, lines)) for c in cues],
        talk_time=talk_time(summary, lines),
        consent_events=[
            {
                "participant_id": c.participant_id,
                "role": c.role,
                "state": c.state,
                "version": c.text_version,
                "at": _iso(c.at),
            }
            for c in consents
        ],
    )


def _iso(value: datetime) -> str:
    from server.store import aware

    return aware(value).isoformat()


def iso(value: datetime | None) -> str | None:
    return None if value is None else _iso(value)


def summary_json(summary: SessionSummary) -> dict[str, Any]:
    return {
        "session_id": summary.session_id,
        "title": summary.title,
        "created_at": iso(summary.created_at),
        "ended_at": iso(summary.ended_at),
        "duration_s": None if summary.duration_s is None else round(summary.duration_s, 1),
        "line_count": summary.line_count,
        "participants": [
            {
                "participant_id": p.participant_id,
                "name": p.name,
                "role": p.role,
                "consent": p.consent,
                "joined_at": iso(p.joined_at),
                "left_at": iso(p.left_at),
            }
            for p in summary.participants
        ],
    }


def line_json(review_line: ReviewLine) -> dict[str, Any]:
    ln = review_line.line
    return {
        "line_id": ln.line_id,
        "participant_id": ln.participant_id,
        "speaker": ln.speaker_name,
        "role": ln.speaker_role,
        "start_s": round(ln.start_s, 2),
        "end_s": round(ln.end_s, 2),
        "text": ln.text,
        "original_text": ln.original_text,
        "corrected": ln.corrected,
        "sentiment": review_line.sentiment,
    }


def cue_json(review_cue: ReviewCue) -> dict[str, Any]:
    c = review_cue.cue
    return {
        "cue_id": c.id,
        "participant_id": c.participant_id,
        "at_s": round(c.at_s, 2),
        "kind": c.kind,
        "severity": c.severity,
        "sentence": c.sentence,
        "evidence": c.evidence,
        "line_id": review_cue.line_id,
    }


def record_json(record: SessionRecord) -> dict[str, Any]:
    """The record as the JSON export and the review API give it (notes are added by the review API)."""
    return {
        **summary_json(record.summary),
        "consent_events": record.consent_events,
        "lines": [line_json(ln) for ln in record.lines],
        "cues": [cue_json(c) for c in record.cues],
        "talk_time": [
            {"participant_id": t.participant_id, "name": t.name, "role": t.role, "seconds": t.seconds,
             "share": t.share}
            for t in record.talk_time
        ],
    }
