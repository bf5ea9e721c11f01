"""The counselor's private insight panel, through the real path: the client's fake microphone plays a real
recording and its fake camera a GRID face clip in which the person leaves the picture for 5 s in every 11,
the server transcribes with the real model and runs the cue engines, and the counselor's page shows tone of
words, talk time, voice and camera status and cues (a real "Face not visible"); the client pressing Stop
camera pauses the video cues and says "Camera turned off" instead; the client's page shows none of it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import BrowserFactory
from .flows import (
    admit,
    client_joins,
    counselor_opens_room,
    insight_card,
    open_insights,
    participant_id,
    start_session,
    tone_points,
    wait_for,
    wait_media_flowing,
    ws_seen,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CAMERA_OFF_WATCH_S = 8.0  # longer than the 3 s a missing face needs before its cue, plus analysis latency

# What server/cues.py and server/live.py send for a line with crisis language (an alert, then the line).
RISKY_LINE = {
    "kind": "transcript_line", "line_id": 9001, "closed": True, "name": "Sam", "role": "client",
    "text": "Some days I feel like I can't go on.", "sentiment": -0.4, "risk": "urgent", "counselor_act": None,
}
ALERT = {
    "kind": "alert",
    "cue": {
        # The server names the stored sentence an alert is about; without it the page would pick the line
        # being spoken at the alert's time, which may be a long real sentence that overlaps this one.
        "name": "Sam", "kind": "words.risk", "severity": "urgent", "line_id": RISKY_LINE["line_id"],
        "sentence": "Possible crisis: Client used words about not going on: "
                    "\u201cSome days I feel like I can't go on.\u201d",
        "evidence": {"line": RISKY_LINE["text"], "phrase": "can't go on", "category": "suicide", "frame": "self",
                     "rule": "cant_go_on"},
    },
}
INJECT_JS = """
(messages) => {
  for (const detail of messages) {
    window.attuneDebug.app.signaling.dispatchEvent(new CustomEvent('message', { detail }));
  }
}
"""


def client_lines(counselor: Page) -> list[float]:
    """Start times (s) of the lines in the counselor's Transcript tab."""
    stamps = counselor.locator("#transcript-list .transcript-time").all_inner_texts()
    return [sum(int(part) * 60**i for i, part in enumerate(reversed(stamp.split(":")))) for stamp in stamps]


def test_counselor_panel_live_insights_face_cue_and_mute(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    counselor = open_browser("counselor")
    client = open_browser("client_away")
    links = start_session(counselor)
    # The counselor's speech is analysed (so their own talk share shows), but they listen with the
    # microphone muted: two fake microphones that never pause would talk over each other all along, and
    # the cues about that would use up the hint policy's per-minute cap before the face cue.
    counselor_opens_room(counselor, links, "Dr. Rivera", caption_self=True)
    counselor.get_by_role("button", name="Mute").click()
    client_joins(client, links, "Sam")
    expect(counselor.locator("#waiting-list")).to_contain_text("Sam")
    admit(counselor, "Sam")
    expect(client.locator("#screen-call")).to_be_visible()
    wait_media_flowing(counselor, 1)
    wait_media_flowing(client, 1)
    sam, rivera = participant_id(client), participant_id(counselor)
    open_insights(counselor)
    card = insight_card(counselor, sam)

    # The camera: GRID's speaker faces the camera.
    expect(card.locator(".camera-status")).to_have_attribute("data-state", "present", timeout=30_000)
    expect(card.locator(".camera-words")).to_have_text("Face in view")

    # Talk time: Sam's share and the counselor's own ("You").
    talk = counselor.locator(f'#insight-talk .talk-row[data-participant="{sam}"]')
    expect(talk).to_be_visible(timeout=30_000)
    expect(talk.locator(".talk-name")).to_have_text("Sam")
    expect(talk.locator(".talk-share")).to_contain_text("%")
    own = counselor.locator(f'#insight-talk .talk-row[data-participant="{rivera}"]')
    expect(own.locator(".talk-name")).to_have_text("You", timeout=30_000)
    wait_for(lambda: float(talk.get_attribute("data-share") or 0) > 0.8, what="Sam's talk share")

    # Voice: compared with Sam's own baseline, which takes a minute of speech to learn.
    expect(card.locator(".voice-facts")).to_contain_text(
        re.compile(r"Learning this person's usual voice|than earlier|as earlier"), timeout=30_000)

    # Tone of words: one point per final caption line from the real model.
    wait_for(lambda: tone_points(counselor, sam) >= 1, timeout=90, what="a tone point on Sam's chart")
    expect(card.locator(".tone-text")).to_contain_text("Tone of words lately")
    expect(card.get_by_role("img", name=re.compile("Tone of Sam's words"))).to_be_visible()
    counselor.screenshot(path=screenshot_dir / "panel-laptop-live.png")

    # Sam leaves the camera's view (the camera file shows nobody for 5 s in every 11): a real face cue.
    cue = counselor.locator(f'.insight-cue[data-kind="video.face_absent"][data-participant="{sam}"]')
    expect(cue).to_be_visible(timeout=60_000)
    expect(cue.locator(".cue-sentence")).to_contain_text("Face not visible")
    expect(cue.locator(".cue-who")).to_have_text("Sam")
    expect(card.locator(".camera-words")).to_have_text("Face not in view", timeout=30_000)

    # The evidence is folded away until asked for.
    evidence = cue.locator(".evidence")
    expect(evidence).to_be_hidden()
    cue.locator("summary").click()
    expect(evidence).to_be_visible()
    expect(evidence.locator("dt").first).to_have_text("Since")
    expect(evidence.locator("dd").first).to_have_text(re.compile(r"^\d\d:\d\d$"))

    # Muting the kind goes to the server, which answers with the muted kinds; the panel reflects them.
    before = len(ws_seen(counselor))
    cue.get_by_role("button", name="Mute this kind: Face not in view").click()
    muted = counselor.locator("#insight-muted")
    expect(muted).to_be_visible()
    expect(muted.locator('li[data-kind="video.face_absent"]')).to_contain_text("Face not in view")
    unmute = cue.get_by_role("button", name="Unmute this kind: Face not in view")
    expect(unmute).to_have_attribute("aria-pressed", "true")
    assert any(m["type"] == "counselor" and m["kind"] == "muted_kinds" for m in ws_seen(counselor)[before:])
    counselor.screenshot(path=screenshot_dir / "panel-laptop-cue.png")

    # ... and unmuting from the muted list takes it back.
    muted.get_by_role("button", name="Unmute: Face not in view").click()
    expect(muted).to_be_hidden()
    mute = cue.get_by_role("button", name="Mute this kind: Face not in view")
    expect(mute).to_have_attribute("aria-pressed", "false")

    # Keyboard: the cue's summary is reachable and toggles with Enter.
    cue.locator("summary").focus()
    counselor.keyboard.press("Enter")
    expect(evidence).to_be_hidden()

    # Sam presses Stop camera: the panel says so and the video cues pause. The black frames a stopped camera
    # sends are not analysed at all: no face cue and no camera readings while it is off.
    face_cues = counselor.locator('.insight-cue[data-kind^="video.face_absent"]').count()
    client.get_by_role("button", name="Stop camera").click()
    camera = card.locator(".camera-status")
    expect(camera).to_have_attribute("data-state", "off")
    expect(camera.locator(".camera-words")).to_contain_text("Camera turned off")
    assert any(m["type"] == "counselor" and m["kind"] == "camera_state" for m in ws_seen(counselor))
    time.sleep(1.0)  # a frame being analysed as the camera stopped may still report
    watched_from = len(ws_seen(counselor))
    time.sleep(CAMERA_OFF_WATCH_S)
    during = [m["kind"] for m in ws_seen(counselor)[watched_from:] if m["type"] == "counselor"]
    assert "video_state" not in during, during
    assert counselor.locator('.insight-cue[data-kind^="video.face_absent"]').count() == face_cues
    expect(camera.locator(".camera-words")).to_contain_text("Camera turned off")
    counselor.screenshot(path=screenshot_dir / "panel-laptop-camera-off.png")
    # Start camera: the analysis picks the picture up again.
    client.get_by_role("button", name="Start camera").click()
    expect(camera).to_have_attribute("data-state", re.compile("^(present|absent)$"), timeout=30_000)

    # An urgent alert. The recordings hold no crisis language (the words engine's own tests cover that
    # path), so the page's socket handler is handed the two messages the server sends for such a line.
    # Timed just after Sam's latest line, as a real one would be.
    latest = wait_for(lambda: client_lines(counselor), what="transcript lines")[-1]
    start_s = latest + 4.0
    alert = ALERT | {"cue": ALERT["cue"] | {"participant_id": sam, "at_s": start_s + 3.0}}
    line = RISKY_LINE | {"participant_id": sam, "start_s": start_s, "end_s": start_s + 3.0}
    counselor.evaluate(INJECT_JS, [{"type": "counselor", "event": alert}, {"type": "counselor", "event": line}])
    banner = counselor.locator("#insight-alerts").get_by_role("alert")
    expect(banner).to_be_visible()
    expect(banner.locator(".alert-quote")).to_have_text(RISKY_LINE["text"])
    expect(banner).to_contain_text("Sam")
    counselor.screenshot(path=screenshot_dir / "panel-laptop-alert.png")
    banner.get_by_role("button", name="Show in transcript").click()
    expect(counselor.get_by_role("tab", name="Transcript")).to_have_attribute("aria-selected", "true")
    marked = counselor.locator("#transcript-list .transcript-line.line-urgent")
    expect(marked).to_contain_text(RISKY_LINE["text"])
    expect(marked.first).to_have_class(re.compile("is-target"))
    counselor.screenshot(path=screenshot_dir / "panel-laptop-transcript.png")
    time.sleep(4)
    expect(banner).to_be_visible()  # never dismissed by itself, whatever tab is open
    banner.get_by_role("button", name="Acknowledge").click()
    expect(counselor.locator("#insight-alerts")).to_be_hidden()
    open_insights(counselor)
    acknowledged = counselor.locator("#insight-cues .insight-cue.sev-urgent")
    expect(acknowledged).to_contain_text("acknowledged")
    expect(acknowledged.get_by_role("button", name=re.compile("Mute this kind"))).to_have_count(0)

    # A rule hit the model set aside is shown with its reason (never dropped silently), and the counselor's
    # listening counters read as the coached ratio and the share of open questions.
    aside_line = "My boss will kill me if I am late again."
    aside = {"kind": "cue", "cue": {
        "participant_id": sam, "name": "Sam", "at_s": start_s + 6.0, "kind": "words.risk_set_aside",
        "severity": "info", "line_id": None,
        "sentence": "Set aside: Client said \u201ckill me\u201d; an idiom about someone else (model p 0.02)",
        "evidence": {"line": aside_line, "phrase": "kill me", "category": "suicide", "frame": "other",
                     "rule": "kill_me"},
    }}
    listening = {"kind": "listening", "participant_id": rivera, "open_question": 2, "closed_question": 2,
                 "reflection": 6, "other": 1, "reflection_to_question": 1.5, "percent_open": 50.0, "rating": "fair"}
    counselor.evaluate(INJECT_JS, [{"type": "counselor", "event": aside}, {"type": "counselor", "event": listening}])
    set_aside = counselor.locator('#insight-cues .insight-cue[data-kind="words.risk_set_aside"]')
    expect(set_aside.locator(".cue-tag").first).to_have_text("set aside, no alert")
    expect(set_aside.locator(".cue-sentence")).to_contain_text("an idiom about someone else")
    set_aside.locator("summary").click()
    expect(set_aside.locator(".cue-quote")).to_have_text(aside_line)
    expect(set_aside.locator(".cue-kind")).to_have_text("Words set aside (no alert)")
    expect(counselor.locator("#insight-alerts")).to_be_hidden()  # no alert for it
    box = counselor.locator("#insight-listening")
    expect(box).to_contain_text("About 1.5 reflections for each question: in the fair band (1:1 or more).")
    expect(box).to_contain_text("50% of your questions were open.")

    # Tablet width: the side panel stacks under the call and stays usable.
    counselor.set_viewport_size({"width": 768, "height": 1024})
    open_insights(counselor)
    counselor.locator("#panel-insights").scroll_into_view_if_needed()
    counselor.screenshot(path=screenshot_dir / "panel-tablet.png", full_page=True)
    counselor.set_viewport_size({"width": 1024, "height": 768})
    counselor.screenshot(path=screenshot_dir / "panel-tablet-landscape.png")

    # The client's page has none of it: no tab, no panel content, no alerts, no counselor events.
    expect(client.locator("#tab-insights")).to_be_hidden()
    expect(client.locator("#panel-insights")).to_be_hidden()
    expect(client.locator("#insight-alerts")).to_be_hidden()
    assert client.locator("#panel-insights *").count() == 0
    assert client.locator(".insight-cue, .insight-person, .insight-alert, .tone-chart").count() == 0
    assert not [m for m in ws_seen(client) if m["type"] == "counselor"]
    client.screenshot(path=screenshot_dir / "panel-client-view.png")
