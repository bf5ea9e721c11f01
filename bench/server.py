"""The server app in-process on a free local port, as the real-path benchmarks run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from server.settings import Settings

BENCH_EMAIL, BENCH_PASSWORD = "bench@example.org", "bench-password-long-enough-1"


async def serve_in_process(
    settings: Settings, email: str = BENCH_EMAIL, password: str = BENCH_PASSWORD
) -> tuple[web.Application, web.AppRunner, str]:
    """``create_app(settings)`` served on 127.0.0.1 (a free port) with a counselor account ``email``:
    the app, its runner (the caller's to ``cleanup()``) and the base URL."""
    from aiohttp import web

    from server.accounts.passwords import create_account
    from server.accounts.repository import ACCOUNTS
    from server.app import create_app

    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await create_account(app[ACCOUNTS], email, password, is_admin=True)
    return app, runner, f"http://127.0.0.1:{port}"
