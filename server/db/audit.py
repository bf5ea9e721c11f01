"""The audit log: who viewed, exported, edited or deleted which session record, and when.

Entries name the account, the action, the session and a short detail (an export format, a line id), never
any record content. Writing an entry is part of the request: if the entry cannot be stored, the request
fails rather than go unrecorded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aiohttp import web
from sqlalchemy import select

from server.db.database import DATABASE, Database, aware
from server.db.tables import AuditRow

log = logging.getLogger(__name__)


class Action(StrEnum):
    VIEW = "view"
    EXPORT = "export"
    EDIT = "edit"  # a transcript line corrected
    NOTE = "note"  # a private note added
    NOTE_EDIT = "note_edit"  # a private note's text replaced
    NOTE_DELETE = "note_delete"  # a private note deleted
    DELETE = "delete"  # hard delete by the counselor
    RETENTION_DELETE = "retention_delete"  # deleted by the retention policy
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    ACCOUNT_CREATED = "account_created"
    ROOM_LINK = "room_link"  # a new counselor link to a live session (the old one stopped working)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    account_id: int | None
    action: str
    session_id: str | None
    detail: str


class AuditLog:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(
        self, account_id: int | None, action: Action, session_id: str | None = None, detail: str = ""
    ) -> None:
        async with self._db.sessionmaker.begin() as db:
            db.add(
                AuditRow(
                    at=datetime.now(UTC), account_id=account_id, action=action.value, session_id=session_id,
                    detail=detail[:200],
                )
            )
        log.info("audit: account %s %s session %s %s", account_id, action.value, session_id or "-", detail)

    async def entries(self, account_id: int | None = None, limit: int = 500) -> list[AuditEntry]:
        """Newest first; only ``account_id``'s own entries when given."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if account_id is not None:
            query = query.where(AuditRow.account_id == account_id)
        async with self._db.sessionmaker() as db:
            return [
                AuditEntry(aware(r.at), r.account_id, r.action, r.session_id, r.detail)
                for r in await db.scalars(query)
            ]


AUDIT = web.AppKey("audit_log", AuditLog)


async def audit_ctx(app: web.Application) -> AsyncIterator[None]:
    app[AUDIT] = AuditLog(app[DATABASE])
    yield
