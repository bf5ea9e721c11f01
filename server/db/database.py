"""The database a server instance writes to: one async SQLAlchemy engine and the field cipher.

SQLite by default (a file in the data folder), PostgreSQL when ``ATTUNE_DATABASE_URL`` points at one.
The schema is upgraded to the newest Alembic revision before the engine opens. Repositories in the
layers above (accounts, records, the audit log) share one ``Database`` and hand out dataclasses only.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from server.db.crypto import FieldCipher, load_or_create_key
from server.settings import SETTINGS

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def migrate(database_url: str) -> None:
    """Upgrade the database to the newest schema (synchronous: run it in a worker thread)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(cfg, "head")


class Database:
    """The engine, a session factory and the cipher that encrypts health-record fields."""

    def __init__(self, engine: AsyncEngine, cipher: FieldCipher) -> None:
        self.engine = engine
        self.cipher = cipher
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, database_url: str, cipher: FieldCipher) -> Database:
        # SQLite: a writer waits up to 30 s for another's transaction (default 5 s) instead of failing, so
        # a busy machine delays a stored sentence rather than losing it.
        connect_args = {"timeout": 30.0} if database_url.startswith("sqlite") else {}
        return cls(create_async_engine(database_url, connect_args=connect_args), cipher)

    async def close(self) -> None:
        await self.engine.dispose()


async def open_database(database_url: str, data_dir: Path, data_key: str | None) -> Database:
    """Load (or create) the data key, migrate the schema and open the engine; file work in threads."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    key = await asyncio.to_thread(load_or_create_key, data_dir, data_key)
    await asyncio.to_thread(migrate, database_url)
    return Database.open(database_url, FieldCipher(key))


DATABASE = web.AppKey("database", Database)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    database = await open_database(
        settings.resolved_database_url, settings.data_dir, os.environ.get("ATTUNE_DATA_KEY")
    )
    app[DATABASE] = database
    yield
    await database.close()
