"""Writes what a live session produces (the session, participants, consent decisions, final transcript
lines, cues) to its record as it happens, so a crash loses at most the line being spoken. A failed write
is logged (ids only) and the call goes on."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from analysis.events import Cue, TimedWord
from server.records.repository import SessionRecords
from server.session.model import Session
from server.session.participant import ConsentDecision, Participant, now_utc

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, records: SessionRecords) -> None:
        self.records = records

    async def session_created(self, session: Session, counselor_account_id: int | None = None) -> None:
        try:
            await self.records.add_session(session.id, session.title, session.created_at, counselor_account_id)
        except Exception:
            log.exception("session %s: could not store the new session", session.id)

    async def participant_joined(self, session: Session, participant: Participant) -> None:
        try:
            await self.records.add_participant(
                session.id, participant.id, participant.role.value, participant.name, participant.joined_at
            )
        except Exception:
            log.exception("session %s: could not store participant %s", session.id, participant.id)

    async def participant_left(self, session: Session, participant: Participant) -> None:
        # Gone when the session ended, for those still there then (it may have ended before now: its
        # instance stopped and nobody came back).
        at = session.ended_at if session.ended_at is not None else now_utc()
        try:
            await self.records.participant_left(session.id, participant.id, at)
        except Exception:
            log.exception("session %s: could not store that %s left", session.id, participant.id)

    async def consent(self, session: Session, decision: ConsentDecision) -> None:
        try:
            await self.records.add_consent(
                session.id, decision.participant_id, decision.role.value, decision.state.value,
                decision.version, decision.at,
            )
        except Exception:
            log.exception("session %s: could not store a consent decision of %s", session.id,
                          decision.participant_id)

    async def sentence_started(
        self, session: Session, participant: Participant, start_s: float, end_s: float, text: str,
        words: Sequence[TimedWord],
    ) -> int | None:
        """Stores the first settled words of a sentence; returns its line id (None if it could not be
        stored: the sentence is then tried again as a new row with its next words)."""
        try:
            return await self.records.add_transcript_line(
                session.id, participant.id, participant.role.value, start_s, end_s, text, now_utc(), words
            )
        except Exception:
            log.exception("session %s: could not store a sentence of %s", session.id, participant.id)
            return None

    async def sentence_grew(
        self, session: Session, line_id: int, start_s: float, end_s: float, text: str, words: Sequence[TimedWord]
    ) -> None:
        try:
            await self.records.update_transcript_line(session.id, line_id, start_s, end_s, text, words)
        except Exception:
            log.exception("session %s: could not store more of sentence %s", session.id, line_id)

    async def counselor_act(self, session: Session, line_id: int, act: str) -> None:
        try:
            await self.records.set_counselor_act(session.id, line_id, act)
        except Exception:
            log.exception("session %s: could not store the act of sentence %s", session.id, line_id)

    async def session_ended(self, session: Session) -> None:
        if session.ended_at is None:
            return
        try:
            await self.records.end_session(session.id, session.ended_at)
        except Exception:
            log.exception("session %s: could not store the end of the session", session.id)

    async def cue(self, session: Session, cue: Cue, line_id: int | None = None) -> None:
        """A cue that passed the hint policy, kept for the session review (sentence and evidence encrypted);
        ``line_id``: the sentence it is about, for cues about words."""
        try:
            await self.records.add_cue(
                session.id, cue.participant_id, cue.at_s, cue.kind, cue.severity.value, cue.sentence, cue.evidence,
                line_id,
            )
        except Exception:
            log.exception("session %s: could not store a cue about %s", session.id, cue.participant_id)
