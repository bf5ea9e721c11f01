"""Counselor accounts and logged-in browsers in the database; hands out ``Account`` dataclasses only.

A login is kept as the SHA-256 digest of its cookie value, so a copied database does not hand out live
logins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from aiohttp import web
from sqlalchemy import CursorResult, delete, func, select, update

from server.db.database import DATABASE, Database, aware
from server.db.tables import AccountRow, LoginSessionRow


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    email: str
    is_admin: bool
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class StoredLogin:
    account: Account
    csrf_token: str


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id, email=row.email, is_admin=bool(row.is_admin), created_at=aware(row.created_at),
        disabled=bool(row.disabled),
    )


class Accounts:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, email: str, password_hash: str, is_admin: bool, created_at: datetime) -> Account:
        async with self._db.sessionmaker.begin() as db:
            row = AccountRow(
                email=email, password_hash=password_hash, is_admin=is_admin, created_at=created_at, disabled=False
            )
            db.add(row)
            await db.flush()
            return _account(row)

    async def count(self) -> int:
        async with self._db.sessionmaker() as db:
            return int(await db.scalar(select(func.count()).select_from(AccountRow)) or 0)

    async def with_password_hash(self, email: str) -> tuple[Account, str] | None:
        async with self._db.sessionmaker() as db:
            row = await db.scalar(select(AccountRow).where(AccountRow.email == email))
            return (_account(row), row.password_hash) if row is not None else None

    async def set_password_hash(self, account_id: int, password_hash: str) -> None:
        async with self._db.sessionmaker.begin() as db:
            await db.execute(update(AccountRow).where(AccountRow.id == account_id).values(password_hash=password_hash))

    async def all(self) -> list[Account]:
        async with self._db.sessionmaker() as db:
            return [_account(row) for row in await db.scalars(select(AccountRow).order_by(AccountRow.id))]

    async def add_login(
        self, token_digest: str, account_id: int, csrf_token: str, created_at: datetime, expires_at: datetime
    ) -> None:
        async with self._db.sessionmaker.begin() as db:
            db.add(
                LoginSessionRow(
                    token_digest=token_digest,
                    account_id=account_id,
                    csrf_token=csrf_token,
                    created_at=created_at,
                    expires_at=expires_at,
                )
            )

    async def login(self, token_digest: str, now: datetime) -> StoredLogin | None:
        """The account and CSRF token of a live login, or None (unknown, expired or disabled)."""
        async with self._db.sessionmaker() as db:
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
        return StoredLogin(_account(account), login.csrf_token)

    async def delete_login(self, token_digest: str) -> None:
        async with self._db.sessionmaker.begin() as db:
            await db.execute(delete(LoginSessionRow).where(LoginSessionRow.token_digest == token_digest))

    async def delete_expired_logins(self, now: datetime) -> int:
        async with self._db.sessionmaker.begin() as db:
            result = await db.execute(delete(LoginSessionRow).where(LoginSessionRow.expires_at <= now))
            return int(cast(CursorResult[Any], result).rowcount or 0)


ACCOUNTS = web.AppKey("accounts", Accounts)


async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    app[ACCOUNTS] = Accounts(app[DATABASE])
    yield
