"""The session protocol through a real app on a real socket: admission, chat, roles, bad input."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from server.records.context import RECORDS
from server.session.registry import SESSIONS
from tests.conftest import AppHarness


async def test_admission_flow_and_roster(harness: AppHarness) -> None:
    s = await harness.new_session()
    counselor, cw = await harness.join(s["counselor_token"], "Dr. Rivera")
    assert cw["you"]["role"] == "counselor" and cw["state"] == "admitted"
    client, clw = await harness.join(s["invite_token"], "Sam")
    assert clw["you"]["role"] == "client" and clw["state"] == "waiting"
    assert "outside service" in clw["consent"]["text"]
    await client.expect("waiting")
    lobby = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "lobby" and m["event"]["waiting"])
    assert [w["name"] for w in lobby["event"]["waiting"]] == ["Sam"]

    # Not yet admitted: no signaling, no chat.
    await client.send(type="chat", text="hello?")
    err = await client.expect("error")
    assert err["code"] == "not_admitted"

    await counselor.send(type="admit", participant_id=clw["you"]["participant_id"])
    await client.expect("admitted")
    roster = await client.expect("roster", lambda m: len(m["participants"]) == 2)
    assert {p["name"] for p in roster["participants"]} == {"Dr. Rivera", "Sam"}
    await counselor.expect("roster", lambda m: len(m["participants"]) == 2)


async def test_decline_closes_the_waiting_client(harness: AppHarness) -> None:
    s = await harness.new_session()
    counselor, _ = await harness.join(s["counselor_token"], "Dr. Rivera")
    client, clw = await harness.join(s["invite_token"], "Stranger")
    await counselor.send(type="decline", participant_id=clw["you"]["participant_id"])
    await client.expect("declined")
    msg = await client.ws.receive(timeout=3)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_chat_crosses_and_signal_is_relayed(harness: AppHarness) -> None:
    _, counselor, cw, client, clw = await harness.admitted_pair()
    await client.send(type="chat", text="Hi, can you hear me?")
    got = await counselor.expect("chat")
    assert got["text"] == "Hi, can you hear me?" and got["name"] == "Sam"
    await counselor.send(type="chat", text="Yes, clearly.")
    assert (await client.expect("chat", lambda m: m["name"] == "Dr. Rivera"))["text"] == "Yes, clearly."

    await client.send(
        type="signal", to=cw["you"]["participant_id"], description={"type": "offer", "sdp": "v=0\r\n"}
    )
    relayed = await counselor.expect("signal")
    assert relayed["from"] == clw["you"]["participant_id"] and relayed["description"]["type"] == "offer"
    await counselor.send(
        type="signal",
        to=clw["you"]["participant_id"],
        candidate={"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0},
    )
    assert (await client.expect("signal"))["candidate"]["sdpMid"] == "0"

    await client.send(type="signal", to="p-nobody", description={"type": "offer", "sdp": "v=0"})
    assert (await client.expect("error"))["code"] == "unknown_peer"


async def test_family_session_three_people_see_each_other(harness: AppHarness) -> None:
    s = await harness.new_session()
    counselor, _ = await harness.join(s["counselor_token"], "Dr. Rivera")
    clients = []
    for name in ("Alex", "Jordan"):
        peer, w = await harness.join(s["invite_token"], name)
        await counselor.send(type="admit", participant_id=w["you"]["participant_id"])
        await peer.expect("admitted")
        clients.append(peer)
    for peer in (counselor, *clients):
        roster = await peer.expect("roster", lambda m: len(m["participants"]) == 3)
        assert {p["name"] for p in roster["participants"]} == {"Dr. Rivera", "Alex", "Jordan"}


async def test_session_full_after_five_clients(harness: AppHarness) -> None:
    s = await harness.new_session()
    await harness.join(s["counselor_token"], "Dr. Rivera")
    for i in range(5):
        await harness.join(s["invite_token"], f"Client {i}")
    late = await harness.connect()
    await late.send(type="join", token=s["invite_token"], name="Sixth")
    assert (await late.expect("error"))["code"] == "full"
    page = await harness.client.get(f"/join/{s['invite_token']}")
    assert page.status == 409 and "full" in (await page.text()).lower()


async def test_malformed_messages_get_errors_and_the_session_carries_on(harness: AppHarness) -> None:
    _, counselor, _, client, _ = await harness.admitted_pair()
    _other, other_counselor, *_ = await harness.admitted_pair()

    for raw, code in [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"no": "type"}', "bad_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "chat", "text": ""}', "bad_message"),
        ('{"type": "chat", "text": "' + "x" * 2001 + '"}', "bad_message"),
        ('{"type": "media_state", "audio": "loud", "video": true}', "bad_message"),
        ('{"type": "join", "token": "abcdefgh", "name": "Sam"}', "already_joined"),
        ('{"type": "admit", "participant_id": "p-x"}', "forbidden"),
        ('{"type": "end_session"}', "forbidden"),
        ('{"type": "uplink_offer", "sdp": "v=0 definitely not sdp"}', "no_consent"),
    ]:
        await client.ws.send_str(raw)
        err = await client.expect("error")
        assert err["code"] == code, (raw[:40], err)
        assert "Traceback" not in err["message"]
    await client.ws.send_bytes(b"\x00\x01")
    assert (await client.expect("error"))["code"] == "bad_message"

    # The session still works, and so does the other one.
    await client.send(type="chat", text="still here")
    assert (await counselor.expect("chat"))["text"] == "still here"
    await other_counselor.send(type="chat", text="unaffected")
    assert (await other_counselor.expect("chat"))["text"] == "unaffected"


async def test_oversized_message_is_refused_without_touching_others(harness: AppHarness) -> None:
    _, counselor, _, client, _ = await harness.admitted_pair()
    await client.ws.send_str(json.dumps({"type": "chat", "text": "x" * 70_000}))
    msg = await client.ws.receive(timeout=3)
    while msg.type is aiohttp.WSMsgType.TEXT:
        msg = await client.ws.receive(timeout=3)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert client.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await counselor.send(type="ping")
    await counselor.expect("pong")


async def test_unjoined_socket_can_do_nothing(harness: AppHarness) -> None:
    peer = await harness.connect()
    await peer.send(type="chat", text="hello")
    assert (await peer.expect("error"))["code"] == "not_joined"
    await peer.send(type="join", token="not-a-real-token-at-all", name="Eve")
    assert (await peer.expect("error"))["code"] == "bad_token"


async def test_counselor_ends_the_session_for_everyone(harness: AppHarness) -> None:
    s, counselor, _, client, _ = await harness.admitted_pair()
    await counselor.send(type="end_session")
    assert (await client.expect("session_ended"))["reason"] == "ended_by_counselor"
    await counselor.expect("session_ended")
    page = await harness.client.get(f"/join/{s['invite_token']}")
    assert page.status == 410
    assert "ended" in (await page.text()).lower()
    again = await harness.connect()
    await again.send(type="join", token=s["invite_token"], name="Sam")
    assert (await again.expect("error"))["code"] == "ended"


async def test_dropped_socket_shows_reconnecting_and_resume_rejoins(harness: AppHarness) -> None:
    s, counselor, _, client, clw = await harness.admitted_pair()
    pid = clw["you"]["participant_id"]
    await client.ws.close()
    roster = await counselor.expect(
        "roster", lambda m: any(p["participant_id"] == pid and p["state"] == "reconnecting" for p in m["participants"])
    )
    assert roster
    _back, welcome = await harness.join(s["invite_token"], "Sam", resume_key=clw["resume_key"])
    assert welcome["you"]["participant_id"] == pid and welcome["state"] == "admitted"
    # The epoch moves on, so the others rebuild their peer connection to the rejoined browser.
    roster = await counselor.expect(
        "roster",
        lambda m: any(p["participant_id"] == pid and p["state"] == "admitted" and p["epoch"] == 2
                      for p in m["participants"]),
    )
    assert len(roster["participants"]) == 2


async def test_place_is_given_up_after_the_grace_period(harness: AppHarness) -> None:
    _, counselor, _, client, clw = await harness.admitted_pair()
    pid = clw["you"]["participant_id"]
    await client.ws.close()
    await counselor.expect("roster", lambda m: all(p["participant_id"] != pid for p in m["participants"]), timeout=5)


async def test_token_pages(harness: AppHarness, make_settings) -> None:  # type: ignore[no-untyped-def]
    s = await harness.new_session()
    ok = await harness.client.get(f"/join/{s['invite_token']}")
    assert ok.status == 200
    assert 'data-role="client"' in await ok.text()
    host = await harness.client.get(f"/host/{s['counselor_token']}")
    assert 'data-role="counselor"' in await host.text()
    assert host.headers["Referrer-Policy"] == "no-referrer"
    wrong = await harness.client.get("/join/this-is-not-a-token")
    assert wrong.status == 404
    text = await wrong.text()
    assert "Traceback" not in text and "link" in text.lower()
    swapped = await harness.client.get(f"/join/{s['counselor_token']}")
    assert swapped.status == 404

    # Expired invite: move the registry's clock past the expiry.
    registry = harness.app[SESSIONS]
    registry.wall_clock = lambda: s["expires_at"] + 1
    expired = await harness.client.get(f"/join/{s['invite_token']}")
    assert expired.status == 410 and "expired" in (await expired.text()).lower()
    # The counselor link does not expire with the invite.
    assert (await harness.client.get(f"/host/{s['counselor_token']}")).status == 200


async def test_consent_is_recorded_with_version_and_time(harness: AppHarness) -> None:
    s, counselor, _, client, clw = await harness.admitted_pair()
    version = clw["consent"]["version"]
    await client.send(type="consent", granted=True, version=version)
    assert (await client.expect("consent_recorded"))["state"] == "granted"
    state = await counselor.expect(
        "counselor",
        lambda m: m["event"]["kind"] == "consent_state"
        and any(p["consent"] == "granted" for p in m["event"]["participants"]),
    )
    row = next(p for p in state["event"]["participants"] if p["participant_id"] == clw["you"]["participant_id"])
    assert row["version"] == version and row["at"]
    await client.send(type="consent", granted=False, version=version)
    assert (await client.expect("consent_recorded"))["state"] == "withdrawn"
    await client.send(type="consent", granted=True, version="1999-01-01")
    assert (await client.expect("error"))["code"] == "bad_message"

    store = harness.app[RECORDS]
    events = await store.consent_events(s["session_id"])
    assert [(e.state, e.version) for e in events if e.participant_id == clw["you"]["participant_id"]] == [
        ("granted", version),
        ("withdrawn", version),
    ]
    assert all(e.at is not None for e in events)


async def test_server_shutdown_closes_sockets_going_away(settings) -> None:  # type: ignore[no-untyped-def]
    from aiohttp.test_utils import TestServer

    from server.app import create_app
    from tests.conftest import start_session_over

    server = TestServer(create_app(settings))
    await server.start_server()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = (await start_session_over(http, server))["counselor_url"].rsplit("/", 1)[1]
        ws = await http.ws_connect(server.make_url("/ws"))
        await ws.send_json({"type": "join", "token": token, "name": "Dr. Rivera"})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
        closing = asyncio.create_task(server.close())
        msg = await ws.receive(timeout=10)
        while msg.type is aiohttp.WSMsgType.TEXT:
            msg = await ws.receive(timeout=10)
        await closing
        assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY


async def test_only_the_counselor_is_told_the_invite_link(harness: AppHarness) -> None:
    s = await harness.new_session()
    _, cw = await harness.join(s["counselor_token"], "Dr. Rivera")
    assert cw["session"]["invite_url"] == s["invite_url"]
    _, clw = await harness.join(s["invite_token"], "Sam")
    assert "invite_url" not in clw["session"]
