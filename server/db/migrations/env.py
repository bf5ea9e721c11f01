"""Alembic environment: runs migrations synchronously on the URL given by ``server.db.database.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from server.db.tables import Base

target_metadata = Base.metadata


def _sync_url(url: str) -> str:
    # Migrations run in a worker thread with the synchronous drivers of the same databases.
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


def run_migrations_online() -> None:
    url = _sync_url(context.config.get_main_option("sqlalchemy.url") or "")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
