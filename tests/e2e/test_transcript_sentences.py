"""The whole real path, from a speaker to the record: the client's fake microphone plays a reader saying three
sentences one after another (LJ Speech, looping), the server transcribes them with the bundled Whisper model,
and the counselor's Transcript tab holds whole sentences (not the 2-4-word pieces captions settle in), in
time order; the counselor's captions show the client's speech as one paragraph; and the SRT export of the
ended session holds the same sentences in order."""

from __future__ import annotations

import re
import statistics
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import SENTENCE_CLIPS, BrowserFactory, ServerHandle
from .flows import two_party_call, uplink_counters, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

# One pass of the recording is about 27 s and four finished rows need part of the second pass (the same
# words again: captioned like any speech since the repeat guard drops only a prompt said again), plus model
# latency on a loaded 2-core machine.
TRANSCRIPT_BOUND_S = 150.0
CLOSED_ROWS_WANTED = 4
SENTENCE_END = re.compile(r"[.?!…][\"')\]]*$")
MIN_MATCH = 0.6  # share of a reference sentence's words a row must have (tiny.en makes some errors)

ROWS_JS = """
() => [...document.querySelectorAll('#transcript-list li.transcript-line')].map((li) => ({
  participant: li.dataset.participant, start: Number(li.dataset.start),
  name: li.querySelector('strong').textContent.trim(),
  text: li.querySelector('.transcript-text').textContent,
  open: li.classList.contains('transcript-open') }))
"""
TURNS_JS = """
(pid) => [...document.querySelectorAll('#captions-log .caption-turn')].map((n) => ({
  participant: n.dataset.participant, names: n.querySelectorAll('.caption-name').length,
  pieces: n.querySelectorAll('.caption-final').length }))
"""


def normalized(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def reference_sentences() -> list[list[str]]:
    lines = (SENTENCE_CLIPS[0].parent.parent / "ljs_audio_text_filelist_LJ001-0001_0032.txt").read_text()
    texts = dict(line.split("|", 1) for line in lines.splitlines() if line.strip())
    return [normalized(texts[f"DUMMY/{clip.stem}.wav"]) for clip in SENTENCE_CLIPS]


REFERENCES = reference_sentences()


def best_reference(words: list[str]) -> tuple[int, float]:
    """Which reference sentence a row is, and the share of that sentence's words it holds."""
    scores = [len(set(words) & set(ref)) / len(set(ref)) for ref in REFERENCES]
    best = max(range(len(scores)), key=lambda i: scores[i])
    return best, scores[best]


def client_rows(page: Page, client_id: str) -> list[dict[str, Any]]:
    return [row for row in page.evaluate(ROWS_JS) if row["participant"] == client_id]


def contains_run(haystack: list[str], needle: list[str], start: int) -> int:
    """Index just past the first run of ``needle`` in ``haystack`` at or after ``start``; -1 if none."""
    for i in range(start, len(haystack) - len(needle) + 1):
        if haystack[i:i + len(needle)] == needle:
            return i + len(needle)
    return -1


def parse_srt(text: str) -> list[tuple[float, str]]:
    def seconds(clock: str) -> float:
        h, m, rest = clock.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    cues: list[tuple[float, str]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        assert len(lines) >= 3 and lines[0].strip().isdigit() and " --> " in lines[1], f"not an SRT cue: {block!r}"
        cues.append((seconds(lines[1].split(" --> ")[0].strip()), " ".join(lines[2:])))
    return cues


def test_the_counselors_transcript_and_export_hold_whole_sentences_in_time_order(
    open_browser: BrowserFactory, attune_server: ServerHandle, screenshot_dir: Path
) -> None:
    call = two_party_call(open_browser, client_persona="client_sentences")
    counselor = call.counselor
    counselor.get_by_role("tab", name="Transcript").click()
    wait_for(lambda: uplink_counters(attune_server.url)[0] > 0, timeout=30, what="uplink audio")

    def closed_enough() -> bool:
        return sum(not row["open"] for row in client_rows(counselor, call.client_id)) >= CLOSED_ROWS_WANTED

    wait_for(closed_enough, timeout=TRANSCRIPT_BOUND_S, interval=1.0,
             what=f"{CLOSED_ROWS_WANTED} finished sentences of Sam's in the counselor's transcript")
    rows = client_rows(counselor, call.client_id)
    counselor.screenshot(path=screenshot_dir / "transcript-sentences-counselor-laptop.png")
    for row in rows:
        print(f"row {row['start']:7.2f} {'open  ' if row['open'] else 'closed'} {row['name']} {row['text']}")

    # The uplink joined the looping recording somewhere: the first row may be the end of a sentence.
    first_ref, first_score = best_reference(normalized(rows[0]["text"]))
    if first_score < MIN_MATCH or len(normalized(rows[0]["text"])) < 0.6 * len(REFERENCES[first_ref]):
        rows = rows[1:]
    assert len(rows) >= CLOSED_ROWS_WANTED - 1
    assert all(row["name"] == "Sam:" for row in rows)
    # In time order (the list is kept sorted by start, so the order of the rows is the order of speech).
    starts = [row["start"] for row in rows]
    assert starts == sorted(starts), starts
    # A reader's breath inside a sentence ("...those of the written character, and they followed them very
    # closely.") is a caption cut with Whisper's full stop at it; the row must still be the whole sentence.
    # Whole sentences: each finished row ends with sentence punctuation and is one of the read sentences, in
    # the order they were read; only the last row may still be open (or short).
    counts = [len(normalized(row["text"])) for row in rows]
    assert statistics.median(counts) >= 6, counts
    assert not any(2 <= n <= 4 for n in counts[:-1]), f"rows of 2-4 words: {counts}"
    matched: list[int] = []
    for row in rows[:-1]:
        assert not row["open"], f"an open row before the last one: {row}"
        assert SENTENCE_END.search(row["text"].strip()), f"a row that is not a whole sentence: {row['text']!r}"
        which, score = best_reference(normalized(row["text"]))
        assert score >= MIN_MATCH, f"{row['text']!r} matches no read sentence ({score:.0%})"
        matched.append(which)
    assert all(b == (a + 1) % len(REFERENCES) for a, b in pairwise(matched)), matched

    # The counselor's captions: the client's speech is one turn, the name shown once, many settled pieces.
    turns = [t for t in counselor.evaluate(TURNS_JS) if t["participant"] == call.client_id]
    assert len(turns) == 1 and turns[0]["names"] == 1 and turns[0]["pieces"] >= 3, turns
    call.client.screenshot(path=screenshot_dir / "transcript-sentences-client-captions-laptop.png")

    # The counselor ends the session; the SRT export holds those sentences in order, cues in time order.
    session_id = counselor.evaluate("() => window.attuneDebug.app.session.session_id")
    counselor.get_by_role("button", name="End session for everyone").click()
    counselor.get_by_role("dialog").get_by_role("button", name="End session").click()
    expect(counselor.locator("#screen-ended")).to_be_visible()
    response = counselor.request.get(f"/api/records/sessions/{session_id}/export/srt")
    assert response.status == 200, response.text()
    cues = parse_srt(response.text())
    cue_starts = [start for start, _ in cues]
    assert cue_starts == sorted(cue_starts), cue_starts
    # Speaker names may open a cue (or only the first cue of a sentence): leave them out of the words.
    spoken = [w for w in normalized(" ".join(text for _, text in cues)) if w != "sam"]
    position = 0
    for row in rows[:-1]:
        found = contains_run(spoken, normalized(row["text"]), position)
        assert found >= 0, f"{row['text']!r} is not in the SRT export after word {position}: {' '.join(spoken)}"
        position = found
