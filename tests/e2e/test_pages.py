"""Every page, in every state a counselor or a client meets, checked with axe-core at laptop and phone size
and screenshot (artifacts/screenshots/pages/); plus keyboard reachability of the call page's controls for
both roles. A real session runs underneath: a Chromium counselor, a Chromium client, real media."""

from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from .a11y import Auditor, tab_reach
from .conftest import BrowserFactory, ServerHandle
from .flows import (
    COUNSELOR_EMAIL,
    COUNSELOR_PASSWORD,
    admit,
    device_check,
    participant_id,
    wait_media_flowing,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

INJECT_JS = """
(messages) => {
  for (const detail of messages) window.attuneDebug.app.signaling.dispatchEvent(new CustomEvent('message', { detail }));
}
"""


def page_events(pid: str, counselor_id: str) -> list[dict[str, object]]:
    """Captions (a settled line and one in progress) and, for the counselor, a cue and an urgent alert, as the
    server sends them: the states whose colours and live regions the checks must see."""
    line = "Some days I feel like I can't go on."
    return [
        {"type": "caption", "participant_id": pid, "name": "Sam", "utterance_id": 1, "kind": "final",
         "text": "I have been sleeping badly this week.", "stable": "", "start_s": 3.0, "end_s": 5.0},
        {"type": "caption", "participant_id": counselor_id, "name": "Dr. Rivera", "utterance_id": 2, "kind": "partial",
         "text": "That sounds really hard", "stable": "That sounds", "start_s": 6.0, "end_s": 7.0},
        {"type": "counselor", "event": {"kind": "cue", "cue": {
            "participant_id": pid, "name": "Sam", "kind": "conversation.response_latency", "severity": "notice",
            "at_s": 12.0, "sentence": "Long pause (7.0 s) before answering.",
            "evidence": {"latency_s": 7.0, "usual_latency_s": 1.2}}}},
        {"type": "counselor", "event": {"kind": "alert", "cue": {
            "participant_id": pid, "name": "Sam", "kind": "words.risk", "severity": "urgent", "at_s": 20.0,
            "sentence": f"Possible crisis: Client used words about not going on: \u201c{line}\u201d",
            "evidence": {"line": line, "phrase": "can't go on", "category": "suicide"}}}},
        {"type": "counselor", "event": {"kind": "listening", "open_question": 0, "closed_question": 0,
                                        "reflection": 0}},
    ]


def test_every_page_passes_axe_at_laptop_and_phone_size(
    open_browser: BrowserFactory, attune_server: ServerHandle
) -> None:
    audit = Auditor()
    counselor = open_browser("counselor")
    client = open_browser("client")

    # Counselor: log in, start a session.
    counselor.goto("/")
    expect(counselor.get_by_role("heading", name="Counselor log in")).to_be_visible()
    audit.both_sizes(counselor, "login")
    counselor.get_by_label("E-mail address").fill(COUNSELOR_EMAIL)
    counselor.get_by_label("Password").fill(COUNSELOR_PASSWORD)
    expect(counselor.get_by_role("button", name="Log in")).to_be_enabled()
    counselor.get_by_label("Password").press("Enter")
    expect(counselor.get_by_role("heading", name="Start a session")).to_be_visible()
    audit.both_sizes(counselor, "start")
    counselor.get_by_role("button", name="Start a session").click()
    expect(counselor.get_by_role("heading", name="Your session is ready")).to_be_visible()
    audit.both_sizes(counselor, "start-ready")
    counselor_url = counselor.get_by_label("Your own link to the room").input_value()
    invite_url = counselor.get_by_label("Invite link for your client").input_value()

    # Counselor's device check and empty room.
    counselor.goto(counselor_url)
    expect(counselor.locator("#screen-setup")).to_be_visible()
    audit.both_sizes(counselor, "counselor-setup")
    device_check(counselor, "Dr. Rivera", caption_self=True)
    expect(counselor.locator("#screen-call")).to_be_visible()
    audit.both_sizes(counselor, "counselor-call-alone")

    # Client: device check, consent, waiting room; the counselor sees them waiting.
    client.goto(invite_url)
    expect(client.locator("#screen-setup")).to_be_visible()
    audit.both_sizes(client, "client-setup")
    device_check(client, "Sam")
    expect(client.locator("#screen-consent")).to_be_visible()
    audit.both_sizes(client, "client-consent")
    client.get_by_role("button", name="I agree").click()
    expect(client.locator("#screen-waiting")).to_be_visible()
    audit.both_sizes(client, "client-waiting")
    expect(counselor.locator("#waiting-list")).to_contain_text("Sam")
    audit.both_sizes(counselor, "counselor-call-someone-waiting")

    # In the call, with captions, a cue and an urgent alert on the pages.
    admit(counselor, "Sam")
    expect(client.locator("#screen-call")).to_be_visible()
    wait_media_flowing(counselor, 1)
    wait_media_flowing(client, 1)
    sam, rivera = participant_id(client), participant_id(counselor)
    events = page_events(sam, rivera)
    counselor.evaluate(INJECT_JS, events)
    client.evaluate(INJECT_JS, [e for e in events if e["type"] == "caption"])
    expect(counselor.locator("#insight-alerts").get_by_role("alert")).to_be_visible()
    expect(client.locator("#captions-log")).to_contain_text("sleeping badly")
    audit.both_sizes(client, "client-call")
    for tab in ("People", "Insights", "Chat", "Transcript"):
        counselor.get_by_role("tab", name=re.compile(f"^{tab}")).click()
        if tab == "Insights":
            # The listening summary is said in words whatever the counselor's own speech (the fake microphone
            # plays a recording) has been coded as by now; it once printed a literal "null".
            listening = counselor.locator("#insight-listening")
            expect(listening).to_contain_text(re.compile(
                r"No questions or reflections from you counted yet|no questions yet|reflections for each question"))
            expect(listening).not_to_contain_text("null")
        audit.both_sizes(counselor, f"counselor-call-{tab.lower()}")
    counselor.get_by_role("button", name="Acknowledge").click()
    client.get_by_role("button", name="Chat").click()
    client.get_by_label("Message to everyone").fill("Hello, can you hear me?")
    client.get_by_label("Message to everyone").press("Enter")
    expect(counselor.locator("#chat-list")).to_contain_text("can you hear me")
    audit.both_sizes(client, "client-call-chat")

    # Keyboard: every control of the call page is reachable with Tab, for both roles; the panel's tabs
    # move with the arrow keys.
    keyboard_problems: list[str] = []
    for role, page in (("counselor", counselor), ("client", client)):
        reached, reachable = tab_reach(page)
        missing = [name for name in reachable if name not in reached]
        if missing:
            keyboard_problems.append(f"{role}: Tab never reaches {missing} (reached {reached})")
    counselor.get_by_role("tab", name=re.compile("^People")).focus()
    counselor.keyboard.press("ArrowRight")
    expect(counselor.get_by_role("tab", name=re.compile("^Insights"))).to_be_focused()
    expect(counselor.locator("#panel-insights")).to_be_visible()

    # Dialogs: the client stops captions and cues, then turns them on again (the consent text again).
    client.get_by_role("button", name="Stop captions and cues").click()
    expect(client.get_by_role("dialog")).to_be_visible()
    audit.both_sizes(client, "client-dialog-withdraw", full_page_phone=False)
    client.get_by_role("dialog").get_by_role("button", name="Stop captions and cues").click()
    client.get_by_role("button", name="Turn on captions and cues").click()
    expect(client.get_by_role("dialog")).to_be_visible()
    audit.both_sizes(client, "client-dialog-reconsent", full_page_phone=False)
    client.get_by_role("dialog").get_by_role("button", name="I agree").click()

    # The client leaves; the counselor ends the session.
    client.get_by_role("button", name="Leave").click()
    client.get_by_role("dialog").get_by_role("button", name="Leave").click()
    expect(client.locator("#screen-ended")).to_be_visible()
    expect(client.locator("#ended-links")).to_be_hidden()  # a client has no records to go to
    audit.both_sizes(client, "client-ended-left")
    counselor.get_by_role("button", name="End session for everyone").click()
    counselor.get_by_role("dialog").get_by_role("button", name="End session").click()
    expect(counselor.locator("#screen-ended")).to_be_visible()
    session_id = counselor.evaluate("() => window.attuneDebug.app.session.session_id")
    record_link = counselor.get_by_role("link", name="Open the session record")
    expect(record_link).to_have_attribute("href", f"/records/{session_id}")
    expect(counselor.get_by_role("link", name="Start a new session")).to_have_attribute("href", "/")
    audit.both_sizes(counselor, "counselor-ended")

    # Error pages: a broken invite link, and the counselor's link of an ended session.
    client.goto(invite_url[:-4] + "zzzz")
    audit.both_sizes(client, "error-bad-link")
    counselor.goto(counselor_url)
    audit.both_sizes(counselor, "error-ended-session")

    # Session records: the list and the record of the session that just ended. Sam stopped captions and cues
    # and agreed again: the list says so (times on the session clock), not "All clients agreed".
    counselor.goto("/records")
    row = counselor.get_by_role("row").filter(has_text="Sam")
    expect(row.first).to_be_visible()
    expect(row.first).to_contain_text(re.compile(r"Sam: stopped at \d\d:\d\d, agreed again at \d\d:\d\d"))
    audit.both_sizes(counselor, "records-list")
    counselor.goto(f"/records/{session_id}")
    expect(counselor.locator("#record")).to_be_visible()
    # Consent history is part of the record: Sam's stop and restart, in the list, the transcript and the chart.
    history = counselor.locator("#consent-history")
    expect(history).to_contain_text("Sam stopped captions and cues")
    expect(history.locator("li").filter(has_text="Sam agreed to captions and cues")).to_have_count(1)
    expect(history.locator("li").filter(has_text="Sam agreed again to captions and cues")).to_have_count(1)
    expect(counselor.locator('#transcript .record-consent[data-consent="withdrawn"]')).to_contain_text(
        "nothing Sam said was transcribed")
    expect(counselor.locator("#tone-chart .consent-gap")).to_have_count(1)
    expect(counselor.locator("#record-participants")).to_contain_text("agreed again at")
    audit.both_sizes(counselor, "records-session")

    # The PDF report of the session (fpdf2 subsets the fonts with fontTools, which used to fill the log).
    pdf = counselor.request.get(f"/api/records/sessions/{session_id}/export/pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    # Not-found pages: a record id that does not exist, and an address that leads nowhere.
    counselor.goto("/records/0000000000000000")
    expect(counselor.get_by_role("heading", name="No such session record")).to_be_visible()
    expect(counselor.get_by_role("link", name="Go to your session records")).to_be_visible()
    audit.both_sizes(counselor, "error-no-such-record")
    client.goto("/no/such/page")
    expect(client.get_by_role("heading", name="Page not found")).to_be_visible()
    audit.both_sizes(client, "error-no-such-page")

    print(audit.summary())
    blocking = audit.blocking()
    assert not blocking, "serious or critical accessibility findings:\n" + "\n".join(map(str, blocking))
    assert not keyboard_problems, keyboard_problems

    # The server's log after a real call (Whisper decoded the microphones) and a PDF export: the libraries'
    # routine chatter stays out of it at INFO, the server's own messages stay in.
    assert whisper_calls(attune_server.url) > 0
    log = attune_server.log_path.read_text(errors="replace")
    assert "Processing audio with duration" not in log
    assert "fontTools" not in log
    assert f"session {session_id} ended" in log


def whisper_calls(server_url: str) -> float:
    """How many times the server's Whisper model has transcribed audio (from /metrics)."""
    with urllib.request.urlopen(f"{server_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "attune_asr_calls")


def test_tab_reach_reports_a_control_out_of_the_tab_order(open_browser: BrowserFactory) -> None:
    """The keyboard check itself: a button taken out of the tab order is reported as not reached."""
    page: Page = open_browser("counselor")
    page.goto("/login")
    expect(page.get_by_label("E-mail address")).to_be_visible()
    reached, reachable = tab_reach(page)
    assert "login-submit" in reached and set(reachable) <= set(reached)
    page.evaluate("() => document.querySelector('#login-submit').setAttribute('tabindex', '-1')")
    reached, reachable = tab_reach(page)
    assert "login-submit" in reachable and "login-submit" not in reached
