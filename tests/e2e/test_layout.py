"""The call's layout as people meet it on a laptop and a phone: own picture small, the client's chat out
of the way until wanted, video that keeps its size as captions arrive, captions off explained, the phone's
controls in one row with nothing cut short, and the consent choices equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .a11y import PHONE
from .conftest import BrowserFactory
from .flows import counselor_opens_room, device_check, start_session, two_party_call

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

INJECT_JS = """
(messages) => {
  for (const detail of messages) window.attuneDebug.app.signaling.dispatchEvent(new CustomEvent('message', { detail }));
}
"""


def final(i: int, pid: str = "p-test01", name: str = "Sam") -> dict[str, Any]:
    return {"type": "caption", "participant_id": pid, "name": name, "utterance_id": 100 + i, "kind": "final",
            "text": f"This is caption line number {i}, long enough to be a real sentence.", "stable": "",
            "start_s": 2.0 * i, "end_s": 2.0 * i + 1.5}


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not on screen"
    return dict(found)


def cut_short(page: Page, selector: str) -> list[str]:
    """Texts of visible elements whose text does not fit (ellipsis or clipped)."""
    return list(page.evaluate(
        "(sel) => [...document.querySelectorAll(sel)].filter((n) => n.getClientRects().length"
        " && n.scrollWidth > n.clientWidth + 1).map((n) => n.textContent)", selector))


def test_laptop_call_layout_for_the_client(open_browser: BrowserFactory, screenshot_dir: Path) -> None:
    call = two_party_call(open_browser)
    client = call.client

    # Own picture: a small inset, the counselor large.
    grid = box(client, "#video-grid")
    own = box(client, "#video-grid .tile.local")
    other = box(client, f'#video-grid .tile[data-participant="{call.counselor_id}"]')
    assert own["width"] < 0.25 * grid["width"], (own, grid)
    assert other["width"] * other["height"] > 6 * own["width"] * own["height"], (own, other)
    expect(client.locator("#video-grid .tile.local .tile-name")).to_have_text("You")

    # No empty chat panel taking a quarter of the screen: closed until the client opens it.
    expect(client.locator("#side-panel")).to_be_hidden()
    assert grid["width"] > 0.85 * 1280
    call.counselor.get_by_role("tab", name="Chat").click()
    call.counselor.get_by_label("Message to everyone").fill("Take your time.")
    call.counselor.get_by_label("Message to everyone").press("Enter")
    chat_button = client.get_by_role("button", name="Chat")
    expect(chat_button.locator("#chat-control-badge")).to_have_text("1")
    expect(client.locator("#toast")).to_contain_text("New chat message from Dr. Rivera")
    chat_button.click()
    expect(client.locator("#side-panel")).to_be_visible()
    expect(client.locator("#chat-list")).to_contain_text("Take your time.")
    expect(client.get_by_label("Message to everyone")).to_be_focused()
    expect(client.locator("#chat-control-badge")).to_be_hidden()
    client.get_by_role("button", name="Close chat").click()
    expect(client.locator("#side-panel")).to_be_hidden()

    # The video keeps its size while captions fill in.
    before = box(client, "#video-grid")["height"]
    client.evaluate(INJECT_JS, [final(i) for i in range(12)])
    # What this test injected, whatever else arrives: the real captions of the client's fake microphone
    # come under the client's own id, in turns of their own (which may split p-test01's turn in two).
    injected = client.locator('#captions-log .caption-turn[data-participant="p-test01"]')
    expect(injected.locator(".caption-final")).to_have_count(12)
    expect(injected.first).to_contain_text("Sam: This is caption line number 0,")
    expect(injected.last).to_contain_text("This is caption line number 11, long enough to be a real sentence.")
    after = box(client, "#video-grid")["height"]
    assert abs(after - before) <= 1, f"the video changed height from {before} to {after} as captions arrived"
    client.screenshot(path=screenshot_dir / "layout-client-laptop-captions.png")

    # Captions hidden: the button says what it does, and the area says why it is empty.
    toggle = client.locator("#captions-toggle")
    expect(toggle).to_have_text("Hide captions")
    expect(toggle).to_have_accessible_description("Only on your screen: others keep their captions.")
    toggle.click()
    expect(toggle).to_have_text("Show captions")
    expect(client.locator("#captions-empty")).to_be_visible()
    expect(client.locator("#captions-empty")).to_contain_text("Captions are hidden on your screen")
    assert abs(box(client, "#video-grid")["height"] - before) <= 1
    toggle.click()
    expect(client.locator("#captions-empty")).to_be_hidden()

    # The re-consent dialog keeps the consent text's paragraphs.
    client.get_by_role("button", name="Stop captions and cues").click()
    client.get_by_role("dialog").get_by_role("button", name="Stop captions and cues").click()
    client.get_by_role("button", name="Turn on captions and cues").click()
    message = client.locator("#confirm-message")
    expect(message).to_be_visible()
    assert client.evaluate("() => window.attuneDebug.app.consentText.text").count("\n") >= 1
    assert message.evaluate("n => getComputedStyle(n).whiteSpace") == "pre-line"
    assert message.evaluate("n => n.innerText").count("\n") >= 1
    client.screenshot(path=screenshot_dir / "layout-reconsent-dialog.png")
    client.get_by_role("dialog").get_by_role("button", name="I agree").click()

    # On a phone: one row of controls, no name cut short.
    client.set_viewport_size(PHONE)
    client.wait_for_timeout(300)
    buttons = [b.bounding_box() for b in client.locator(".controls .control").all() if b.is_visible()]
    assert len(buttons) >= 5
    tops = {round(b["y"]) for b in buttons if b}
    assert max(tops) - min(tops) <= 2, f"the controls take more than one row: {buttons}"
    assert box(client, ".controls")["height"] <= 80
    assert client.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert not cut_short(client, ".tile-name"), cut_short(client, ".tile-name")
    assert not cut_short(client, ".control .label-short")
    client.screenshot(path=screenshot_dir / "layout-client-phone.png")
    # The controls keep their full names for screen readers.
    expect(client.get_by_role("button", name="Stop captions and cues")).to_be_visible()
    expect(client.get_by_role("button", name="Stop camera")).to_be_visible()

    call.counselor.set_viewport_size(PHONE)
    call.counselor.wait_for_timeout(300)
    tops = {round(b.bounding_box()["y"]) for b in call.counselor.locator(".controls .control").all()  # type: ignore[index]
            if b.is_visible()}
    assert max(tops) - min(tops) <= 2
    assert not cut_short(call.counselor, ".tile-name")
    expect(call.counselor.get_by_role("button", name="End session for everyone")).to_be_visible()
    call.counselor.screenshot(path=screenshot_dir / "layout-counselor-phone.png")


def test_consent_choices_are_equal(open_browser: BrowserFactory) -> None:
    counselor = open_browser("counselor")
    client = open_browser("client")
    links = start_session(counselor)
    counselor_opens_room(counselor, links, "Dr. Rivera")
    client.goto(links.invite_url)

    device_check(client, "Sam")
    agree = client.get_by_role("button", name="I agree")
    decline = client.get_by_role("button", name="Join without captions and cues")
    expect(agree).to_be_visible()
    a, d = agree.bounding_box(), decline.bounding_box()
    assert a and d and abs(a["width"] - d["width"]) <= 2 and abs(a["height"] - d["height"]) <= 2
    background = decline.evaluate("n => getComputedStyle(n).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), background

