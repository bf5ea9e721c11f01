"""Session records in the database: sessions, participants, consent decisions, transcript lines and cues.

Names, line text, cue sentences and evidence are encrypted with the session id bound as associated data.
Everything handed out is a dataclass of ``server.records.models``; no ORM row leaves this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update

from analysis.events import TimedWord
from server.db.database import Database, aware
from server.db.tables import (
    ConsentEventRow,
    CueRow,
    LiveParticipantRow,
    LiveSessionRow,
    NoteRow,
    ParticipantRow,
    SessionRow,
    TranscriptLineRow,
)
from server.records.models import (
    ConsentEvent,
    ParticipantRecord,
    SessionSummary,
    StoredCue,
    TranscriptLine,
)


@dataclass(frozen=True, slots=True)
class Fragment:
    """A transcript row of a record older than sentences, decrypted, for joining into sentences."""

    line_id: int
    participant_id: str
    start_s: float
    end_s: float
    recognised: str
    corrected: str | None


class SessionRecords:
    def __init__(self, database: Database) -> None:
        self._db = database
        self.cipher = database.cipher

    # --- what a live session writes ------------------------------------------------------------------
    async def add_session(
        self, session_id: str, title: str, created_at: datetime, counselor_account_id: int | None = None
    ) -> None:
        async with self._db.sessionmaker.begin() as db:
            db.add(
                SessionRow(
                    id=session_id, title=title, created_at=created_at, counselor_account_id=counselor_account_id
                )
            )

    async def end_session(self, session_id: str, ended_at: datetime) -> None:
        async with self._db.sessionmaker.begin() as db:
            row = await db.get(SessionRow, session_id)
            if row is not None:
                row.ended_at = ended_at

    async def add_participant(
        self, session_id: str, participant_id: str, role: str, name: str, joined_at: datetime
    ) -> None:
        async with self._db.sessionmaker.begin() as db:
            db.add(
                ParticipantRow(
                    id=participant_id,
                    session_id=session_id,
                    role=role,
                    display_name_enc=self.cipher.encrypt(name, session_id),
                    joined_at=joined_at,
                )
            )

    async def participant_left(self, session_id: str, participant_id: str, at: datetime) -> None:
        async with self._db.sessionmaker.begin() as db:
            row = await db.get(ParticipantRow, (participant_id, session_id))
            if row is not None:
                row.left_at = at

    async def add_consent(
        self, session_id: str, participant_id: str, role: str, state: str, version: str, at: datetime
    ) -> None:
        async with self._db.sessionmaker.begin() as db:
            db.add(
                ConsentEventRow(
                    session_id=session_id,
                    participant_id=participant_id,
                    role=role,
                    state=state,
                    text_version=version,
                    at=at,
                )
            )

    async def add_transcript_line(
        self,
        session_id: str,
        participant_id: str,
        speaker_role: str,
        start_s: float,
        end_s: float,
        text: str,
        created_at: datetime,
        words: Sequence[TimedWord] = (),
    ) -> int:
        """Stores a sentence (or the start of one) and returns its line id."""
        async with self._db.sessionmaker.begin() as db:
            row = TranscriptLineRow(
                session_id=session_id,
                participant_id=participant_id,
                speaker_role=speaker_role,
                start_s=start_s,
                end_s=end_s,
                text_enc=self.cipher.encrypt(text, session_id),
                words_enc=self._words_blob(words, session_id),
                created_at=created_at,
            )
            db.add(row)
            await db.flush()
            return row.id

    async def update_transcript_line(
        self, session_id: str, line_id: int, start_s: float, end_s: float, text: str, words: Sequence[TimedWord]
    ) -> bool:
        """The sentence grew (more settled words) or was revised; a counselor's correction is kept."""
        async with self._db.sessionmaker.begin() as db:
            result = await db.execute(
                update(TranscriptLineRow)
                .where(TranscriptLineRow.id == line_id, TranscriptLineRow.session_id == session_id)
                .values(
                    start_s=start_s,
                    end_s=end_s,
                    text_enc=self.cipher.encrypt(text, session_id),
                    words_enc=self._words_blob(words, session_id),
                )
            )
            return bool(cast(CursorResult[Any], result).rowcount)

    async def set_counselor_act(self, session_id: str, line_id: int, act: str) -> None:
        """Keeps how a counselor's finished sentence was coded (open_question, closed_question, ...)."""
        async with self._db.sessionmaker.begin() as db:
            await db.execute(
                update(TranscriptLineRow)
                .where(TranscriptLineRow.id == line_id, TranscriptLineRow.session_id == session_id)
                .values(counselor_act=act)
            )

    def _words_blob(self, words: Sequence[TimedWord], session_id: str) -> bytes | None:
        if not words:
            return None
        plain = [[w.text, round(w.start_s, 3), round(w.end_s, 3), w.glued] for w in words]
        return self.cipher.encrypt(json.dumps(plain, ensure_ascii=False), session_id)

    def _words(self, blob: bytes | None, session_id: str) -> tuple[TimedWord, ...]:
        if blob is None:
            return ()
        plain = json.loads(self.cipher.decrypt(blob, session_id))
        return tuple(TimedWord(str(t), float(a), float(b), bool(g)) for t, a, b, g in plain)

    async def add_cue(
        self,
        session_id: str,
        participant_id: str,
        at_s: float,
        kind: str,
        severity: str,
        sentence: str,
        evidence: dict[str, Any],
        line_id: int | None = None,
    ) -> None:
        """Stores a cue for the session review; the sentence and the evidence are encrypted."""
        async with self._db.sessionmaker.begin() as db:
            db.add(
                CueRow(
                    session_id=session_id,
                    participant_id=participant_id,
                    at_s=float(at_s),
                    kind=kind,
                    severity=str(severity),
                    sentence_enc=self.cipher.encrypt(sentence, session_id),
                    evidence_enc=self.cipher.encrypt(json.dumps(evidence, default=str), session_id),
                    line_id=line_id,
                )
            )

    # --- what the review reads -------------------------------------------------------------------------
    async def transcript(self, session_id: str) -> list[TranscriptLine]:
        async with self._db.sessionmaker() as db:
            names = {
                row.id: (self.cipher.decrypt(row.display_name_enc, session_id), row.role)
                for row in (
                    await db.scalars(select(ParticipantRow).where(ParticipantRow.session_id == session_id))
                )
            }
            rows = await db.scalars(
                select(TranscriptLineRow)
                .where(TranscriptLineRow.session_id == session_id)
                .order_by(TranscriptLineRow.start_s, TranscriptLineRow.id)
            )
            return [self._line(row, names) for row in rows]

    def _line(self, row: TranscriptLineRow, names: dict[str, tuple[str, str]]) -> TranscriptLine:
        sid = row.session_id
        recognised = self.cipher.decrypt(row.text_enc, sid)
        corrected = self.cipher.decrypt(row.corrected_text_enc, sid) if row.corrected_text_enc else None
        return TranscriptLine(
            session_id=sid,
            participant_id=row.participant_id,
            speaker_name=names.get(row.participant_id, ("?", row.speaker_role))[0],
            speaker_role=row.speaker_role,
            start_s=row.start_s,
            end_s=row.end_s,
            text=corrected if corrected is not None else recognised,
            line_id=row.id,
            original_text=recognised if corrected is not None else None,
            words=self._words(row.words_enc, sid),
            counselor_act=row.counselor_act,
        )

    async def cues(self, session_id: str) -> list[StoredCue]:
        async with self._db.sessionmaker() as db:
            rows = await db.scalars(
                select(CueRow).where(CueRow.session_id == session_id).order_by(CueRow.at_s, CueRow.id)
            )
            return [
                StoredCue(
                    id=r.id,
                    participant_id=r.participant_id,
                    at_s=r.at_s,
                    kind=r.kind,
                    severity=r.severity,
                    sentence=self.cipher.decrypt(r.sentence_enc, session_id),
                    evidence=json.loads(self.cipher.decrypt(r.evidence_enc, session_id)),
                    line_id=r.line_id,
                )
                for r in rows
            ]

    async def consent_events(self, session_id: str) -> list[ConsentEvent]:
        async with self._db.sessionmaker() as db:
            started = await db.scalar(select(SessionRow.created_at).where(SessionRow.id == session_id))
            rows = await db.scalars(
                select(ConsentEventRow).where(ConsentEventRow.session_id == session_id).order_by(ConsentEventRow.id)
            )
            return [_consent_event(r, aware(started) if started else aware(r.at)) for r in rows]

    async def session_summaries(self, account_id: int, only: str | None = None) -> list[SessionSummary]:
        """The counselor's sessions, newest first (or just the one with id ``only``, if theirs). Someone
        else's session and a session that does not exist give the same empty answer."""
        query = select(SessionRow).where(SessionRow.counselor_account_id == account_id)
        if only is not None:
            query = query.where(SessionRow.id == only)
        async with self._db.sessionmaker() as db:
            sessions = list(await db.scalars(query.order_by(SessionRow.created_at.desc(), SessionRow.id)))
            ids = [s.id for s in sessions]
            if not ids:
                return []
            participants = list(await db.scalars(select(ParticipantRow).where(ParticipantRow.session_id.in_(ids))))
            consents = list(
                await db.scalars(
                    select(ConsentEventRow).where(ConsentEventRow.session_id.in_(ids)).order_by(ConsentEventRow.id)
                )
            )
            stats = {
                sid: (int(n), float(last or 0.0))
                for sid, n, last in await db.execute(
                    select(TranscriptLineRow.session_id, func.count(), func.max(TranscriptLineRow.end_s))
                    .where(TranscriptLineRow.session_id.in_(ids))
                    .group_by(TranscriptLineRow.session_id)
                )
            }
        latest_consent = {(c.session_id, c.participant_id): c.state for c in consents}
        by_session: dict[str, list[ParticipantRecord]] = {sid: [] for sid in ids}
        for p in sorted(participants, key=lambda p: (aware(p.joined_at), p.id)):
            by_session[p.session_id].append(
                ParticipantRecord(
                    participant_id=p.id,
                    name=self.cipher.decrypt(p.display_name_enc, p.session_id),
                    role=p.role,
                    joined_at=aware(p.joined_at),
                    left_at=aware(p.left_at) if p.left_at else None,
                    consent=latest_consent.get((p.session_id, p.id), "pending"),
                )
            )
        events: dict[str, list[ConsentEvent]] = {sid: [] for sid in ids}
        started = {s.id: aware(s.created_at) for s in sessions}
        for c in consents:
            events[c.session_id].append(_consent_event(c, started[c.session_id]))
        out = []
        for s in sessions:
            count, last_end = stats.get(s.id, (0, 0.0))
            if s.ended_at is not None:
                duration: float | None = (aware(s.ended_at) - aware(s.created_at)).total_seconds()
            else:
                # A session that never ended cleanly (a crash): its last stored line is the best estimate.
                duration = last_end if count else None
            out.append(
                SessionSummary(
                    session_id=s.id,
                    title=s.title,
                    created_at=aware(s.created_at),
                    ended_at=aware(s.ended_at) if s.ended_at else None,
                    duration_s=duration,
                    participants=by_session[s.id],
                    line_count=count,
                    consent_events=events[s.id],
                )
            )
        return out

    async def encrypted_lines_of(self, account_id: int) -> list[tuple[str, int, bytes, bytes | None]]:
        """Every line blob of one counselor's sessions, still encrypted, for a search in a worker thread."""
        async with self._db.sessionmaker() as db:
            rows = await db.execute(
                select(
                    TranscriptLineRow.session_id,
                    TranscriptLineRow.id,
                    TranscriptLineRow.text_enc,
                    TranscriptLineRow.corrected_text_enc,
                )
                .join(SessionRow, SessionRow.id == TranscriptLineRow.session_id)
                .where(SessionRow.counselor_account_id == account_id)
                .order_by(TranscriptLineRow.session_id, TranscriptLineRow.start_s, TranscriptLineRow.id)
            )
            return [(sid, lid, text, corrected) for sid, lid, text, corrected in rows]

    async def end_orphans(self, created_before: datetime) -> int:
        """Completes the records of sessions cut short with no live state left to carry them on (a crash
        before live sessions were stored): ended when their last line ended, everyone gone by then."""
        async with self._db.sessionmaker.begin() as db:
            orphans = list(
                await db.scalars(
                    select(SessionRow)
                    .outerjoin(LiveSessionRow, LiveSessionRow.id == SessionRow.id)
                    .where(
                        SessionRow.ended_at.is_(None),
                        SessionRow.created_at < created_before,
                        LiveSessionRow.id.is_(None),
                    )
                )
            )
            for row in orphans:
                last = await db.scalar(
                    select(func.max(TranscriptLineRow.end_s)).where(TranscriptLineRow.session_id == row.id)
                )
                ended_at = aware(row.created_at) + timedelta(seconds=float(last or 0.0))
                row.ended_at = ended_at
                await db.execute(
                    update(ParticipantRow)
                    .where(ParticipantRow.session_id == row.id, ParticipantRow.left_at.is_(None))
                    .values(left_at=ended_at)
                )
        return len(orphans)

    # --- records older than sentences ---------------------------------------------------------------------
    async def fragmented_sessions(self) -> list[str]:
        async with self._db.sessionmaker() as db:
            return list(await db.scalars(select(SessionRow.id).where(SessionRow.transcript_version < 2)))

    async def fragments(self, session_id: str) -> list[Fragment]:
        async with self._db.sessionmaker() as db:
            rows = await db.scalars(select(TranscriptLineRow).where(TranscriptLineRow.session_id == session_id))
            return [
                Fragment(
                    r.id, r.participant_id, r.start_s, r.end_s, self.cipher.decrypt(r.text_enc, session_id),
                    self.cipher.decrypt(r.corrected_text_enc, session_id) if r.corrected_text_enc else None,
                )
                for r in rows
            ]

    async def replace_fragments(self, session_id: str, sentences: Sequence[Sequence[Fragment]]) -> None:
        """Each group of fragments becomes its first row; the others go. One transaction, then the record
        is marked as made of sentences."""
        async with self._db.sessionmaker.begin() as db:
            for group in sentences:
                first = group[0]
                recognised = " ".join(f.recognised.strip() for f in group)
                values: dict[str, Any] = {
                    "end_s": max(f.end_s for f in group),
                    "text_enc": self.cipher.encrypt(recognised, session_id),
                }
                if any(f.corrected is not None for f in group):
                    corrected = " ".join((f.corrected if f.corrected is not None else f.recognised).strip()
                                         for f in group)
                    values["corrected_text_enc"] = self.cipher.encrypt(corrected, session_id)
                row_of_first = TranscriptLineRow.id == first.line_id
                await db.execute(update(TranscriptLineRow).where(row_of_first).values(**values))
                rest = [f.line_id for f in group[1:]]
                if rest:
                    await db.execute(delete(TranscriptLineRow).where(TranscriptLineRow.id.in_(rest)))
            await db.execute(update(SessionRow).where(SessionRow.id == session_id).values(transcript_version=2))

    # --- deletion ---------------------------------------------------------------------------------------
    async def delete_sessions(self, session_ids: Sequence[str]) -> int:
        """Hard delete: the rows are gone, not flagged. Children first, so it does not rely on the
        database enforcing ON DELETE CASCADE (SQLite does not by default)."""
        if not session_ids:
            return 0
        ids = list(session_ids)
        async with self._db.sessionmaker.begin() as db:
            for model in (TranscriptLineRow, CueRow, NoteRow, ConsentEventRow, ParticipantRow, LiveParticipantRow):
                await db.execute(delete(model).where(model.session_id.in_(ids)))
            await db.execute(delete(LiveSessionRow).where(LiveSessionRow.id.in_(ids)))
            result = await db.execute(delete(SessionRow).where(SessionRow.id.in_(ids)))
            return int(cast(CursorResult[Any], result).rowcount or 0)

    async def sessions_created_before(self, cutoff: datetime) -> list[str]:
        async with self._db.sessionmaker() as db:
            return list(await db.scalars(select(SessionRow.id).where(SessionRow.created_at < cutoff)))


def _consent_event(row: ConsentEventRow, session_started: datetime) -> ConsentEvent:
    """A decision, placed on the session clock: the live session's clock starts when the session is created,
    so the stored wall-clock time against the session's start is the same offset lines and cues carry."""
    at = aware(row.at)
    at_s = max(0.0, (at - session_started).total_seconds())
    return ConsentEvent(row.participant_id, row.role, row.state, row.text_version, at, round(at_s, 2))
