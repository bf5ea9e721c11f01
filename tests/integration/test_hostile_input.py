"""Input and exposure, probed as an attacker and an operator would: hostile frames and bodies get a clear
error (never a 5xx, never a traceback) and leave other sessions untouched; metrics are for operators only
and name nobody; the transcript is only reachable through the counselor's login."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.settings import Settings
from tests.conftest import AppHarness


async def test_hostile_frames_get_clear_errors_and_the_session_carries_on(
    harness: AppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    _, counselor, _, client, _ = await harness.admitted_pair()
    stranger = await harness.connect()
    frames = [
        '{"type": "net_quality", "level": "good", "rtt_ms": ' + "9" * 4301 + "}",
        '{"type": "join", "token": "' + "x" * 20 + '", "name": "Sam", "resume_key": "' + "9" * 4301 + '"}',
        '{"type": "chat", "text": "\\ud800"}',
        "[" * 5000 + "]" * 5000,
        '{"type": "consent", "granted": "yes", "version": "v"}',
        '{"type": "admit", "participant_id": ' + "1" * 4301 + "}",
    ]
    with caplog.at_level(logging.INFO):
        for raw in frames:
            await stranger.ws.send_str(raw)
            reply = await stranger.expect("error")
            assert reply["code"] in {"bad_json", "bad_message", "bad_token", "not_joined"}, (raw[:40], reply)
            assert "Traceback" not in json.dumps(reply)
        for raw in frames:
            await client.ws.send_str(raw)
            assert (await client.expect("error"))["code"] in {"bad_json", "bad_message", "already_joined"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    # Everyone else carries on.
    await client.send(type="chat", text="still here")
    assert (await counselor.expect("chat"))["text"] == "still here"


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("notes", "POST", '{"text": "\\ud800"}'),
        ("notes", "POST", '{"text": ' + "[" * 5000 + "]" * 5000 + "}"),
        ("notes", "POST", '{"text": "a note", "n": ' + "9" * 4301 + "}"),
        ("notes", "POST", json.dumps({"text": "x" * 10_001})),
        ("notes", "POST", json.dumps({"text": "bell\u0007"})),
        ("notes", "POST", json.dumps({"text": "\udb42\ude22" * 6000})),  # over the 64 KiB body limit
        ("lines/1", "PATCH", '{"text": "\\udfff"}'),
        ("lines/1", "PATCH", json.dumps({"text": "x" * 5001})),
        ("lines/99999999999999999999", "PATCH", json.dumps({"text": "fine"})),
    ],
)
async def test_hostile_bodies_get_a_clear_4xx(harness: AppHarness, path: str, method: str, body: str) -> None:
    s = await harness.new_session()
    url = f"/api/records/sessions/{s['session_id']}/{path}"
    resp = await harness.client.request(method, url, data=body, headers={**harness.csrf,
                                                                          "Content-Type": "application/json"})
    text = await resp.text()
    assert 400 <= resp.status < 500, (resp.status, text[:300])
    assert "Traceback" not in text and json.loads(text)["error"]
    assert resp.content_type == "application/json"


async def test_fields_at_their_limits_are_accepted(harness: AppHarness) -> None:
    s = await harness.new_session()
    resp = await harness.client.post(f"/api/records/sessions/{s['session_id']}/notes",
                                     json={"text": "n" * 10_000}, headers=harness.csrf)
    assert resp.status == 201
    resp = await harness.client.post("/api/sessions", json={"title": "t" * 200}, headers=harness.csrf)
    assert resp.status == 201
    resp = await harness.client.post("/api/sessions", json={"title": "t" * 201}, headers=harness.csrf)
    assert resp.status == 400


async def test_the_transcript_is_only_for_the_counselor_login(harness: AppHarness) -> None:
    s = await harness.new_session()
    gone = await harness.client.get("/api/transcript", headers={"Authorization": f"Bearer {s['counselor_token']}"})
    assert gone.status == 404
    async with aiohttp.ClientSession() as stranger:
        resp = await stranger.get(harness.client.make_url(f"/api/records/sessions/{s['session_id']}"))
        assert resp.status == 401


async def test_metrics_are_for_operators_and_name_nobody(harness: AppHarness) -> None:
    s, _, cw, _, clw = await harness.admitted_pair()
    local = await harness.client.get("/metrics")
    assert local.status == 200
    text = await local.text()
    families = [f.name for f in text_string_to_metric_families(text)]
    assert len(families) == len(set(families)), "a metric family is emitted twice"
    for secret in (s["session_id"], cw["you"]["participant_id"], clw["you"]["participant_id"], "participant="):
        assert secret not in text
    proxied = await harness.client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status == 403


async def test_a_metrics_token_is_required_once_set(settings: Settings) -> None:
    app = create_app(replace(settings, metrics_token="operator-secret-1"))
    async with TestServer(app) as server, TestClient(server) as client:
        assert (await client.get("/metrics")).status == 403
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 403
        ok = await client.get("/metrics", headers={"Authorization": "Bearer operator-secret-1"})
        assert ok.status == 200 and "attune_sessions_active" in await ok.text()
