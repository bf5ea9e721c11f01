"""The database schema: one SQLAlchemy declarative class per table.

Alembic (``server/db/migrations``) owns the schema's history; these classes are its current shape.
Health-record text (names, transcript lines, cue sentences and evidence, notes) is stored only as
AES-GCM ciphertext (``server.db.crypto``). No audio or video is ever written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    # 1: one row per caption fragment (before sentences); 2: one row per sentence.
    transcript_version: Mapped[int] = mapped_column(Integer, default=2, server_default="1")


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
    """One sentence of one speaker (a row per caption fragment in records of transcript version 1)."""

    __tablename__ = "transcript_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(String(32))
    speaker_role: Mapped[str] = mapped_column(String(16))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # The words with their times, [[text, start_s, end_s, glued], ...] as encrypted JSON (exports time
    # their cues by them); None for rows older than sentences.
    words_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # How a counselor's sentence was coded live (open_question, closed_question, reflection, other): the
    # review's listening summary counts what the panel counted. None for clients' rows and older records.
    counselor_act: Mapped[str | None] = mapped_column(String(16), nullable=True)
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
    # The sentence a cue about words was raised on (None for cues about voice, flow or video).
    line_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


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


class LiveSessionRow(Base):
    """What a live session needs to continue on any instance after a restart or a failover. Tokens are
    digests; the invite token itself is kept encrypted so the counselor's room can show the link again."""

    __tablename__ = "live_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title_enc: Mapped[bytes] = mapped_column(LargeBinary)
    counselor_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    invite_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    invite_token_enc: Mapped[bytes] = mapped_column(LargeBinary)
    invite_expires_at: Mapped[float] = mapped_column(Float)
    max_participants: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)  # instance holding it
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LiveParticipantRow(Base):
    __tablename__ = "live_participants"
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    resume_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    previous_resume_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    presence: Mapped[str] = mapped_column(String(16))
    epoch: Mapped[int] = mapped_column(Integer)
    consent: Mapped[str] = mapped_column(String(16))
    consent_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
