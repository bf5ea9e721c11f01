"""Exports read back with independent readers: webvtt-py for WebVTT, the `srt` package for SRT, pypdf and
poppler's pdftoppm for the PDF report. Each export goes through the real HTTP route of a stored record."""

from __future__ import annotations

import asyncio
import html
import io
import itertools
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import srt
import webvtt
from PIL import Image
from pypdf import PdfReader

from analysis.events import TimedWord
from server.records.context import RECORDS
from tests.conftest import AppHarness
from tests.records.conftest import LINES, seed_session

TRICKY = "Café “quotes” & <b>tags</b> --> arrows"


def render_first_page(pdf: bytes, folder: Path) -> np.ndarray:
    """Page 1 as RGB pixels, rendered by poppler's pdftoppm (a reader independent of fpdf2)."""
    pdf_path = folder / "report.pdf"
    pdf_path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf_path), str(folder / "page")],
                   check=True, timeout=60)
    [png] = sorted(folder.glob("page*.png"))
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


# A client's long sentence as a live session stores it: with its words and their times (seconds on the
# session clock); it is longer than one cue can hold.
SPOKEN = ("Mostly the rent, and whether my sister will ever call me back, because I have not heard from her "
          "since the summer and I feel hopeless about it.")
SPOKEN_WORDS = tuple(TimedWord(w, 40.0 + i * 0.3, 40.0 + i * 0.3 + 0.25) for i, w in enumerate(SPOKEN.split()))


async def seeded_with_tricky_line(harness: AppHarness) -> str:
    seeded = await seed_session(harness)
    await harness.app[RECORDS].add_transcript_line(
        seeded.session_id, seeded.client_pid, "client", 30.0, 33.25, TRICKY, datetime.now(UTC)
    )
    return seeded.session_id


async def seeded_with_timed_words(harness: AppHarness) -> str:
    sid = await seeded_with_tricky_line(harness)
    await harness.app[RECORDS].add_transcript_line(
        sid, "p-c1", "counselor", SPOKEN_WORDS[0].start_s, SPOKEN_WORDS[-1].end_s, SPOKEN, datetime.now(UTC),
        SPOKEN_WORDS,
    )
    return sid


async def export(harness: AppHarness, session_id: str, fmt: str) -> tuple[bytes, str, str]:
    resp = await harness.client.get(f"/api/records/sessions/{session_id}/export/{fmt}")
    assert resp.status == 200, await resp.text()
    return await resp.read(), resp.headers["Content-Type"], resp.headers["Content-Disposition"]


def seconds(timestamp: str) -> float:
    """webvtt-py's own *_in_seconds drop the milliseconds."""
    hours, minutes, secs = timestamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


def spoken_text() -> str:
    return " ".join([*(t for *_, t in LINES), TRICKY, SPOKEN])


async def test_webvtt_export_is_caption_cues_timed_to_the_words(sqlite_records: AppHarness) -> None:
    sid = await seeded_with_timed_words(sqlite_records)
    body, ctype, disposition = await export(sqlite_records, sid, "vtt")
    assert ctype.startswith("text/vtt") and f"attune-session-{sid}.vtt" in disposition
    captions = webvtt.from_string(body.decode("utf-8")).captions
    texts = [html.unescape(c.text) for c in captions]
    # every word is there, in order, in cues of at most two lines of 42 characters, one voice each
    assert " ".join(" ".join(t.split()) for t in texts) == spoken_text()
    for caption, text in zip(captions, texts, strict=True):
        assert 1 <= len(text.split("\n")) <= 2 and all(len(line) <= 42 for line in text.split("\n")), text
        assert caption.voice in ("Dr. Ada Marsh", "Robin Quill")
    assert [c.voice for c in captions[:2]] == ["Dr. Ada Marsh", "Robin Quill"]
    # in time order, never overlapping
    for a, b in itertools.pairwise(captions):
        assert seconds(a.end) <= seconds(b.start), (a, b)
    # the first client line (no word times: spread over its span) starts and ends with its row
    first_client = [c for c in captions if 4 <= seconds(c.start) < 9]
    assert seconds(first_client[0].start) == 4 and seconds(first_client[-1].end) == 9
    # the long sentence is split at a word boundary, each piece timed by its own words
    long = [(c, t) for c, t in zip(captions, texts, strict=True) if seconds(c.start) >= 40]
    assert len(long) == 2
    first_words = len(long[0][1].split())
    assert long[0][0].start == "00:00:40.000"
    assert seconds(long[0][0].end) == round(SPOKEN_WORDS[first_words - 1].end_s, 3)
    assert seconds(long[1][0].start) == round(SPOKEN_WORDS[first_words].start_s, 3)
    assert seconds(long[1][0].end) == round(SPOKEN_WORDS[-1].end_s, 3)
    assert long[0][1].endswith("back,") and long[1][1].startswith("because")


async def test_srt_export_names_the_speaker_within_the_first_line(sqlite_records: AppHarness) -> None:
    sid = await seeded_with_timed_words(sqlite_records)
    body, ctype, _ = await export(sqlite_records, sid, "srt")
    assert ctype.startswith("application/x-subrip")
    subtitles = list(srt.parse(body.decode("utf-8")))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert len(subtitles) > len(LINES) + 2  # long lines became several cues
    for s in subtitles:
        lines = s.content.split("\n")
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), lines
        assert lines[0].startswith(("Dr. Ada Marsh: ", "Robin Quill: "))
    for a, b in itertools.pairwise(subtitles):
        assert a.end <= b.start
    assert subtitles[1].content.startswith("Robin Quill: Honestly not great.")
    assert subtitles[1].start == timedelta(seconds=4)
    tricky = next(s for s in subtitles if s.start == timedelta(seconds=30))
    assert tricky.content == "Robin Quill: Café “quotes” &\n<b>tags</b> --> arrows"
    assert tricky.end == timedelta(seconds=33.25)


async def test_text_and_json_exports(sqlite_records: AppHarness) -> None:
    sid = await seeded_with_tricky_line(sqlite_records)
    text = (await export(sqlite_records, sid, "txt"))[0].decode("utf-8")
    assert "Participants: Dr. Ada Marsh (counselor), Robin Quill (client)" in text
    # speaker turns: the client's two sentences in a row are one paragraph, named and timed once
    paragraphs = text.split("Transcript:\n", 1)[1].strip().split("\n\n")
    assert paragraphs == [
        f"[00:00:01] Dr. Ada Marsh: {LINES[0][3]}",
        f"[00:00:04] Robin Quill: {LINES[1][3]}",
        f"[00:00:09] Dr. Ada Marsh: {LINES[2][3]}",
        f"[00:00:12] Robin Quill: {LINES[3][3]} {LINES[4][3]} {TRICKY}",
    ]
    data = json.loads((await export(sqlite_records, sid, "json"))[0])
    assert [ln["text"] for ln in data["lines"]][-1] == TRICKY
    assert data["cues"][0]["kind"] == "words.risk_language" and data["cues"][0]["evidence"]["score"] == 0.91
    assert {p["name"] for p in data["participants"]} == {"Dr. Ada Marsh", "Robin Quill"}


async def test_pdf_report_has_transcript_cues_and_charts(sqlite_records: AppHarness, tmp_path: Path) -> None:
    sid = await seeded_with_tricky_line(sqlite_records)
    body, ctype, _ = await export(sqlite_records, sid, "pdf")
    assert ctype == "application/pdf" and body.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(body))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for expected in ("Session report", "Talk time", "Cues", "Transcript", "Robin said they feel hopeless.",
                     "walks with the dog", "Robin Quill", "Café"):
        assert expected in text, expected
    # the transcript is speaker turns: the client's sentences from 00:00:12 on are one paragraph
    assert "[00:00:12] Robin Quill" in text and "[00:00:19]" not in text and "[00:00:30]" not in text
    pixels = await asyncio.to_thread(render_first_page, body, tmp_path)
    # The charts are drawn in each participant's colour: blue (counselor) and amber (client) both show.
    blue = (abs(pixels - np.array([37, 99, 235])).sum(axis=2) < 60).sum()
    amber = (abs(pixels - np.array([217, 119, 6])).sum(axis=2) < 60).sum()
    assert blue > 20 and amber > 20, (blue, amber)


async def test_export_of_an_empty_session_still_works(sqlite_records: AppHarness) -> None:
    created = await sqlite_records.new_session()
    for fmt in ("vtt", "txt", "json", "pdf"):
        body, _, _ = await export(sqlite_records, created["session_id"], fmt)
        assert body
    assert list(srt.parse((await export(sqlite_records, created["session_id"], "srt"))[0].decode())) == []
    vtt = (await export(sqlite_records, created["session_id"], "vtt"))[0].decode()
    assert webvtt.from_string(vtt).captions == []
    assert (await sqlite_records.client.get(f"/api/records/sessions/{created['session_id']}/export/docx")).status == 404


async def test_pdf_without_dejavu_falls_back_to_a_core_font(sqlite_records: AppHarness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import server.records.export

    monkeypatch.setattr(server.records.export, "DEJAVU_DIR", Path("/nonexistent-fonts"))
    sid = await seeded_with_tricky_line(sqlite_records)
    body, _, _ = await export(sqlite_records, sid, "pdf")
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(body)).pages)
    assert 'Café "quotes" & <b>tags</b> --> arrows' in text
    assert "Robin said they feel hopeless." in text
