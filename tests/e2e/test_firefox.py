"""A second real browser: a client in Debian's Firefox ESR (driven by puppeteer-core over WebDriver BiDi)
joins a counselor in Chromium. Admission, video decoding and advancing both ways, sound arriving both
ways, and the Firefox client's analysis uplink reaching the server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import BrowserFactory, ServerHandle
from .firefox import FirefoxClient
from .flows import admit, counselor_opens_room, peer_stats, start_session, uplink_counters, wait_for, wait_media_flowing

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _flowing(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Firefox decodes the counselor's video and its <video> plays and advances; sound bytes arrive."""
    if len(after) != 1:
        return False
    (peer_id, row), = after.items()
    first = before.get(peer_id)
    return bool(first and row["state"] == "connected" and row["videoWidth"] > 0 and not row["paused"]
                and row["framesDecoded"] > first["framesDecoded"] and row["currentTime"] > first["currentTime"]
                and row["audioBytes"] > first["audioBytes"])


def test_firefox_client_joins_a_chromium_counselor(
    open_browser: BrowserFactory, attune_server: ServerHandle, screenshot_dir: Path
) -> None:
    counselor = open_browser("counselor")
    links = start_session(counselor)
    counselor_opens_room(counselor, links, "Dr. Rivera")

    firefox = FirefoxClient(links.invite_url, "Alex")
    try:
        launched = firefox.expect("launched", timeout=60)
        print(f"client browser: {launched['version']}")
        assert launched["version"].startswith("firefox/")
        firefox.expect("device_check")
        waiting = firefox.expect("waiting")
        client_id = waiting["participant_id"]
        firefox.screenshot(screenshot_dir / "firefox-waiting-room.png")

        # Admission from the Chromium counselor's waiting-room list.
        expect(counselor.locator("#waiting-list")).to_contain_text("Alex")
        admit(counselor, "Alex")
        assert firefox.expect("in_call")["participant_id"] == client_id

        # Chromium decodes Firefox's test picture and tone, and the tile plays.
        counselor_side = wait_media_flowing(counselor, 1, timeout=60)
        assert counselor_side[client_id]["framesDecoded"] > 0

        # Firefox decodes the counselor's real face and voice.
        samples: list[dict[str, Any]] = []

        def firefox_flowing() -> bool:
            samples.append(firefox.stats()["peers"])
            return len(samples) >= 2 and _flowing(samples[-2], samples[-1])

        wait_for(firefox_flowing, timeout=60, interval=1.5, what="the counselor's media playing in Firefox")
        print(f"firefox side: {samples[-1]}")
        firefox.screenshot(screenshot_dir / "firefox-client-call.png")
        # The call page passes the same accessibility check in Firefox.
        blocking = [v for v in firefox.axe() if v["impact"] in ("serious", "critical")]
        assert not blocking, blocking
        counselor.screenshot(path=screenshot_dir / "firefox-counselor-view.png")

        # The analysis uplink from Firefox reaches the server (audio seconds and camera frames counted).
        def uplink_flowing() -> tuple[float, float] | None:
            counters = uplink_counters(attune_server.url)
            return counters if counters[0] > 1 and counters[1] > 0 else None

        audio_s, frames = wait_for(uplink_flowing, timeout=60, what="Firefox's analysis uplink")
        print(f"server took {audio_s:.1f} s of audio and {frames:.0f} video frames from the Firefox client")
        time.sleep(2)
        assert uplink_counters(attune_server.url)[0] > audio_s, "uplink audio stopped growing"
        # The counselor's view of the client's uplink says so too.
        counselor.get_by_role("tab", name="People").click()
        expect(counselor.locator(f'.person[data-participant="{client_id}"]')).to_contain_text("Analysis: receiving")
        assert peer_stats(counselor)[client_id]["tilePlaying"]
    finally:
        firefox.close()
