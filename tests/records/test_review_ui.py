"""The review pages in headless Chromium (Debian's), through the real server: log in with the keyboard,
search, open a record, jump from a cue to its line, correct a line, add a note, export, delete; laptop and
tablet layouts are screenshot to artifacts/screenshots/records/ and checked for overflow and CSP errors."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from server.db.database import open_database
from server.records.repository import SessionRecords
from tests.records.conftest import LINES

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots" / "records"
EMAIL = "ui.counselor@example.org"
PASSWORD = "ui test passphrase"
SESSION_ID = "0123456789abcdef"

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(data_dir: Path) -> None:
    """What a finished live session leaves in the store, for account 1 (created by the CLI)."""
    database = await open_database(f"sqlite+aiosqlite:///{data_dir / 'attune.db'}", data_dir, None)
    store = SessionRecords(database)
    start = datetime.now(UTC) - timedelta(hours=2)
    await store.add_session(SESSION_ID, "Counseling session", start, 1)
    await store.add_participant(SESSION_ID, "p-c1", "counselor", "Dr. Ada Marsh", start)
    await store.add_participant(SESSION_ID, "p-k1", "client", "Robin Quill", start)
    await store.add_consent(SESSION_ID, "p-k1", "client", "granted", "v1", start)
    # Robin stops captions and cues for a while (between the 4th and 5th lines) and agrees again.
    await store.add_consent(SESSION_ID, "p-k1", "client", "withdrawn", "v1", start + timedelta(seconds=19.2))
    await store.add_consent(SESSION_ID, "p-k1", "client", "granted", "v1", start + timedelta(seconds=19.4))
    ids = [
        await store.add_transcript_line(SESSION_ID, "p-c1" if role == "counselor" else "p-k1", role, t0, t1, text,
                                        start)
        for role, t0, t1, text in LINES
    ]
    # as the live session coded the counselor's two sentences
    await store.set_counselor_act(SESSION_ID, ids[0], "open_question")
    await store.set_counselor_act(SESSION_ID, ids[2], "reflection")
    await store.add_cue(SESSION_ID, "p-k1", 19.0, "words.risk_language", "urgent", "Robin said they feel hopeless.",
                        {"words": ["hopeless"]})
    await store.end_session(SESSION_ID, start + timedelta(minutes=50))
    await database.close()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTUNE_")}
    env.update(ATTUNE_DATA_DIR=str(data_dir), ATTUNE_CAPTIONS="0", ATTUNE_DEVICE="cpu")
    subprocess.run([sys.executable, "-m", "server", "create-counselor", EMAIL, "--password-stdin"], cwd=REPO, env=env,
                   input=f"{PASSWORD}\n", text=True, check=True, capture_output=True, timeout=120)
    asyncio.run(_seed(data_dir))
    port = _free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port)], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=15)
    log.close()


def no_overflow(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_review_pages_with_keyboard_on_laptop_and_tablet(server_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        # Logging in, by keyboard only.
        page.goto("/records")
        expect(page).to_have_url(f"{server_url}/login?next=/records")
        expect(page.get_by_label("E-mail address")).to_be_focused()
        page.keyboard.type(EMAIL)
        page.keyboard.press("Tab")
        page.keyboard.type("wrong password!")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("not right")
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{server_url}/records")
        row = page.get_by_role("row").filter(has_text="Robin Quill")
        expect(row).to_contain_text("Dr. Ada Marsh (counselor)")
        expect(row).to_contain_text("50 min")
        # Robin stopped captions and cues for a while: the list says so, not "All clients agreed".
        expect(row).to_contain_text("Robin Quill: stopped at 00:19, agreed again at 00:19")
        expect(row).not_to_contain_text("All clients agreed")
        expect(page.get_by_role("heading", name="Counselor accounts")).to_be_visible()  # the CLI's first is admin
        no_overflow(page)
        page.screenshot(path=SHOTS / "01-records-list-laptop.png", full_page=True)

        page.get_by_label("Search all your sessions").fill("apartment")
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("1 session")
        expect(page.get_by_role("link", name="worrying about the apartment")).to_be_visible()
        page.screenshot(path=SHOTS / "02-records-search.png", full_page=True)

        page.get_by_role("link", name="worrying about the apartment").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#record")).to_be_visible()
        expect(page.locator(".record-line.is-target")).to_contain_text("apartment")  # search hit -> its line
        expect(page.locator("#transcript > li.record-line")).to_have_count(len(LINES))
        expect(page.locator("#tone-chart polyline")).to_have_count(2)
        expect(page.locator("#tone-chart .cue-marker")).to_have_count(1)
        expect(page.locator("#talk-time li")).to_have_count(2)
        # How the counselor listened, as the panel counted it: one open question, one reflection, 1:1.
        listening = page.locator("#listening")
        expect(listening).to_contain_text("Dr. Ada Marsh: 1 open and 0 closed questions, 1 reflection")
        expect(listening).to_contain_text("About 1.0 reflections for each question: in the fair band (1:1 or more).")
        expect(listening).to_contain_text("100% of your questions were open.")

        # A cue says when, about whom, what kind and how urgent, in words; the layout holds for each.
        cue = page.locator("#cue-list .cue-item").first
        expect(cue.locator(".cue-who")).to_have_text("Robin Quill")
        expect(cue.locator(".cue-severity")).to_have_text("Urgent alert")
        expect(cue.locator(".cue-kind")).to_have_text("Risk language (words)")
        assert "URGENT" not in page.locator("#cue-list").inner_text()
        time_box, who_box = cue.locator(".cue-time").bounding_box(), cue.locator(".cue-who").bounding_box()
        assert time_box and who_box and abs(time_box["y"] - who_box["y"]) < 8, "time and name on one line"
        # The consent history: Robin's pause of captions and cues, explained where it happened.
        expect(page.locator("#consent-history li")).to_have_count(3)
        expect(page.locator("#consent-history")).to_contain_text("Robin Quill stopped captions and cues")
        expect(page.locator("#consent-history")).to_contain_text("Robin Quill agreed again to captions and cues")
        marker = page.locator("#transcript .record-consent")
        expect(marker).to_contain_text("nothing Robin Quill said was transcribed until 00:19")
        expect(page.locator("#record-participants")).to_contain_text("stopped at 00:19, agreed again at 00:19")

        # A cue jumps to its line.
        page.get_by_role("button", name="Robin said they feel hopeless.").press("Enter")
        focused = page.evaluate("() => document.activeElement.textContent")
        assert "I feel hopeless" in focused
        page.screenshot(path=SHOTS / "03-session-laptop.png", full_page=True)

        # Correct a line with the keyboard: the original stays visible.
        page.get_by_role("button", name="Correct the line at 00:04").press("Enter")
        expect(page.get_by_label("Corrected text")).to_be_focused()
        page.keyboard.press("Control+A")
        page.keyboard.type("Honestly not great. I keep waking at four.")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        corrected = page.locator(".record-line").nth(1)
        expect(corrected).to_contain_text("corrected")
        expect(corrected.locator(".line-text")).to_have_text("Honestly not great. I keep waking at four.")
        corrected.get_by_text("Recognised text").click()
        expect(corrected.locator("details p")).to_have_text(LINES[1][3])

        page.get_by_label("Add a note (only you can see it)").fill("Follow up on sleep.")
        page.get_by_role("button", name="Save note").click()
        notes = page.locator("#notes-list")
        expect(notes).to_contain_text("Follow up on sleep.")
        page.get_by_label("Add a note (only you can see it)").fill("A note written in the wrong record.")
        page.get_by_role("button", name="Save note").click()
        expect(notes.locator(".note-item")).to_have_count(2)

        # Edit a note with the keyboard: Enter on Edit, the text is in a focused box, Save changes.
        notes.locator(".note-item").first.get_by_role("button", name=re.compile("^Edit the note from")).press("Enter")
        expect(page.get_by_label("Note text")).to_be_focused()
        page.get_by_label("Note text").fill("Follow up on sleep and the walks.")
        page.screenshot(path=SHOTS / "03b-note-editing.png", full_page=True)
        page.get_by_role("button", name="Save changes").click()
        edited = notes.locator(".note-item").first
        expect(edited.locator(".note-text")).to_have_text("Follow up on sleep and the walks.")
        expect(notes.locator(".note-item").first).to_be_focused()

        # Delete the other one: asked once more, in place; "Keep it" is the safe default focus.
        wrong = notes.locator(".note-item").filter(has_text="wrong record")
        wrong.get_by_role("button", name=re.compile("^Delete the note from")).click()
        expect(wrong.get_by_role("button", name="Keep it")).to_be_focused()
        page.screenshot(path=SHOTS / "03c-note-delete-confirm.png", full_page=True)
        wrong.get_by_role("button", name="Delete for good").click()
        expect(notes.locator(".note-item")).to_have_count(1)
        page.reload()
        expect(page.locator("#notes-list .note-item")).to_have_count(1)
        expect(page.locator("#notes-list")).to_contain_text("Follow up on sleep and the walks.")
        # The counselor's notes are in the text export (and the JSON and PDF ones, tests/records).
        txt = page.request.get(page.get_by_role("link", name="Text", exact=True).get_attribute("href") or "")
        assert "Follow up on sleep and the walks." in txt.text() and "wrong record" not in txt.text()

        page.get_by_label("Search within this session").fill("rent")
        expect(page.locator("#find-status")).to_have_text("1 matching line")
        page.keyboard.press("Enter")
        expect(page.locator(".record-line.is-target")).to_contain_text("the rent")

        pdf = page.request.get(page.get_by_role("link", name="PDF report").get_attribute("href") or "")
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

        page.set_viewport_size({"width": 768, "height": 1024})
        page.reload()
        expect(page.locator("#record")).to_be_visible()
        no_overflow(page)
        page.screenshot(path=SHOTS / "04-session-tablet.png", full_page=True)
        page.goto("/records")
        expect(page.get_by_role("row").filter(has_text="Robin Quill")).to_be_visible()
        no_overflow(page)
        page.screenshot(path=SHOTS / "05-records-list-tablet.png", full_page=True)

        # A record id that does not exist: the styled page, with the way back to the records.
        seen = len(problems)
        page.goto("/records/ffffffffffffffff")
        expect(page.get_by_role("heading", name="No such session record")).to_be_visible()
        # Chromium logs the page's own 404 status as a console error; that one is expected.
        problems[seen:] = [m for m in problems[seen:] if "404" not in m]
        page.screenshot(path=SHOTS / "07-no-such-record.png")
        page.get_by_role("link", name="Go to your session records").click()
        expect(page).to_have_url(f"{server_url}/records")

        page.goto(f"/records/{SESSION_ID}")
        page.get_by_role("button", name="Delete this record").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        page.screenshot(path=SHOTS / "06-delete-dialog.png")
        page.get_by_role("button", name="Delete for good").click()
        expect(page).to_have_url(f"{server_url}/records")
        expect(page.get_by_role("status")).to_contain_text("No sessions yet")

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{server_url}/login")
        page.goto("/records")
        expect(page).to_have_url(f"{server_url}/login?next=/records")

        browser.close()
    # CSP violations and script errors land in the console: none are allowed. A failed login
    # answers 401, which Chromium also logs; that one is expected.
    assert [p for p in problems if "401" not in p] == [], problems
