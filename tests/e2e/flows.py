"""What a person does on the pages, step by step, and what the tests read back from them."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")

# The counselor account the e2e server is created with (clients never have accounts).
COUNSELOR_EMAIL = "rivera@example.org"
COUNSELOR_PASSWORD = "a calm and long test passphrase"


@dataclass(frozen=True, slots=True)
class Links:
    counselor_url: str
    invite_url: str


def wait_for(check: Callable[[], T], *, timeout: float = 20.0, interval: float = 0.5, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or check}: last={last!r}")
        time.sleep(interval)
        last = check()
    return last


def start_session(page: Page, shots: Path | None = None) -> Links:
    """The counselor logs in (the start page sends them to the login page first) and starts a session."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Counselor log in")).to_be_visible()
    page.get_by_label("E-mail address").fill(COUNSELOR_EMAIL)
    page.get_by_label("Password").fill(COUNSELOR_PASSWORD)
    # Both buttons ship disabled until their page script has loaded (a click before that would be lost).
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Start a session")).to_be_visible()
    if shots:
        page.screenshot(path=shots / "01-start-page.png")
    page.get_by_role("button", name="Start a session").click()
    expect(page.get_by_role("heading", name="Your session is ready")).to_be_visible()
    if shots:
        page.screenshot(path=shots / "02-start-page-ready.png")
    return Links(
        counselor_url=page.get_by_label("Your own link to the room").input_value(),
        invite_url=page.get_by_label("Invite link for your client").input_value(),
    )


def device_check(page: Page, name: str, *, caption_self: bool | None = None, shot: Path | None = None) -> None:
    """Fill in the device check (waiting for a live preview and a moving level meter) and submit."""
    expect(page.locator("#screen-setup")).to_be_visible()
    wait_for(lambda: page.evaluate("() => { const v = document.querySelector('#preview-video');"
                                   " return v.readyState >= 2 && v.videoWidth > 0; }"), what="camera preview")
    wait_for(lambda: int(page.get_by_role("meter").get_attribute("aria-valuenow") or 0) > 5,
             what="microphone level meter moving")
    page.get_by_label("Your name").fill(name)
    if caption_self is not None:
        page.get_by_role("switch", name="Caption my own speech").set_checked(caption_self)
    if shot:
        page.screenshot(path=shot)
    page.locator("#setup-submit").click()


def counselor_opens_room(page: Page, links: Links, name: str, *, caption_self: bool = False,
                         shot: Path | None = None) -> None:
    page.goto(links.counselor_url)
    device_check(page, name, caption_self=caption_self, shot=shot)
    expect(page.locator("#screen-call")).to_be_visible()


def client_joins(page: Page, links: Links, name: str, *, agree: bool = True,
                 consent_shot: Path | None = None) -> None:
    page.goto(links.invite_url)
    device_check(page, name)
    expect(page.locator("#screen-consent")).to_be_visible()
    expect(page.locator("#consent-text")).to_contain_text("captions")
    if consent_shot:
        page.screenshot(path=consent_shot)
    page.get_by_role("button", name="I agree" if agree else "Join without captions and cues").click()


def admit(counselor: Page, client_name: str) -> None:
    counselor.get_by_role("tab", name="People").click()
    counselor.get_by_role("button", name=f"Admit {client_name}").click()


def participant_id(page: Page) -> str:
    return str(page.evaluate("() => window.attuneDebug.app.me.participant_id"))


# getStats of every mesh peer connection: what arrived from each remote participant.
PEER_STATS_JS = """
async () => {
  const out = {};
  const mesh = window.attuneDebug.mesh;
  if (!mesh) return out;
  for (const [peerId, peer] of mesh.peers) {
    const row = { state: peer.pc.connectionState, framesDecoded: 0, audioSamples: 0, audioBytes: 0 };
    const report = await peer.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') row.framesDecoded += s.framesDecoded || 0;
      if (s.kind === 'audio') {
        row.audioSamples += s.totalSamplesReceived || 0;
        row.audioBytes += s.bytesReceived || 0;
      }
    });
    const video = document.querySelector(`.tile[data-participant="${peerId}"] video`);
    row.tilePlaying = Boolean(video && !video.paused && video.readyState >= 2 && video.videoWidth > 0);
    out[peerId] = row;
  }
  return out;
}
"""


def peer_stats(page: Page) -> dict[str, dict[str, Any]]:
    return dict(page.evaluate(PEER_STATS_JS))


def wait_media_flowing(page: Page, expected_peers: int, *, timeout: float = 45.0) -> dict[str, dict[str, Any]]:
    """Every remote tile plays, and its decoded video frames and received audio keep rising."""

    seen: list[dict[str, Any]] = []

    def all_flowing() -> dict[str, dict[str, Any]] | None:
        first = peer_stats(page)
        seen[:] = [first]
        if len(first) != expected_peers or not all(r["framesDecoded"] > 0 for r in first.values()):
            return None
        time.sleep(1.5)
        second = peer_stats(page)
        seen.append(second)
        for peer_id, row in second.items():
            before = first.get(peer_id)
            if before is None or not row["tilePlaying"]:
                return None
            if row["framesDecoded"] <= before["framesDecoded"] or row["audioSamples"] <= before["audioSamples"]:
                return None
        return second

    try:
        return wait_for(all_flowing, timeout=timeout, interval=0.5, what=f"media from {expected_peers} peers")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last getStats: {seen}") from None


def uplink_counters(server_url: str) -> tuple[float, float]:
    """(audio seconds, video frames) the server took from analysis uplinks so far. The metrics name no
    participant (clients know those ids), so a test reads the change while only its own uplink runs."""
    with urllib.request.urlopen(f"{server_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    audio = frames = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "attune_uplink_audio_seconds_total":
                audio = sample.value
            elif sample.name == "attune_uplink_video_frames_total":
                frames = sample.value
    return audio, frames


def uplinks_connected(server_url: str) -> float:
    """How many analysis uplinks the server has connected right now."""
    with urllib.request.urlopen(f"{server_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "attune_uplinks_connected":
                return sample.value
    return 0.0


def ws_seen(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.__wsSeen.slice()"))


@dataclass(frozen=True, slots=True)
class Call:
    counselor: Page
    client: Page
    links: Links
    counselor_id: str
    client_id: str


def two_party_call(open_browser: Callable[..., Page], *, client_agrees: bool = True,
                   counselor_captioned: bool = False, client_persona: str = "client") -> Call:
    """Dr. Rivera opens a room, Sam joins through the invite link and is admitted; media flows."""
    counselor = open_browser("counselor")
    client = open_browser(client_persona)
    links = start_session(counselor)
    counselor_opens_room(counselor, links, "Dr. Rivera", caption_self=counselor_captioned)
    client_joins(client, links, "Sam", agree=client_agrees)
    expect(counselor.locator("#waiting-list")).to_contain_text("Sam")
    admit(counselor, "Sam")
    expect(client.locator("#screen-call")).to_be_visible()
    wait_media_flowing(counselor, 1)
    wait_media_flowing(client, 1)
    return Call(counselor, client, links, participant_id(counselor), participant_id(client))


def rect(page: Page, selector: str) -> dict[str, float]:
    return dict(page.locator(selector).bounding_box() or {})


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


# --- the counselor's insight panel (web/static/panel.js) ---------------------------------------------

def open_insights(counselor: Page) -> None:
    counselor.get_by_role("tab", name="Insights").click()
    expect(counselor.locator("#panel-insights")).to_be_visible()


def insight_card(counselor: Page, participant: str) -> Any:
    """The Insights tab's section for one client: tone chart, voice and camera status."""
    return counselor.locator(f'.insight-person[data-participant="{participant}"]')


def tone_points(counselor: Page, participant: str) -> int:
    return int(counselor.locator(f'.tone-chart[data-participant="{participant}"] [data-point]').count())


# --- messages handed straight to a page's own message handler (exact timing, no speech needed) ---------

INJECT_JS = """
(messages) => {
  for (const detail of messages) window.attuneDebug.app.signaling.dispatchEvent(new CustomEvent('message', { detail }));
}
"""


def inject(page: Page, messages: list[dict[str, Any]]) -> None:
    page.evaluate(INJECT_JS, messages)


def caption_message(kind: str, text: str, *, utterance: int, start: float, end: float | None = None,
                    stable: str = "", name: str = "Sam", pid: str = "p-test01") -> dict[str, Any]:
    """A ``caption`` message as the server sends it (docs/protocol.md)."""
    return {"type": "caption", "participant_id": pid, "name": name, "utterance_id": utterance, "kind": kind,
            "text": text, "stable": stable, "start_s": start, "end_s": start + 2 if end is None else end}
