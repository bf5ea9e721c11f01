"""Requests the HTTP parser cannot read get a 400 and one WARNING line: no traceback, no request bytes in the log;
a long search query the parser can read gets the API's JSON error."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.conftest import AppHarness


async def raw_request(harness: AppHarness, request_line: str) -> bytes:
    server = harness.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"{request_line}\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    return answer


async def test_an_unparsable_request_line_is_a_400_and_one_warning_without_the_request(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "I%20want%20to%20end%20it%20all"
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    answer = await raw_request(harness, f"GET /api/records/sessions?q={secret}{'x' * 40_000} HTTP/1.1")
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records and all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert all("end%20it" not in r.getMessage() and "LineTooLong" in r.getMessage() for r in records)
    assert "Traceback" not in caplog.text


async def test_a_search_query_over_its_limit_gets_the_apis_json_error(harness: AppHarness) -> None:
    await harness.login()
    query = "%F3%8A%BB%B9" * 700  # 700 four-byte characters: 8,400 bytes, over aiohttp's default line limit
    resp = await harness.client.get(f"/api/records/sessions?q={query}", headers=harness.csrf)
    assert resp.status == 400
    assert resp.content_type == "application/json"


async def test_a_first_request_with_a_bad_method_stays_at_debug(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    answer = await raw_request(harness, "G\x01T / HTTP/1.1")  # what a scanner or TLS on the plain port sends
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records and all(r.levelno == logging.DEBUG and r.exc_info is None for r in records)
