"""The device check and a slow or missing camera: someone who presses Continue while the camera is still
starting (for example while the browser's permission question is open) waits for it and is told so,
then joins with camera and microphone; someone with no devices joins with an honest camera-off tile
and can try their devices again without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import BrowserFactory
from .flows import admit, device_check, participant_id, peer_stats, start_session, wait_for, wait_media_flowing

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SLOW_CAMERA_S = 5

# getUserMedia answers only after a delay, as it does while a permission prompt waits for the person.
SLOW_GET_USER_MEDIA = """
(() => {
  const md = navigator.mediaDevices;
  const original = md.getUserMedia.bind(md);
  window.__gumCalls = 0;
  md.getUserMedia = async (constraints) => {
    window.__gumCalls += 1;
    await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
    return original(constraints);
  };
})();
""".replace("DELAY_MS", str(SLOW_CAMERA_S * 1000))

# No camera or microphone at all, until the test "plugs them in" (window.__devicesPlugged = true).
NO_DEVICES = """
(() => {
  const md = navigator.mediaDevices;
  const original = md.getUserMedia.bind(md);
  window.__devicesPlugged = false;
  md.getUserMedia = async (constraints) => {
    if (!window.__devicesPlugged) throw new DOMException('Requested device not found', 'NotFoundError');
    return original(constraints);
  };
})();
"""

LIVE_TRACKS_JS = """() => (window.attuneDebug.app.stream?.getTracks() ?? [])
  .filter((t) => t.readyState === 'live').map((t) => t.kind).sort()"""


def press_continue_at_once(page: Page, url: str, name: str) -> None:
    """Types the name and presses Continue right away, before the camera has started."""
    page.goto(url)
    expect(page.locator("#screen-setup")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    assert page.evaluate("() => document.querySelector('#preview-video').videoWidth") == 0, "camera already on"
    page.locator("#setup-submit").click()


def test_continue_before_the_camera_started_waits_for_it(open_browser: BrowserFactory, screenshot_dir: Path) -> None:
    counselor = open_browser("counselor")
    client = open_browser("client")
    links = start_session(counselor)
    for page in (counselor, client):
        page.context.add_init_script(SLOW_GET_USER_MEDIA)

    # The counselor hits the race too.
    press_continue_at_once(counselor, links.counselor_url, "Dr. Rivera")
    expect(counselor.locator("#setup-submit")).to_have_attribute("aria-busy", "true")
    expect(counselor.locator("#setup-submit")).to_have_text("Starting your camera and microphone…")
    expect(counselor.locator("#device-message")).to_contain_text("Waiting for your camera and microphone")
    counselor.screenshot(path=screenshot_dir / "device-check-waiting-for-camera.png")
    expect(counselor.locator("#screen-call")).to_be_visible(timeout=SLOW_CAMERA_S * 1000 + 15_000)

    press_continue_at_once(client, links.invite_url, "Sam")
    expect(client.locator("#device-message")).to_contain_text("Waiting for your camera and microphone")
    expect(client.locator("#screen-consent")).to_be_visible(timeout=SLOW_CAMERA_S * 1000 + 15_000)
    client.get_by_role("button", name="I agree").click()
    admit(counselor, "Sam")
    expect(client.locator("#screen-call")).to_be_visible()

    for page in (counselor, client):
        # Joined with both devices, controls usable, no warning, and the preview let go of the stream.
        assert page.evaluate(LIVE_TRACKS_JS) == ["audio", "video"]
        expect(page.locator("#mic-toggle")).to_be_enabled()
        expect(page.locator("#camera-toggle")).to_be_enabled()
        expect(page.locator("#media-banner")).to_be_hidden()
        assert page.evaluate("() => document.querySelector('#preview-video').srcObject") is None
        assert page.evaluate("() => window.__gumCalls") == 1, "the camera was opened twice"
    # Each sees and hears the other.
    wait_media_flowing(counselor, 1)
    wait_media_flowing(client, 1)
    expect(counselor.locator(f'.tile[data-participant="{participant_id(client)}"] .tile-camera-off')).to_be_hidden()


def test_no_devices_shows_camera_off_and_trying_again_brings_them(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    counselor = open_browser("counselor")
    client = open_browser("client")
    client.context.add_init_script(NO_DEVICES)
    links = start_session(counselor)
    counselor.goto(links.counselor_url)

    device_check(counselor, "Dr. Rivera")
    client.goto(links.invite_url)
    expect(client.locator("#device-message")).to_contain_text("could not find a camera or microphone")
    client.get_by_label("Your name").fill("Sam")
    client.locator("#setup-submit").click()
    client.get_by_role("button", name="I agree").click()
    admit(counselor, "Sam")
    expect(client.locator("#screen-call")).to_be_visible()
    sam = participant_id(client)

    # Sam is told, and is offered another try; the counselor sees a camera-off tile marked muted.
    expect(client.locator("#media-banner")).to_contain_text("without a camera or microphone")
    expect(client.locator("#mic-toggle")).to_be_disabled()
    tile = counselor.locator(f'.tile[data-participant="{sam}"]')
    expect(tile.locator(".tile-camera-off")).to_be_visible()
    expect(tile.locator(".tile-muted")).to_be_visible()
    client.screenshot(path=screenshot_dir / "call-without-devices-client.png")
    counselor.screenshot(path=screenshot_dir / "call-without-devices-counselor.png")

    # The devices come back: one press, no reload, and the counselor sees and hears Sam.
    client.evaluate("() => { window.__devicesPlugged = true; }")
    client.get_by_role("button", name="Try camera and microphone again").click()
    expect(client.locator("#media-banner")).to_be_hidden()
    expect(client.locator("#mic-toggle")).to_be_enabled()
    expect(tile.locator(".tile-camera-off")).to_be_hidden()
    expect(tile.locator(".tile-muted")).to_be_hidden()

    def sam_flowing() -> bool:
        first = peer_stats(counselor)[sam]
        counselor.wait_for_timeout(1500)
        second = peer_stats(counselor)[sam]
        return bool(second["tilePlaying"] and second["framesDecoded"] > first["framesDecoded"] > 0
                    and second["audioSamples"] > first["audioSamples"])

    wait_for(sam_flowing, timeout=45, what="Sam's new camera and microphone at the counselor")
