"""The caption area as a reader meets it, with the protocol's partial/final messages handed to the page's
own message handler (exact timing; the client declined analysis, so no real captions arrive in between):
one paragraph per speaker turn with the name once, a provisional tail that is replaced in place, settled
words that never move, a history that follows new text at every text size (the largest included) until
the reader scrolls back, a readable line length, and two to three lines on a phone, clear of the faces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .a11y import PHONE
from .conftest import BrowserFactory
from .flows import caption_message, inject, overlaps, rect, two_party_call

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

LARGEST_REM = 2.2  # SIZES[-1] in web/static/captions.js

# Where a word of a settled piece is, in the log's own content coordinates (independent of scrolling),
# and whether it is inside the log's visible box. which: 'first' or 'last' word; nth: index of the piece.
WORD_JS = """
([selector, nth, which]) => {
  const log = document.querySelector('#captions-log');
  const pieces = [...document.querySelectorAll(selector)];
  const piece = pieces.at(nth);
  const node = piece.firstChild;
  const text = node.textContent;
  let start, end;
  if (which === 'first') {
    start = text.search(/\\S/);
    end = text.indexOf(' ', start); if (end < 0) end = text.length;
  } else {
    end = text.trimEnd().length;
    start = text.lastIndexOf(' ', end - 1) + 1;
  }
  const range = document.createRange();
  range.setStart(node, start); range.setEnd(node, end);
  const box = range.getBoundingClientRect();
  const view = log.getBoundingClientRect();
  return {
    word: text.slice(start, end),
    x: box.x - view.x + log.scrollLeft, y: box.y - view.y + log.scrollTop,
    visible: box.height > 0 && box.top >= view.top - 1 && box.bottom <= view.bottom + 1,
  };
}
"""
# The most characters on one rendered line of a paragraph (per-character boxes grouped by line).
CHARS_PER_LINE_JS = """
(index) => {
  const turn = document.querySelectorAll('#captions-log .caption-turn')[index];
  const lines = new Map();
  const walker = document.createTreeWalker(turn, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.textContent.length; i += 1) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (!box.height) continue;
      const top = Math.round(box.top);
      lines.set(top, (lines.get(top) ?? 0) + 1);
    }
  }
  return Math.max(...lines.values());
}
"""
LOG_LINES_JS = """
() => { const log = document.querySelector('#captions-log');
        return log.clientHeight / parseFloat(getComputedStyle(log).lineHeight); }
"""

SENTENCES = [
    "I have been feeling tired lately.",
    "Most nights I wake up at three and cannot get back to sleep.",
    "Then the whole next day feels heavy, and I snap at the people I love.",
    "I keep telling myself it will pass, but it has been going on for weeks now.",
    "My sister thinks I should talk to someone about it, so here I am.",
]


def word(page: Page, selector: str, nth: int, which: str = "first") -> dict[str, Any]:
    return dict(page.evaluate(WORD_JS, [selector, nth, which]))


def place(page: Page, selector: str, nth: int, which: str = "first") -> tuple[str, float, float]:
    """A word and where it is in the log's content (not where the log is scrolled to)."""
    found = word(page, selector, nth, which)
    return found["word"], found["x"], found["y"]


def newest_visible(page: Page) -> bool:
    return bool(word(page, "#captions-log .caption-final", -1, "last")["visible"])


def finals_of(start: float, texts: list[str], *, utterance: int, name: str = "Sam",
              pid: str = "p-test01", seconds_each: float = 3.0) -> list[dict[str, Any]]:
    return [caption_message("final", text, utterance=utterance + i, start=start + seconds_each * i,
                            end=start + seconds_each * i + seconds_each - 0.5, name=name, pid=pid)
            for i, text in enumerate(texts)]


def test_a_speakers_turn_is_one_paragraph_and_settled_words_never_move(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    call = two_party_call(open_browser, client_agrees=False)
    page = call.client
    log = page.locator("#captions-log")
    turns = log.locator(".caption-turn")
    sam = log.locator('.caption-turn[data-participant="p-test01"]')

    # Sam starts speaking: a new paragraph whose words are provisional (italic, with a hint), kept from
    # screen readers until something is settled.
    inject(page, [caption_message("partial", "I have been feeling", stable="I have", utterance=1, start=1.0)])
    expect(sam).to_have_count(1)
    expect(sam).to_have_text("Sam: I have been feeling")
    tail = sam.locator(".caption-partial")
    expect(tail.locator(".caption-stable")).to_have_text(" I have")
    expect(tail.locator(".caption-provisional")).to_have_text(" been feeling")
    assert tail.evaluate("n => getComputedStyle(n).fontStyle") == "italic"
    assert tail.get_attribute("aria-hidden") == "true" and sam.get_attribute("aria-hidden") == "true"
    assert "may change" in (tail.get_attribute("title") or "")
    # A newer partial rewrites the tail in place: still one tail, one paragraph.
    inject(page, [caption_message("partial", "I have been feeling tired", stable="I have been", utterance=1,
                                  start=1.0)])
    expect(sam).to_have_text("Sam: I have been feeling tired")
    expect(log.locator(".caption-partial")).to_have_count(1)

    # The final replaces the tail; the log (a polite live region) now holds settled text only.
    inject(page, [caption_message("final", SENTENCES[0], utterance=1, start=1.0, end=3.0)])
    expect(tail).to_have_count(0)
    expect(sam).to_have_text(f"Sam: {SENTENCES[0]}")
    assert log.get_attribute("aria-live") == "polite"
    assert sam.get_attribute("aria-hidden") is None
    assert sam.locator(".caption-final").evaluate("n => getComputedStyle(n).fontStyle") == "normal"
    first = place(page, "#captions-log .caption-final", 0, "first")
    last_of_first = place(page, "#captions-log .caption-final", 0, "last")
    assert first[0] == "I" and last_of_first[0] == "lately."

    # Sam goes on: the next partial is the provisional end of the same paragraph, then settles there.
    inject(page, [caption_message("partial", "Most nights I wake", stable="Most", utterance=2, start=3.5)])
    expect(turns).to_have_count(1)
    expect(sam.locator(".caption-partial")).to_have_text(" Most nights I wake")
    page.screenshot(path=screenshot_dir / "captions-provisional-tail-laptop.png")
    inject(page, [caption_message("partial", "Most nights I wake up at", stable="Most nights I", utterance=2,
                                  start=3.5)])
    inject(page, finals_of(3.5, SENTENCES[1:], utterance=2))
    expect(turns).to_have_count(1)
    expect(sam.locator(".caption-final")).to_have_count(len(SENTENCES))
    expect(sam).to_have_text("Sam: " + " ".join(SENTENCES))
    expect(log.locator(".caption-name")).to_have_count(1)  # the name once per turn
    expect(log.locator(".caption-partial")).to_have_count(0)
    # The paragraph wraps over several lines by now; what was settled first has not moved.
    assert place(page, "#captions-log .caption-final", 0, "first") == first
    assert place(page, "#captions-log .caption-final", 0, "last") == last_of_first
    # Readable line length on a laptop: about 55 characters a line, not the log's full width.
    most = page.evaluate(CHARS_PER_LINE_JS, 0)
    print(f"most characters on one caption line at the default size: {most}")
    assert 40 <= most <= 64, f"{most} characters on one caption line"
    assert newest_visible(page)

    # Another speaker: a new paragraph with their name. Their provisional words open it; Sam's words stay.
    second_piece = place(page, "#captions-log .caption-final", 1, "first")
    inject(page, [caption_message("partial", "Thank you for", utterance=7, start=20.0, name="Jo", pid="p-test02")])
    jo = log.locator('.caption-turn[data-participant="p-test02"]')
    expect(jo).to_have_text("Jo: Thank you for")
    inject(page, [caption_message("final", "Thank you for telling me that.", utterance=7, start=20.0, end=22.0,
                                  name="Jo", pid="p-test02")])
    expect(jo).to_have_text("Jo: Thank you for telling me that.")
    expect(turns).to_have_count(2)
    assert place(page, "#captions-log .caption-final", 1, "first") == second_piece
    # Sam again, after Jo: a new turn, a new paragraph (Sam's first paragraph is closed).
    inject(page, finals_of(23.0, ["It helps to say it out loud."], utterance=20))
    expect(turns).to_have_count(3)
    expect(turns.nth(2)).to_have_text("Sam: It helps to say it out loud.")
    # And a long pause (over 8 s) from the same speaker starts a new paragraph too; a short one does not.
    inject(page, finals_of(27.0, ["Sorry, I lost my thread."], utterance=30))
    expect(turns).to_have_count(3)
    inject(page, finals_of(45.0, ["Where was I?"], utterance=40))
    expect(turns).to_have_count(4)
    expect(turns.nth(3)).to_have_text("Sam: Where was I?")
    assert place(page, "#captions-log .caption-final", 0, "first") == first
    assert newest_visible(page)
    page.screenshot(path=screenshot_dir / "captions-turns-laptop.png")

    # Overlapping speech: each speaker's tail stays in their own paragraph, and Jo's settled words go where
    # Jo's tail was, even though Sam settled something meanwhile.
    inject(page, [caption_message("partial", "Take your", utterance=50, start=60.0, name="Jo", pid="p-test02"),
                  caption_message("partial", "I also", utterance=51, start=60.5)])
    expect(turns).to_have_count(6)
    inject(page, [caption_message("final", "I also wanted to ask something.", utterance=51, start=60.5, end=62.0)])
    inject(page, [caption_message("final", "Take your time.", utterance=50, start=60.0, end=61.0, name="Jo",
                                  pid="p-test02")])
    expect(turns).to_have_count(6)
    expect(turns.nth(4)).to_have_text("Jo: Take your time.")
    expect(turns.nth(5)).to_have_text("Sam: I also wanted to ask something.")


def test_the_log_follows_new_text_at_the_largest_size_until_the_reader_scrolls_back(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    """The old bug: the log's 'near the bottom' test was 40 px, less than one line at a large text size.
    At the largest size a provisional line (then shown below the log) took a 51 px line from the log, the
    next final found the log 'not near the bottom', and from then on the log never followed again
    (reproduced against commit 2004de8: 51, 155, 259 ... px behind after each partial-then-final)."""
    call = two_party_call(open_browser, client_agrees=False)
    page = call.client
    log = page.locator("#captions-log")
    jump = page.get_by_role("button", name="Jump to newest")
    utterance = 100

    def say(count: int, *, start: float) -> None:
        nonlocal utterance
        # Two people taking turns, each turn two sentences: many paragraphs of a few lines each.
        for i in range(count):
            speaker = ("Sam", "p-test01") if i % 2 == 0 else ("Jo", "p-test02")
            texts = [f"{SENTENCES[(utterance + k) % len(SENTENCES)][:-1]}, part {utterance}." for k in range(2)]
            inject(page, finals_of(start + 8 * i, texts, utterance=utterance, name=speaker[0], pid=speaker[1]))
            utterance += 2

    say(4, start=1.0)
    assert newest_visible(page)
    larger = page.get_by_role("button", name="Larger caption text")
    while larger.is_enabled():
        larger.click()
        assert newest_visible(page), "the log stopped following while the text grew"
    assert log.evaluate("n => parseFloat(getComputedStyle(n).fontSize)") == pytest.approx(LARGEST_REM * 16)
    line_px = log.evaluate("n => parseFloat(getComputedStyle(n).lineHeight)")
    assert line_px > 40  # one line is taller than the old 40 px threshold
    # New text, one message at a time with frames in between (as it arrives in a call): always in view.
    for batch in range(6):
        say(1, start=100.0 + 10 * batch)
        page.wait_for_timeout(50)
        assert newest_visible(page), f"newest caption out of view after batch {batch} at the largest size"
    # Provisional tails that grow over several lines at this size, then settle (the old bug's path): the
    # newest words stay in view every time.
    for turn in range(3):
        for words in (4, 12, 24):
            inject(page, [caption_message("partial", " ".join(["and then I was"] * (words // 4)),
                                          utterance=900 + turn, start=170.0 + 3 * turn, pid="p-test02", name="Jo")])
            page.wait_for_timeout(30)
            tail, log_box = rect(page, "#captions-log .caption-partial"), rect(page, "#captions-log")
            assert tail["y"] + tail["height"] <= log_box["y"] + log_box["height"] + 1, (turn, words, tail, log_box)
        inject(page, [caption_message("final", "And then I was glad.", utterance=900 + turn, start=170.0 + 3 * turn,
                                      pid="p-test02", name="Jo")])
        page.wait_for_timeout(50)
        assert newest_visible(page), f"newest caption out of view after provisional text {turn}"
    # The text reflows when the window narrows and widens again: still following.
    page.set_viewport_size({"width": 900, "height": 800})
    page.wait_for_timeout(200)
    say(1, start=180.0)
    page.wait_for_timeout(50)
    assert newest_visible(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(200)
    assert newest_visible(page)
    expect(jump).to_be_hidden()
    page.screenshot(path=screenshot_dir / "captions-largest-following-laptop.png")

    # The reader scrolls back: new text does not pull them down; a button offers the way back.
    log.hover()
    page.mouse.wheel(0, -3 * line_px)
    page.wait_for_function("() => { const l = document.querySelector('#captions-log');"
                           " return l.scrollHeight - l.scrollTop - l.clientHeight > 40; }")
    page.wait_for_timeout(100)  # the scroll event
    expect(jump).to_be_visible()
    reading = log.evaluate("n => n.scrollTop")
    reading_word = word(page, "#captions-log .caption-final", -1, "first")
    say(3, start=200.0)
    page.wait_for_timeout(100)
    assert abs(log.evaluate("n => n.scrollTop") - reading) <= 1, "the log jumped while the reader read back"
    assert word(page, "#captions-log .caption-final", -7, "first")["y"] == reading_word["y"]
    assert not newest_visible(page)
    expect(jump).to_be_visible()
    jump_box, log_box = rect(page, "#captions-jump"), rect(page, "#captions-log")
    assert overlaps(jump_box, log_box) and not any(overlaps(jump_box, rect(page, f"#video-grid .tile >> nth={i}"))
                                                   for i in range(page.locator("#video-grid .tile").count()))
    page.screenshot(path=screenshot_dir / "captions-largest-scrolled-back-laptop.png")
    jump.click()
    expect(jump).to_be_hidden()
    assert newest_visible(page)
    say(2, start=300.0)
    page.wait_for_timeout(50)
    assert newest_visible(page)
    # Scrolling back down by hand resumes following too.
    page.mouse.wheel(0, -3 * line_px)
    expect(jump).to_be_visible()
    log.evaluate("n => { n.scrollTop = n.scrollHeight; }")
    expect(jump).to_be_hidden()
    say(1, start=400.0)
    page.wait_for_timeout(50)
    assert newest_visible(page)


def test_on_a_phone_captions_hold_two_to_three_lines_clear_of_the_faces(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    call = two_party_call(open_browser, client_agrees=False)
    page = call.client
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    inject(page, finals_of(1.0, SENTENCES, utterance=1)
           + finals_of(30.0, ["Thank you for telling me that."], utterance=20, name="Jo", pid="p-test02"))
    inject(page, [caption_message("partial", "It helps to", utterance=30, start=33.0)])
    page.wait_for_timeout(200)

    tiles = page.locator("#video-grid .tile")
    for size in ("default", "largest"):
        if size == "largest":
            larger = page.get_by_role("button", name="Larger caption text")
            while larger.is_enabled():
                larger.click()
            page.wait_for_timeout(200)
        lines = page.evaluate(LOG_LINES_JS)
        print(f"caption log on a phone at the {size} size: {lines:.2f} lines")
        assert 2.0 <= lines <= 3.2, f"the caption log holds {lines:.2f} lines on a phone at the {size} size"
        captions = rect(page, "#captions")
        for i in range(tiles.count()):
            tile = rect(page, f"#video-grid .tile >> nth={i}")
            assert tile and not overlaps(captions, tile), f"captions {captions} cover video tile {i} {tile}"
        assert rect(page, "#video-grid")["height"] >= 250  # the faces keep most of the screen
        # The newest text, the provisional tail of Sam's new turn, is in view.
        tail, log = rect(page, "#captions-log .caption-partial"), rect(page, "#captions-log")
        assert log["y"] - 1 <= tail["y"] and tail["y"] + tail["height"] <= log["y"] + log["height"] + 1, (tail, log)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=screenshot_dir / f"captions-phone-{size}.png")


def test_a_session_that_gets_live_captions_late_says_so_where_they_appear(
    open_browser: BrowserFactory, screenshot_dir: Path
) -> None:
    # The server's messages of a session that started while the caption engine was full and got captions
    # when room came free (tests/integration/test_caption_capacity.py sends them for real).
    call = two_party_call(open_browser, client_agrees=False)
    client, counselor = call.client, call.counselor
    empty_client, empty_counselor = client.locator("#captions-empty"), counselor.locator("#captions-empty")
    inject(client, [{"type": "captions_unavailable", "message": "Live captions are not available right now."}])
    inject(counselor, [{"type": "counselor", "event": {
        "kind": "captions_unavailable", "reason": "capacity",
        "message": "Live captions are off for this session: the caption engine is already serving as many "
                   "sessions as it can."}}])
    expect(empty_client).to_have_text("Live captions are not available right now.")
    expect(empty_counselor).to_contain_text("Live captions are off for this session")
    client.set_viewport_size(PHONE)
    client.screenshot(path=screenshot_dir / "captions-unavailable-client-phone.png")

    inject(client, [{"type": "captions_available", "message": "Live captions are on now."}])
    inject(counselor, [
        {"type": "captions_available", "message": "Live captions are on now."},  # the public one: the event wins
        {"type": "counselor", "event": {
            "kind": "captions_available",
            "message": "Live captions are on for this session now, with the transcript and crisis-language "
                       "alerts. What was said while they were off is not in the transcript."}},
    ])
    expect(empty_client).to_have_text("Live captions are on now.")
    expect(empty_counselor).to_contain_text("Live captions are on for this session now")
    expect(empty_client).to_be_visible()
    client.screenshot(path=screenshot_dir / "captions-available-client-phone.png")
    counselor.screenshot(path=screenshot_dir / "captions-available-counselor-laptop.png")
    # the first words replace the notice
    inject(client, [caption_message("final", "Thank you for waiting.", utterance=1, start=40.0)])
    expect(client.locator("#captions-log .caption-final")).to_have_count(1)
    expect(empty_client).to_be_hidden()
