"""The audit log: who viewed, exported, edited or deleted which session record, and when.

Entries name the account, the action, the session and a short detail (an export format, a line id), never
any record content. Writing an entry is part of the request: if the entry cannot be stored, the request
fails rather than go unrecorded.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import StrEnum

from server.store import Store

log = logging.getLogger(__name__)


class Action(StrEnum):
    VIEW = "view"
    EXPORT = "export"
    EDIT = "edit"  # a transcript line corrected
    NOTE = "note"  # a private note added
    DELETE = "delete"  # hard delete by the counselor
    RETENTION_DELETE = "retention_delete"  # deleted by the retention policy
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    ACCOUNT_CREATED = "account_created"


async def record(
    store: Store, account_id: int | None, action: Action, session_id: str | None = None, detail: str = ""
) -> None:
    await store.add_audit(datetime.now(UTC), account_id, action.value, session_id, detail)
    log.info("audit: account %s %s session %s %s", account_id, action.value, session_id or "-", detail)
