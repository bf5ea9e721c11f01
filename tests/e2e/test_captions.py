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
  const log = document.querySelector('#captions-log');
  new MutationObserver(() => {
    for (const tail of log.querySelectorAll('.caption-partial')) {
      window.__partials.push({
        name: tail.closest('.caption-turn').querySelector('.caption-name').textContent,
        text: tail.textContent,
        style: getComputedStyle(tail).fontStyle,
        hidden: tail.getAttribute('aria-hidden'),
      });
    }
  }).observe(log, { childList: true, subtree: true, characterData: true });
}
"""
# One row per speaker turn: the name once, then the settled words of all its finals.
FINALS_JS = """
() => [...document.querySelectorAll('#captions-log .caption-turn')].map((n) => ({
  name: n.querySelector('.caption-name').textContent,
  text: [...n.querySelectorAll('.caption-final')].map((s) => s.textContent).join('') }))
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
    # Lines in progress, if the server had time to send any under this load, were shown as provisional
    # (and kept from screen readers, which hear the settled words only).
    partials = call.counselor.evaluate("() => window.__partials")
    print(f"partial caption renderings seen on the counselor's page: {len(partials)}")
    assert all(p["style"] == "italic" and p["hidden"] == "true" for p in partials)
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


