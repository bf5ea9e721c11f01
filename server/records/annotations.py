"""What the counselor adds to a record afterwards: private notes, and corrections of transcript lines.

A correction never overwrites the recognised text: both are kept (encrypted), the review shows the
correction and the original beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update

from server.db.database import Database, aware
from server.db.tables import NoteRow, TranscriptLineRow
from server.records.models import Note


class Annotations:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._cipher = database.cipher

    async def correct_line(self, session_id: str, line_id: int, text: str, account_id: int, at: datetime) -> bool:
        async with self._db.sessionmaker.begin() as db:
            result = await db.execute(
                update(TranscriptLineRow)
                .where(TranscriptLineRow.id == line_id, TranscriptLineRow.session_id == session_id)
                .values(
                    corrected_text_enc=self._cipher.encrypt(text, session_id), corrected_at=at, corrected_by=account_id
                )
            )
            return bool(cast(CursorResult[Any], result).rowcount)

    async def add_note(self, session_id: str, account_id: int, text: str, at: datetime) -> Note:
        async with self._db.sessionmaker.begin() as db:
            row = NoteRow(
                session_id=session_id, account_id=account_id, text_enc=self._cipher.encrypt(text, session_id),
                created_at=at,
            )
            db.add(row)
            await db.flush()
            return Note(row.id, account_id, text, at)

    async def edit_note(self, session_id: str, note_id: int, account_id: int, text: str) -> Note | None:
        """Replaces the text of one of the account's notes on this session; None when there is no such note."""
        async with self._db.sessionmaker.begin() as db:
            row = await db.scalar(
                select(NoteRow).where(
                    NoteRow.id == note_id, NoteRow.session_id == session_id, NoteRow.account_id == account_id
                )
            )
            if row is None:
                return None
            row.text_enc = self._cipher.encrypt(text, session_id)
            return Note(row.id, row.account_id, text, aware(row.created_at))

    async def delete_note(self, session_id: str, note_id: int, account_id: int) -> bool:
        """Hard delete, like the session's own delete: the row is gone, not flagged."""
        async with self._db.sessionmaker.begin() as db:
            result = await db.execute(
                delete(NoteRow).where(
                    NoteRow.id == note_id, NoteRow.session_id == session_id, NoteRow.account_id == account_id
                )
            )
            return bool(cast(CursorResult[Any], result).rowcount)

    async def notes(self, session_id: str) -> list[Note]:
        async with self._db.sessionmaker() as db:
            rows = await db.scalars(select(NoteRow).where(NoteRow.session_id == session_id).order_by(NoteRow.id))
            return [
                Note(r.id, r.account_id, self._cipher.decrypt(r.text_enc, session_id), aware(r.created_at))
                for r in rows
            ]
