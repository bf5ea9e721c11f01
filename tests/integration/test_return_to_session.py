"""Back into a live session from the records list: the list marks the session live, and its owner gets a
new counselor link (POST /api/sessions/{id}/return) that opens the room as the same counselor, while the
old link stops working, on this instance and on another one sharing the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.settings import Settings
from tests.conftest import AppHarness, fresh_postgres_database
from tests.records.conftest import second_counselor


async def return_link(harness: AppHarness, session_id: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    headers = kwargs.pop("headers", harness.csrf)
    resp = await harness.client.post(f"/api/sessions/{session_id}/return", headers=headers, **kwargs)
    return resp.status, await resp.json()


async def listed(harness: AppHarness, session_id: str) -> dict[str, Any]:
    listing = await (await harness.client.get("/api/records/sessions")).json()
    found: dict[str, Any] = next(s for s in listing["sessions"] if s["session_id"] == session_id)
    return found


async def test_owner_returns_with_a_new_link_and_the_old_one_stops_working(harness: AppHarness) -> None:
    await harness.login()
    s, counselor, cw, client, _ = await harness.admitted_pair()
    item = await listed(harness, s["session_id"])
    assert item["live"] is True and item["ended_at"] is None
    assert {p["role"] for p in item["participants"]} == {"counselor", "client"}

    status, body = await return_link(harness, s["session_id"])
    assert status == 200, body
    assert body["session_id"] == s["session_id"]
    new_token = body["counselor_url"].rsplit("/", 1)[1]
    assert body["counselor_url"].endswith(f"/host/{new_token}") and new_token != s["counselor_token"]

    # The old link opens nothing (page and socket), in the counselor's own words.
    old_page = await harness.client.get(f"/host/{s['counselor_token']}")
    text = await old_page.text()
    assert old_page.status == 404 and "newer link" in text and "Session records" in text
    assert "ask your counselor" not in text.lower() and "If a counselor sent you" not in text
    stale = await harness.connect()
    await stale.send(type="join", token=s["counselor_token"], name="Dr. Rivera")
    assert (await stale.expect("error"))["code"] == "bad_token"

    # The new one opens the room as the same counselor (the old window is told it was replaced).
    page = await harness.client.get(urlparse(body["counselor_url"]).path)
    assert page.status == 200 and 'data-role="counselor"' in await page.text()
    _back, welcome = await harness.join(new_token, "Dr. Rivera")
    assert welcome["you"]["participant_id"] == cw["you"]["participant_id"]
    assert welcome["you"]["role"] == "counselor" and welcome["state"] == "admitted"
    assert (await counselor.expect("error"))["code"] == "replaced"
    # The audit log says who made a new room link for which session (never the link itself).
    entries = (await (await harness.client.get("/api/audit")).json())["entries"]
    links = [e for e in entries if e["action"] == "room_link"]
    assert [(e["session_id"], e["detail"]) for e in links] == [(s["session_id"], "")]
    assert not any(new_token in str(e) for e in entries)
    # The client's call goes on; the invite link is unchanged.
    assert (await harness.client.get(f"/join/{s['invite_token']}")).status == 200
    await client.close()


async def test_only_the_owner_may_return_and_never_without_csrf(harness: AppHarness) -> None:
    await harness.login()
    s = await harness.new_session()
    other = await second_counselor(harness.client.server)
    try:
        status, body = await return_link(other, s["session_id"])
        assert status == 404 and body["error"] == "not_found"
        assert not any(item["session_id"] == s["session_id"]
                       for item in (await (await other.client.get("/api/records/sessions")).json())["sessions"])
        for unknown in ("0123456789abcdef", "not-a-session-id"):
            status, body = await return_link(harness, unknown)
            assert status == 404 and body["error"] == "not_found"
        status, body = await return_link(harness, s["session_id"], headers={})
        assert status == 403
        status, body = await return_link(harness, s["session_id"], json={"unexpected": 1})
        assert status == 400
        # None of these replaced the link.
        assert (await harness.client.get(f"/host/{s['counselor_token']}")).status == 200
    finally:
        await other.client.close()


async def test_an_ended_session_is_not_live_and_cannot_be_returned_to(harness: AppHarness) -> None:
    await harness.login()
    s, counselor, _, client, _ = await harness.admitted_pair()
    await counselor.send(type="end_session")
    await counselor.expect("session_ended")
    assert (await listed(harness, s["session_id"]))["live"] is False
    status, body = await return_link(harness, s["session_id"])
    assert status == 409 and body["error"] == "ended"
    # The ended room's page speaks to the counselor, not to a client.
    page = await harness.client.get(f"/host/{s['counselor_token']}")
    text = await page.text()
    assert page.status == 410 and "You ended this session" in text and "Session records" in text
    assert "If a counselor sent you this link" not in text
    await client.close()


@pytest.fixture
async def two_instances(tmp_path: Path, postgres_server: str) -> AsyncIterator[tuple[AppHarness, AppHarness]]:
    """Two server instances sharing one PostgreSQL database and one data key (as behind the balancer)."""
    database_url = fresh_postgres_database(postgres_server)
    base = Settings(data_dir=tmp_path / "data", captions=False, reconnect_grace_s=3.0, database_url=database_url)
    async with (
        TestServer(create_app(replace(base, instance_id="a"))) as server_a,
        TestClient(server_a) as client_a,
        TestServer(create_app(replace(base, instance_id="b"))) as server_b,
        TestClient(server_b) as client_b,
    ):
        a, b = AppHarness(client_a), AppHarness(client_b)
        await a.login()
        await b.login()
        yield a, b


async def test_a_link_replaced_on_another_instance_stops_working_where_the_session_is_held(
    two_instances: tuple[AppHarness, AppHarness],
) -> None:
    a, b = two_instances
    s = await a.new_session()
    counselor, cw = await a.join(s["counselor_token"], "Dr. Rivera")  # instance a holds the session
    assert (await listed(b, s["session_id"]))["live"] is True
    status, body = await return_link(b, s["session_id"])  # the list was served by instance b
    assert status == 200, body
    new_token = body["counselor_url"].rsplit("/", 1)[1]
    # On instance a, which still holds the session in memory: the old link is refused, the new one opens it.
    assert (await a.client.get(f"/host/{s['counselor_token']}")).status == 404
    stale = await a.connect()
    await stale.send(type="join", token=s["counselor_token"], name="Dr. Rivera")
    assert (await stale.expect("error"))["code"] == "bad_token"
    assert (await a.client.get(f"/host/{new_token}")).status == 200
    _back, welcome = await a.join(new_token, "Dr. Rivera")
    assert welcome["you"]["participant_id"] == cw["you"]["participant_id"]
    assert (await counselor.expect("error"))["code"] == "replaced"
