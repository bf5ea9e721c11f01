"""The session record store: SQLAlchemy 2 (async) over SQLite by default (PostgreSQL works the same).

The schema is managed by Alembic (``server/migrations``); the server upgrades to head at start.
Transcript text is stored encrypted (``server.crypto``). No audio or video is ever written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, select
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


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """A stored final caption line, decrypted."""

    session_id: str
    participant_id: str
    speaker_name: str
    speaker_role: str
    start_s: float
    end_s: float
    text: str


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

    async def add_session(self, session_id: str, title: str, created_at: datetime) -> None:
        async with self.sessionmaker.begin() as db:
            db.add(SessionRow(id=session_id, title=title, created_at=created_at))

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
            return [
                TranscriptLine(
                    session_id=session_id,
                    participant_id=row.participant_id,
                    speaker_name=names.get(row.participant_id, ("?", row.speaker_role))[0],
                    speaker_role=row.speaker_role,
                    start_s=row.start_s,
                    end_s=row.end_s,
                    text=self.cipher.decrypt(row.text_enc, session_id),
                )
                for row in rows
            ]

    async def consent_events(self, session_id: str) -> list[ConsentEventRow]:
        async with self.sessionmaker() as db:
            rows = await db.scalars(
                select(ConsentEventRow).where(ConsentEventRow.session_id == session_id).order_by(ConsentEventRow.id)
            )
            return list(rows)
