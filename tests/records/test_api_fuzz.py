"""Property-based fuzzing of the HTTP API against its OpenAPI document (schemathesis): whatever a client
sends, the server answers with a documented status, never a 5xx, and never a stack trace.

The server runs on its own event loop in a thread (schemathesis calls are synchronous). Each generated
request is sent as a logged-in counselor with the CSRF token, and, for operations on one session, once more
with the id of a real session of theirs, so the fuzzer reaches the code behind the ownership check too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import (  # type: ignore[attr-defined]
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from server.accounts.passwords import create_account
from server.accounts.repository import ACCOUNTS
from server.app import create_app
from server.http.openapi import OPENAPI_DOCUMENT
from server.records.context import RECORDS
from server.settings import Settings
from tests.conftest import COUNSELOR_EMAIL, COUNSELOR_PASSWORD

schema = schemathesis.openapi.from_dict(create_app(Settings(captions=False))[OPENAPI_DOCUMENT])
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class ThreadedServer:
    def __init__(self, data_dir: Path) -> None:
        self.app = create_app(Settings(data_dir=data_dir, captions=False))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="api-server", daemon=True)
        self.runner = web.AppRunner(self.app)
        self.url = ""

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def start(self) -> None:
        self.thread.start()

        async def start() -> str:
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            return f"http://127.0.0.1:{port}"

        self.url = self.run(start())

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    server = ThreadedServer(tmp_path_factory.mktemp("fuzz") / "data")
    server.start()
    store = server.app[RECORDS]
    server.run(create_account(server.app[ACCOUNTS], COUNSELOR_EMAIL, COUNSELOR_PASSWORD, is_admin=True))
    http = requests.Session()
    login = http.post(f"{server.url}/api/login", json={"email": COUNSELOR_EMAIL, "password": COUNSELOR_PASSWORD})
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    created = http.post(f"{server.url}/api/sessions", headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    sid = created.json()["session_id"]
    now = datetime.now(UTC)
    server.run(store.add_participant(sid, "p-1", "client", "Fuzzy Client", now))
    server.run(store.add_transcript_line(sid, "p-1", "client", 1.0, 2.0, "a line to correct", now))
    server.run(store.add_cue(sid, "p-1", 1.5, "voice.pace", "notice", "Faster than usual.", {"wpm": 190}))
    try:
        yield {"url": server.url, "http": http, "csrf": csrf, "session_id": sid}
    finally:
        http.close()
        server.stop()


def no_stack_trace(response: Any) -> None:
    body = response.content.decode("latin-1")
    assert "Traceback" not in body and 'File "' not in body, body[:500]


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_never_fails_with_a_server_error(case: schemathesis.Case, api: dict[str, Any]) -> None:
    if case.operation.path == "/api/logout":
        # Logging out would end the fuzzer's own login; run it without the cookie jar instead.
        response = case.call(base_url=api["url"], headers={"X-CSRF-Token": api["csrf"]})
        case.validate_response(response, checks=CHECKS)
        no_stack_trace(response)
        return
    headers = {"X-CSRF-Token": api["csrf"]}
    response = case.call(base_url=api["url"], session=api["http"], headers=headers)
    case.validate_response(response, checks=CHECKS)
    no_stack_trace(response)
    if case.path_parameters and "session_id" in case.path_parameters and case.method.upper() != "DELETE":
        case.path_parameters["session_id"] = api["session_id"]
        if "line_id" in case.path_parameters:
            case.path_parameters["line_id"] = "1"
        response = case.call(base_url=api["url"], session=api["http"], headers=headers)
        case.validate_response(response, checks=CHECKS)
        no_stack_trace(response)
