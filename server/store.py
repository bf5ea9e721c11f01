"""The session record store: SQLAlchemy 2 (async) over SQLite by default (PostgreSQL works the same).

The schema is managed by Alembic (``server/migrations``); the server upgrades to head at start.
Transcript text is stored encrypted (``server.crypto``). No audio or video is ever written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.crypto import FieldCipher

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set once counselor accounts exist; sessions are then visible to their owner only.
    counselor_account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class ParticipantRow(Base):
    __tablename__ = "participants"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConsentEventRow(Base):
    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    text_version: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TranscriptLineRow(Base):
    __tablename__ = "transcript_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(String(32))
    speaker_role: Mapped[str] = mapped_column(String(16))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A counselor's correction; the recognised text above is never overwritten.
    corrected_text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    corrected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    corrected_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginSessionRow(Base):
    """A logged-in browser. Only the SHA-256 digest of the cookie value is kept, so a copied database
    does not hand out live logins."""

    __tablename__ = "login_sessions"
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CueRow(Base):
    __tablename__ = "cues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(String(32))
    at_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(16))
    sentence_enc: Mapped[bytes] = mapped_column(LargeBinary)
    evidence_enc: Mapped[bytes] = mapped_column(LargeBinary)


class NoteRow(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(Integer)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Who did what to which session record. No foreign keys: entries outlive deleted sessions and
    accounts, which is the point of an audit log."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """A stored final caption line, decrypted. ``text`` is the corrected text when there is one."""

    session_id: str
    participant_id: str
    speaker_name: str
    speaker_role: str
    start_s: float
    end_s: float
    text: str
    line_id: int = 0
    original_text: str | None = None  # set only when the line was corrected

    @property
    def corrected(self) -> bool:
        return self.original_text is not None


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    is_admin: bool
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class StoredCue:
    id: int
    participant_id: str
    at_s: float
    kind: str
    severity: str
    sentence: str
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    account_id: int
    text: str
    created_at: datetime


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


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    account_id: int | None
    action: str
    session_id: str | None
    detail: str


def migrate(database_url: str) -> None:
    """Upgrade the database to the newest schema (synchronous: run it in a worker thread)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(cfg, "head")


class Store:
    def __init__(self, engine: AsyncEngine, cipher: FieldCipher) -> None:
        self.engine = engine
        self.cipher = cipher
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, database_url: str, cipher: FieldCipher) -> Store:
        return cls(create_async_engine(database_url), cipher)

    async def close(self) -> None:
        await self.engine.dispose()

    async def add_session(
        self, session_id: str, title: str, created_at: datetime, counselor_account_id: int | None = None
    ) -> None:
        async with self.sessionmaker.begin() as db:
            db.add(
                SessionRow(
                    id=session_id, title=title, created_at=created_at, counselor_account_id=counselor_account_id
                )
            )

    async def end_session(self, session_id: str, ended_at: datetime) -> None:
        async with self.sessionmaker.begin() as db:
            row = await db.get(SessionRow, session_id)
            if row is not None:
                row.ended_at = ended_at

    async def add_participant(
        self, session_id: str, participant_id: str, role: str, name: str, joined_at: datetime
    ) -> None:
        async with self.sessionmaker.begin() as db:
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
        async with self.sessionmaker.begin() as db:
            row = await db.get(ParticipantRow, (participant_id, session_id))
            if row is not None:
                row.left_at = at

    async def add_consent(
        self, session_id: str, participant_id: str, role: str, state: str, version: str, at: datetime
    ) -> None:
        async with self.sessionmaker.begin() as db:
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
    ) -> None:
        async with self.sessionmaker.begin() as db:
            db.add(
                TranscriptLineRow(
                    session_id=session_id,
                    participant_id=participant_id,
                    speaker_role=speaker_role,
                    start_s=start_s,
                    end_s=end_s,
                    text_enc=self.cipher.encrypt(text, session_id),
                    created_at=created_at,
                )
            )

    async def transcript(self, session_id: str) -> list[TranscriptLine]:
        async with self.sessionmaker() as db:
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
        )

    # --- accounts and logins -------------------------------------------------------------------------

    async def add_account(self, email: str, password_hash: str, is_admin: bool, created_at: datetime) -> Account:
        async with self.sessionmaker.begin() as db:
            row = AccountRow(
                email=email, password_hash=password_hash, is_admin=is_admin, created_at=created_at, disabled=False
            )
            db.add(row)
            await db.flush()
            return _account(row)

    async def count_accounts(self) -> int:
        async with self.sessionmaker() as db:
            return int(await db.scalar(select(func.count()).select_from(AccountRow)) or 0)

    async def account_with_hash(self, email: str) -> tuple[Account, str] | None:
        async with self.sessionmaker() as db:
            row = await db.scalar(select(AccountRow).where(AccountRow.email == email))
            return (_account(row), row.password_hash) if row is not None else None

    async def set_password_hash(self, account_id: int, password_hash: str) -> None:
        async with self.sessionmaker.begin() as db:
            await db.execute(update(AccountRow).where(AccountRow.id == account_id).values(password_hash=password_hash))

    async def accounts(self) -> list[Account]:
        async with self.sessionmaker() as db:
            return [_account(row) for row in await db.scalars(select(AccountRow).order_by(AccountRow.id))]

    async def add_login(
        self, token_digest: str, account_id: int, csrf_token: str, created_at: datetime, expires_at: datetime
    ) -> None:
        async with self.sessionmaker.begin() as db:
            db.add(
                LoginSessionRow(
                    token_digest=token_digest,
                    account_id=account_id,
                    csrf_token=csrf_token,
                    created_at=created_at,
                    expires_at=expires_at,
                )
            )

    async def login(self, token_digest: str, now: datetime) -> tuple[Account, str] | None:
        """The account and CSRF token of a live login, or None (unknown, expired or disabled)."""
        async with self.sessionmaker() as db:
            found = (
                await db.execute(
                    select(LoginSessionRow, AccountRow)
                    .join(AccountRow, AccountRow.id == LoginSessionRow.account_id)
                    .where(LoginSessionRow.token_digest == token_digest)
                )
            ).first()
        if found is None:
            return None
        login, account = found
        if aware(login.expires_at) <= now or account.disabled:
            return None
        return _account(account), login.csrf_token

    async def delete_login(self, token_digest: str) -> None:
        async with self.sessionmaker.begin() as db:
            await db.execute(delete(LoginSessionRow).where(LoginSessionRow.token_digest == token_digest))

    async def delete_expired_logins(self, now: datetime) -> int:
        async with self.sessionmaker.begin() as db:
            result = await db.execute(delete(LoginSessionRow).where(LoginSessionRow.expires_at <= now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # --- session records, scoped to their counselor ----------------------------------------------------

    async def owned_session(self, session_id: str, account_id: int) -> SessionRow | None:
        """The session if it exists AND belongs to this account; the same None otherwise, so a caller
        cannot tell someone else's session from one that does not exist."""
        async with self.sessionmaker() as db:
            return await db.scalar(
                select(SessionRow).where(SessionRow.id == session_id, SessionRow.counselor_account_id == account_id)
            )

    async def session_summaries(self, account_id: int, only: str | None = None) -> list[SessionSummary]:
        """The counselor's sessions, newest first (or just the one with id ``only``, if theirs)."""
        query = select(SessionRow).where(SessionRow.counselor_account_id == account_id)
        if only is not None:
            query = query.where(SessionRow.id == only)
        async with self.sessionmaker() as db:
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
                    select(
                        TranscriptLineRow.session_id, func.count(), func.max(TranscriptLineRow.end_s)
                    )
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
                )
            )
        return out

    async def encrypted_lines_of(self, account_id: int) -> list[tuple[str, int, bytes, bytes | None]]:
        """Every line blob of one counselor's sessions, still encrypted, for a search in a worker thread."""
        async with self.sessionmaker() as db:
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

    async def correct_line(self, session_id: str, line_id: int, text: str, account_id: int, at: datetime) -> bool:
        async with self.sessionmaker.begin() as db:
            result = await db.execute(
                update(TranscriptLineRow)
                .where(TranscriptLineRow.id == line_id, TranscriptLineRow.session_id == session_id)
                .values(
                    corrected_text_enc=self.cipher.encrypt(text, session_id), corrected_at=at, corrected_by=account_id
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_note(self, session_id: str, account_id: int, text: str, at: datetime) -> Note:
        async with self.sessionmaker.begin() as db:
            row = NoteRow(
                session_id=session_id, account_id=account_id, text_enc=self.cipher.encrypt(text, session_id),
                created_at=at,
            )
            db.add(row)
            await db.flush()
            return Note(row.id, account_id, text, at)

    async def notes(self, session_id: str) -> list[Note]:
        async with self.sessionmaker() as db:
            rows = await db.scalars(select(NoteRow).where(NoteRow.session_id == session_id).order_by(NoteRow.id))
            return [
                Note(r.id, r.account_id, self.cipher.decrypt(r.text_enc, session_id), aware(r.created_at))
                for r in rows
            ]

    async def add_cue(
        self,
        session_id: str,
        participant_id: str,
        at_s: float,
        kind: str,
        severity: str,
        sentence: str,
        evidence: dict[str, Any],
    ) -> None:
        """Stores a cue for the session review; the sentence and the evidence are encrypted."""
        async with self.sessionmaker.begin() as db:
            db.add(
                CueRow(
                    session_id=session_id,
                    participant_id=participant_id,
                    at_s=float(at_s),
                    kind=kind,
                    severity=str(severity),
                    sentence_enc=self.cipher.encrypt(sentence, session_id),
                    evidence_enc=self.cipher.encrypt(json.dumps(evidence, default=str), session_id),
                )
            )

    async def cues(self, session_id: str) -> list[StoredCue]:
        async with self.sessionmaker() as db:
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
                )
                for r in rows
            ]

    async def delete_sessions(self, session_ids: Sequence[str]) -> int:
        """Hard delete: the rows are gone, not flagged. Children first, so it does not rely on the
        database enforcing ON DELETE CASCADE (SQLite does not by default)."""
        if not session_ids:
            return 0
        ids = list(session_ids)
        async with self.sessionmaker.begin() as db:
            for model in (TranscriptLineRow, CueRow, NoteRow, ConsentEventRow, ParticipantRow):
                await db.execute(delete(model).where(model.session_id.in_(ids)))
            result = await db.execute(delete(SessionRow).where(SessionRow.id.in_(ids)))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def sessions_created_before(self, cutoff: datetime) -> list[str]:
        async with self.sessionmaker() as db:
            return list(await db.scalars(select(SessionRow.id).where(SessionRow.created_at < cutoff)))

    # --- audit -------------------------------------------------------------------------------------------

    async def add_audit(
        self, at: datetime, account_id: int | None, action: str, session_id: str | None, detail: str = ""
    ) -> None:
        async with self.sessionmaker.begin() as db:
            db.add(AuditRow(at=at, account_id=account_id, action=action, session_id=session_id, detail=detail[:200]))

    async def audit_entries(self, account_id: int | None = None, limit: int = 500) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(AuditRow.account_id == account_id)
        async with self.sessionmaker() as db:
            return [
                AuditEntry(aware(r.at), r.account_id, r.action, r.session_id, r.detail) for r in await db.scalars(query)
            ]

    async def consent_events(self, session_id: str) -> list[ConsentEventRow]:
        async with self.sessionmaker() as db:
            rows = await db.scalars(
                select(ConsentEventRow).where(ConsentEventRow.session_id == session_id).order_by(ConsentEventRow.id)
            )
            return list(rows)


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id, email=row.email, is_admin=bool(row.is_admin), created_at=aware(row.created_at),
        disabled=bool(row.disabled),
    )
