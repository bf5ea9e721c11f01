"""Live captions through the real path: the client's fake microphone plays a real recording (JFK, 11 s,
looping), the server transcribes it with the bundled Whisper model, and both pages show the words,
labelled with the client's name."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import DATA, BrowserFactory, ServerHandle
from .flows import two_party_call, uplink_counters, wait_for, ws_seen

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# From the first uplink audio: one pass of the 11 s recording, plus model and network latency, plus a
# second pass in case the first words were cut while the uplink started.
CAPTION_BOUND_S = 45.0
MIN_WORD_RECALL = 0.7

WATCH_PARTIALS_JS = """
() => {
  window.__partials = [];
  const live = document.querySelector('#captions-live');
  new MutationObserver(() => {
    for (const line of live.querySelectorAll('.caption-line.partial')) {
      const rest = line.querySelector('.caption-provisional');
      window.__partials.push({
        name: line.querySelector('.caption-name').textContent,
        text: line.textContent,
        style: getComputedStyle(line.querySelector('.caption-stable')).fontStyle,
      });
    }
  }).observe(live, { childList: true, subtree: true, characterData: true });
}
"""
FINALS_JS = """
() => [...document.querySelectorAll('#captions-log .caption-line.final')].map((n) => ({
  name: n.querySelector('.caption-name').textContent, text: n.querySelector('.caption-text').textContent }))
"""


def words(text: str) -> set[str]:
    return set(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


REFERENCE = words((DATA / "jfk" / "jfk.txt").read_text())


def finals(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(FINALS_JS))


def recall(page: Page, speaker: str) -> float:
    heard: set[str] = set()
    for line in finals(page):
        if line["name"] == f"{speaker}:":
            heard |= words(line["text"])
    return len(heard & REFERENCE) / len(REFERENCE)


def test_live_captions_show_the_clients_words_on_both_pages(
    open_browser: BrowserFactory, attune_server: ServerHandle, screenshot_dir: Path
) -> None:
    call = two_party_call(open_browser)  # the counselor's own speech is not captioned here
    for page in (call.counselor, call.client):
        page.evaluate(WATCH_PARTIALS_JS)
    wait_for(lambda: uplink_counters(attune_server.url)[0] > 0, timeout=30, what="uplink audio")
    uplink_started = time.monotonic()

    wait_for(lambda: recall(call.client, "Sam") >= MIN_WORD_RECALL and recall(call.counselor, "Sam") >= MIN_WORD_RECALL,
             timeout=CAPTION_BOUND_S, interval=0.5, what="JFK's words in the captions of both pages")
    print(f"captions reached {MIN_WORD_RECALL:.0%} word recall {time.monotonic() - uplink_started:.1f} s after"
          " the uplink started")
    call.client.screenshot(path=screenshot_dir / "09-client-captions.png")

    # Every line is credited to Sam; the counselor did not turn on captions for their own speech.
    assert {line["name"] for line in finals(call.counselor)} == {"Sam:"}
    # Lines in progress, if the server had time to send any under this load, were shown as provisional.
    partials = call.counselor.evaluate("() => window.__partials")
    print(f"partial caption renderings seen on the counselor's page: {len(partials)}")
    assert all(p["style"] == "italic" for p in partials)
    # The counselor's transcript has the settled lines.
    call.counselor.get_by_role("tab", name="Transcript").click()
    expect(call.counselor.locator("#transcript-list li").first).to_contain_text("Sam")

    # Bigger caption text, remembered for next time.
    font_size = "() => parseFloat(getComputedStyle(document.querySelector('#captions-log')).fontSize)"
    before = call.client.evaluate(font_size)
    call.client.get_by_role("button", name="Larger caption text").click()
    after = call.client.evaluate(font_size)
    assert after > before
    assert call.client.evaluate("() => localStorage.getItem('attune.captionSize')") is not None

    # Captions off: this page stops receiving them (the counselor's keeps going).
    call.client.get_by_role("button", name="Hide captions").click()
    expect(call.client.get_by_role("button", name="Show captions")).to_be_visible()
    expect(call.client.locator("#captions-empty")).to_contain_text("Captions are hidden on your screen")
    time.sleep(1.5)  # anything already on its way
    client_count = sum(1 for m in ws_seen(call.client) if m["type"] == "caption")
    counselor_count = sum(1 for m in ws_seen(call.counselor) if m["type"] == "caption")
    time.sleep(8)
    assert sum(1 for m in ws_seen(call.client) if m["type"] == "caption") == client_count
    assert sum(1 for m in ws_seen(call.counselor) if m["type"] == "caption") > counselor_count


INJECT_JS = """
(messages) => {
  for (const detail of messages) window.attuneDebug.app.signaling.dispatchEvent(new CustomEvent('message', { detail }));
}
"""


def caption(kind: str, text: str, stable: str, utterance: int, start: float, name: str = "Sam",
            pid: str = "p-test01") -> dict[str, Any]:
    return {"type": "caption", "participant_id": pid, "name": name, "utterance_id": utterance, "kind": kind,
            "text": text, "stable": stable, "start_s": start, "end_s": start + 2}


def test_caption_area_rendering_partials_finals_and_scroll_back(open_browser: BrowserFactory) -> None:
    """How the caption area treats the protocol's partial/final sequence (messages handed to the page's
    own message handler, so the timing is exact)."""
    call = two_party_call(open_browser)
    page = call.client
    page.evaluate(INJECT_JS, [caption("partial", "I have been feeling", "I have", 1, 1.0)])
    line = page.locator('#captions-live .caption-line.partial[data-participant="p-test01"]')
    expect(line).to_have_text("Sam: I have been feeling")
    expect(line.locator(".caption-stable")).to_have_text(" I have")
    expect(line.locator(".caption-provisional")).to_have_text(" been feeling")
    assert line.locator(".caption-provisional").evaluate("n => getComputedStyle(n).fontStyle") == "italic"
    # A newer partial rewrites the provisional part in place; there is still one line per speaker.
    page.evaluate(INJECT_JS, [caption("partial", "I have been feeling tired", "I have been", 1, 1.0),
                              caption("partial", "Thank", "", 7, 1.5, name="Jo", pid="p-test02")])
    expect(line).to_have_text("Sam: I have been feeling tired")
    expect(page.locator("#captions-live .caption-line")).to_have_count(2)
    # The final settles the line into the log (announced politely) and removes Sam's partial.
    page.evaluate(INJECT_JS, [caption("final", "I have been feeling tired lately.", "", 1, 1.0)])
    expect(line).to_have_count(0)
    log = page.locator("#captions-log")
    assert log.get_attribute("aria-live") == "polite"
    expect(log.locator(".caption-line.final").last).to_have_text("Sam: I have been feeling tired lately.")
    assert log.locator(".caption-line.final").last.evaluate("n => getComputedStyle(n).fontStyle") == "normal"

    # Scroll-back: a reader who scrolled up is not pulled down by new lines.
    page.evaluate(INJECT_JS, [caption("final", f"Line number {i}.", "", 100 + i, 10.0 + i) for i in range(30)])
    page.evaluate("() => { document.querySelector('#captions-log').scrollTop = 0; }")
    page.evaluate(INJECT_JS, [caption("final", "One more line.", "", 200, 50.0)])
    assert page.evaluate("() => document.querySelector('#captions-log').scrollTop") == 0
    # At the bottom, the log follows new lines.
    page.evaluate("() => { const l = document.querySelector('#captions-log'); l.scrollTop = l.scrollHeight; }")
    page.evaluate(INJECT_JS, [caption("final", "And the last one.", "", 201, 51.0)])
    assert page.evaluate("() => { const l = document.querySelector('#captions-log');"
                         " return l.scrollHeight - l.scrollTop - l.clientHeight; }") < 5
