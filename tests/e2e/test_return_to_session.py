"""A counselor who left the room gets back in from the records list: the list shows the session as live
("Live now", who has joined), "Return to the session" asks the server for a new room link and goes there,
and the counselor is in the call again as themselves (same participant, admitted, the counselor panel);
the old room link no longer opens anything, and says so in a counselor's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .a11y import Auditor
from .conftest import BrowserFactory
from .flows import counselor_opens_room, device_check, participant_id, start_session

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def test_counselor_returns_to_a_live_session_from_the_records_list(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    room = open_browser("counselor")
    links = start_session(room)
    counselor_opens_room(room, links, "Dr. Rivera")
    expect(room.locator("#panel-people")).to_be_visible()
    me = participant_id(room)
    session_id = str(room.evaluate("() => document.body.dataset.session"))

    # The room's tab is closed; in the same browser (still logged in) the counselor opens the records list.
    records = room.context.new_page()
    room.close()
    records.goto("/records")
    # (other tests on this server may have left sessions of their own live: this one is found by its id)
    row = records.locator("#sessions-body tr", has=records.locator(f'a[href="/records/{session_id}"]'))
    expect(row).to_have_count(1)
    expect(row).to_have_class("is-live")
    expect(row).to_contain_text("Live now")
    expect(row).to_contain_text("1 joined so far: Dr. Rivera (counselor)")
    expect(row).not_to_contain_text("unknown")
    button = row.get_by_role("button", name="Return to the session")
    expect(button).to_be_visible()
    records.screenshot(path=screenshot_dir / "return-01-records-live-laptop.png", full_page=True)
    records.set_viewport_size({"width": 390, "height": 844})
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # whole, on a phone too
    records.screenshot(path=screenshot_dir / "return-02-records-live-phone.png", full_page=True)
    records.set_viewport_size({"width": 1280, "height": 800})
    audit = Auditor()  # axe at laptop and phone size: the badge and the button must not cost accessibility
    audit.both_sizes(records, "records-live-session")
    assert not audit.blocking(), audit.summary()

    button.click()
    records.wait_for_url("**/host/**")
    new_url = records.url
    assert new_url != links.counselor_url
    device_check(records, "Dr. Rivera")
    expect(records.locator("#screen-call")).to_be_visible()
    expect(records.locator("#panel-people")).to_be_visible()
    assert participant_id(records) == me  # the same counselor, not a second one
    assert records.evaluate("() => window.attuneDebug.app.me.role") == "counselor"
    records.screenshot(path=screenshot_dir / "return-03-back-in-the-call-laptop.png")
    records.set_viewport_size({"width": 390, "height": 844})
    expect(records.locator("#screen-call")).to_be_visible()
    records.screenshot(path=screenshot_dir / "return-04-back-in-the-call-phone.png")

    # The old room link opens nothing now, and tells the counselor where the way back is.
    old = records.context.new_page()
    response = old.goto(links.counselor_url)
    assert response is not None and response.status == 404
    expect(old.locator("#error-title")).to_have_text("This room link doesn't open a session")
    expect(old.locator("#error-hint")).to_contain_text("Return to the session")
    expect(old.locator("#error-hint")).not_to_contain_text("If a counselor sent you")
    old.screenshot(path=screenshot_dir / "return-05-old-link.png")
