"""A counselor and a client meet in real browsers: waiting room, media both ways, the analysis uplink,
chat, consent withdrawal, reload, decline and the error page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import BrowserFactory, ServerHandle
from .flows import (
    admit,
    client_joins,
    counselor_opens_room,
    participant_id,
    peer_stats,
    start_session,
    two_party_call,
    uplink_counters,
    wait_for,
    wait_media_flowing,
    ws_seen,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_admission_media_uplink_chat_and_consent_withdrawal(
    open_browser: BrowserFactory, attune_server: ServerHandle, screenshot_dir: Path
) -> None:
    counselor = open_browser("counselor")
    client = open_browser("client")

    links = start_session(counselor, screenshot_dir)
    counselor_opens_room(counselor, links, "Dr. Rivera", shot=screenshot_dir / "03-device-check.png")

    client_joins(client, links, "Sam", consent_shot=screenshot_dir / "04-consent.png")
    expect(client.get_by_role("heading", name="Waiting for your counselor to let you in")).to_be_visible()
    client.screenshot(path=screenshot_dir / "05-waiting-room.png")

    # The counselor sees Sam waiting (private channel) and lets them in.
    expect(counselor.locator("#waiting-list")).to_contain_text("Sam")
    admit(counselor, "Sam")
    expect(client.locator("#screen-call")).to_be_visible()
    expect(counselor.locator("#waiting-empty")).to_be_visible()

    # Each side decodes the other's video and receives audio.
    sam_id = participant_id(client)
    rivera_id = participant_id(counselor)
    counselor_view = wait_media_flowing(counselor, 1)
    client_view = wait_media_flowing(client, 1)
    assert list(counselor_view) == [sam_id]
    assert list(client_view) == [rivera_id]
    expect(counselor.locator(f'.tile[data-participant="{sam_id}"] .tile-name')).to_have_text("Sam")

    # Sam agreed: the server receives Sam's microphone and small camera, and keeps receiving them.
    def uplink_started() -> tuple[float, float] | None:
        counters = uplink_counters(attune_server.url)
        return counters if counters[0] > 1 and counters[1] > 2 else None

    first = wait_for(uplink_started, timeout=30, what="uplink audio and video in /metrics")
    time.sleep(3)
    second = uplink_counters(attune_server.url)
    assert second[0] > first[0] + 1.5, (first, second)
    assert second[1] > first[1] + 3, (first, second)
    # The uplink video is capped at 5 fps (plus a little slack for timing).
    assert (second[1] - first[1]) / 3 < 8
    expect(counselor.locator(f'#people-list [data-participant="{sam_id}"]')).to_contain_text("agreed")

    # Sam mutes: the counselor's tile for Sam says so; unmuting clears it.
    client.get_by_role("button", name="Mute").click()
    expect(client.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    expect(counselor.locator(f'.tile[data-participant="{sam_id}"] .tile-muted')).to_be_visible()
    assert client.evaluate("() => window.attuneDebug.app.stream.getAudioTracks()[0].enabled") is False
    client.get_by_role("button", name="Unmute").click()
    expect(counselor.locator(f'.tile[data-participant="{sam_id}"] .tile-muted')).to_be_hidden()

    # Chat crosses both ways, with the sender's name; an unread badge waits on the closed Chat tab.
    # (A client's chat is closed until they open it, so the call has the room.)
    client.get_by_role("button", name="Chat").click()
    client.get_by_label("Message to everyone").fill("Hello, can you hear me?")
    client.keyboard.press("Enter")
    expect(counselor.locator("#chat-badge")).to_have_text("1")
    counselor.get_by_role("tab", name="Chat").click()
    expect(counselor.locator("#chat-badge")).to_be_hidden()
    expect(counselor.locator("#chat-list")).to_contain_text("Hello, can you hear me?")
    expect(counselor.locator("#chat-list .chat-name").last).to_have_text("Sam")
    counselor.get_by_label("Message to everyone").fill("Yes, clearly. Welcome, Sam.")
    counselor.get_by_role("button", name="Send").click()
    expect(client.locator("#chat-list")).to_contain_text("Yes, clearly. Welcome, Sam.")
    counselor.get_by_role("tab", name="People").click()
    counselor.screenshot(path=screenshot_dir / "06-counselor-room.png")
    client.screenshot(path=screenshot_dir / "07-client-call.png")
    counselor.set_viewport_size({"width": 820, "height": 1180})  # a tablet, upright
    counselor.screenshot(path=screenshot_dir / "13-counselor-tablet.png")
    counselor.set_viewport_size({"width": 1280, "height": 800})

    # Sam withdraws consent: the uplink stops at once and the counselor sees it.
    client.get_by_role("button", name="Stop captions and cues").click()
    client.get_by_role("dialog").get_by_role("button", name="Stop captions and cues").click()
    expect(counselor.locator(f'#people-list [data-participant="{sam_id}"]')).to_contain_text("stopped")
    # The counselor is told at once, calmly (a status notice, not an alert), and the transcript says why
    # Sam's lines stop.
    expect(counselor.locator("#toast")).to_contain_text("Sam stopped captions and cues")
    assert counselor.locator("#toast").get_attribute("role") == "status"
    expect(counselor.locator('#transcript-list .transcript-consent[data-consent="withdrawn"]')).to_contain_text(
        "nothing Sam says is transcribed")
    assert client.evaluate("() => window.attuneDebug.uplink.active") is False
    time.sleep(1.5)
    after_withdrawal = uplink_counters(attune_server.url)
    time.sleep(3)
    assert uplink_counters(attune_server.url) == after_withdrawal
    # The call itself goes on.
    assert all(r["state"] == "connected" for r in peer_stats(client).values())

    # And Sam can agree again later.
    client.get_by_role("button", name="Turn on captions and cues").click()
    client.get_by_role("dialog").get_by_role("button", name="I agree").click()
    expect(counselor.locator(f'#people-list [data-participant="{sam_id}"]')).to_contain_text("agreed")
    expect(counselor.locator("#toast")).to_contain_text("Sam turned captions and cues back on")
    wait_for(lambda: uplink_counters(attune_server.url)[0] > after_withdrawal[0] + 1,
             timeout=30, what="uplink audio again after consent")


def test_declined_client_gets_a_kind_message(open_browser: BrowserFactory) -> None:
    counselor = open_browser("counselor")
    client = open_browser("client")
    links = start_session(counselor)
    counselor_opens_room(counselor, links, "Dr. Rivera")
    client_joins(client, links, "Alex", agree=False)
    expect(client.get_by_role("heading", name="Waiting for your counselor to let you in")).to_be_visible()
    counselor.get_by_role("tab", name="People").click()
    counselor.locator("#waiting-list").get_by_role("button", name="Decline").click()
    counselor.get_by_role("dialog").get_by_role("button", name="Decline").click()
    expect(client.get_by_role("heading", name="Your counselor could not let you in")).to_be_visible()
    expect(counselor.locator("#waiting-empty")).to_be_visible()
    # The page does not try to reconnect to a session that said no.
    seen_before = len(ws_seen(client))
    time.sleep(3)
    assert len(ws_seen(client)) == seen_before


def test_reload_rejoins_the_same_session_as_the_same_participant(
    open_browser: BrowserFactory, attune_server: ServerHandle
) -> None:
    call = two_party_call(open_browser)
    before = uplink_counters(attune_server.url)

    call.client.reload()
    expect(call.client.locator("#screen-call")).to_be_visible()
    # No device check the second time, and the same participant as before.
    expect(call.client.locator("#screen-setup")).to_be_hidden()
    assert call.client.evaluate("() => document.querySelector('#preview-video').srcObject") is None
    assert participant_id(call.client) == call.client_id
    # Both sides rebuilt their connection (new epoch) and media flows again.
    wait_media_flowing(call.client, 1)
    wait_media_flowing(call.counselor, 1)
    assert list(peer_stats(call.counselor)) == [call.client_id]
    # Consent survived the reload on the server: the analysis uplink comes back by itself.
    wait_for(lambda: uplink_counters(attune_server.url)[0] > before[0] + 2,
             timeout=30, what="uplink audio after reload")
    expect(call.counselor.locator(f'#people-list [data-participant="{call.client_id}"]')).to_contain_text("agreed")


HOSTILE_JS = """
async ({ inviteToken }) => {
  const got = [];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const open = () => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.addEventListener('message', (e) => got.push(JSON.parse(e.data)));
    ws.addEventListener('open', () => resolve(ws));
  });
  // On the page's own admitted client socket.
  const own = window.attuneDebug.app.signaling.ws;
  own.send(JSON.stringify({ type: 'subscribe', channel: 'counselor' }));
  own.send(JSON.stringify({ type: 'admit', participant_id: 'p-000000' }));
  own.send(JSON.stringify({ type: 'end_session' }));
  // A join that claims the counselor role.
  const forged = await open();
  forged.send(JSON.stringify({ type: 'join', token: inviteToken, name: 'Mallory', role: 'counselor' }));
  // A second, honest join (into the waiting room), then asking for the private channel.
  const second = await open();
  second.send(JSON.stringify({ type: 'join', token: inviteToken, name: 'Mallory' }));
  await sleep(500);
  second.send(JSON.stringify({ type: 'subscribe', channel: 'counselor' }));
  // A guessed counselor token.
  const guess = await open();
  guess.send(JSON.stringify({ type: 'join', token: 'A'.repeat(43), name: 'Mallory' }));
  await sleep(3000);
  return got.map((m) => ({ type: m.type, code: m.code, kind: m.event ? m.event.kind : undefined }));
}
"""


def test_hostile_page_script_never_gets_counselor_events(open_browser: BrowserFactory) -> None:
    call = two_party_call(open_browser)
    counselor_seen_before = len(ws_seen(call.counselor))
    invite_token = call.links.invite_url.rstrip("/").rsplit("/", 1)[1]

    replies = call.client.evaluate(HOSTILE_JS, {"inviteToken": invite_token})

    # The counselor's channel was busy meanwhile (Mallory in the waiting room) ...
    expect(call.counselor.locator("#waiting-list")).to_contain_text("Mallory")
    counselor_events = [m for m in ws_seen(call.counselor)[counselor_seen_before:] if m["type"] == "counselor"]
    assert any(m["kind"] == "lobby" for m in counselor_events)
    # ... yet nothing of it reached any socket of the client's page, and every attempt was refused.
    assert not [m for m in replies if m["type"] == "counselor"], replies
    assert not [m for m in ws_seen(call.client) if m["type"] == "counselor"]
    codes = [m["code"] for m in replies if m["type"] == "error"]
    assert "bad_message" in codes and "forbidden" in codes and "bad_token" in codes, replies
    own_codes = [m["code"] for m in ws_seen(call.client) if m["type"] == "error"]
    assert own_codes.count("forbidden") >= 3, own_codes
    # The session is still on.
    expect(call.client.locator("#screen-call")).to_be_visible()
    assert all(r["state"] == "connected" for r in peer_stats(call.client).values())


def test_error_page_for_a_bad_link(open_browser: BrowserFactory, screenshot_dir: Path) -> None:
    page = open_browser("client")
    response = page.goto("/join/this-link-does-not-exist")
    assert response is not None and 400 <= response.status < 500
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    text = page.locator("main").inner_text()
    assert "bad_token" not in text and "__TITLE__" not in text and "__MESSAGE__" not in text
    assert "counselor" in text.lower()
    page.screenshot(path=screenshot_dir / "08-error-page.png")


def test_dropped_connection_reconnects_by_itself(open_browser: BrowserFactory) -> None:
    call = two_party_call(open_browser)
    sam_tile_overlay = call.counselor.locator(f'.tile[data-participant="{call.client_id}"] .tile-overlay')

    # Sam's network goes away: the socket drops and cannot come back yet.
    call.client.context.set_offline(True)
    call.client.evaluate("() => window.attuneDebug.app.signaling.ws.close()")
    expect(call.client.get_by_text("Your connection dropped. Reconnecting…")).to_be_visible()
    # The counselor sees Sam as reconnecting (roster), not as gone.
    expect(sam_tile_overlay).to_be_visible()
    expect(sam_tile_overlay).to_contain_text("Reconnecting")

    call.client.context.set_offline(False)
    expect(call.client.get_by_text("Your connection dropped. Reconnecting…")).to_be_hidden(timeout=30_000)
    expect(sam_tile_overlay).to_be_hidden(timeout=30_000)
    assert participant_id(call.client) == call.client_id
    wait_media_flowing(call.counselor, 1)
    wait_media_flowing(call.client, 1)
