"""A family session: a counselor and two clients in a full mesh, one of them on a phone-sized screen
who joins without captions and cues."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import BrowserFactory, ServerHandle
from .flows import (
    admit,
    client_joins,
    counselor_opens_room,
    overlaps,
    participant_id,
    rect,
    start_session,
    uplink_counters,
    uplinks_connected,
    wait_for,
    wait_media_flowing,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_three_people_all_see_and_hear_each_other(
    open_browser: BrowserFactory, attune_server: ServerHandle, screenshot_dir: Path
) -> None:
    counselor = open_browser("counselor")
    sam = open_browser("client")
    jo = open_browser("client2", width=390, height=844)  # a phone

    links = start_session(counselor)
    counselor_opens_room(counselor, links, "Dr. Rivera")
    client_joins(sam, links, "Sam")
    client_joins(jo, links, "Jo", agree=False)
    expect(jo.get_by_role("heading", name="Waiting for your counselor to let you in")).to_be_visible()
    jo.screenshot(path=screenshot_dir / "10-phone-waiting-room.png")
    expect(counselor.locator("#waiting-list")).to_contain_text("Sam")
    expect(counselor.locator("#waiting-list")).to_contain_text("Jo")
    admit(counselor, "Sam")
    admit(counselor, "Jo")

    ids = {name: participant_id(page) for name, page in (("rivera", counselor), ("sam", sam), ("jo", jo))}
    for name, page in (("rivera", counselor), ("sam", sam), ("jo", jo)):
        flowing = wait_media_flowing(page, 2, timeout=60)
        assert set(flowing) == {pid for other, pid in ids.items() if other != name}
        expect(page.locator("#video-grid .tile")).to_have_count(3)

    # Sam agreed and is analysed; Jo did not, and nothing of Jo reaches the analysis.
    wait_for(lambda: uplink_counters(attune_server.url)[0] > 1, timeout=30, what="Sam's uplink")
    # Sam's alone (Jo sends nothing for analysis); an earlier test's closed browsers may hold theirs until the
    # server notices they are gone (ICE consent checks, up to 30 s)
    wait_for(lambda: uplinks_connected(attune_server.url) == 1, timeout=45, what="Sam's uplink alone")
    assert jo.evaluate("() => window.attuneDebug.uplink.active") is False
    expect(counselor.locator(f'#people-list [data-participant="{ids["jo"]}"]')).to_contain_text("declined")
    # ... and the counselor's transcript says so, where Jo's lines would have been.
    expect(counselor.locator('#transcript-list .transcript-consent[data-consent="declined"]')).to_contain_text(
        "Jo chose to join without captions and cues")

    # Layout: captions sit below the videos on every screen, never over a face; the phone page
    # does not scroll sideways.
    for page in (counselor, sam, jo):
        for tile in page.locator("#video-grid .tile").all():
            box = tile.bounding_box()
            assert box is not None
            assert not overlaps(box, rect(page, "#captions")), "captions cover a video tile"
    assert jo.evaluate("() => document.documentElement.scrollWidth") <= 390
    jo.screenshot(path=screenshot_dir / "11-phone-call.png", full_page=True)
    counselor.screenshot(path=screenshot_dir / "12-counselor-family-session.png")

    # The counselor ends the session for everyone.
    counselor.get_by_role("button", name="End session for everyone").click()
    counselor.get_by_role("dialog").get_by_role("button", name="End session").click()
    for page in (sam, jo, counselor):
        expect(page.get_by_role("heading", name="The session has ended")).to_be_visible(timeout=10_000)
    assert counselor.evaluate("() => window.attuneDebug.mesh") is None
