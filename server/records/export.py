"""Exports of one session record: WebVTT and SRT (speaker names), plain text, JSON, and a PDF report.

The PDF is drawn with fpdf2 (pure Python, maintained, no system libraries; its drawing primitives are
enough for the two charts, so no plotting library is needed). It embeds DejaVu Sans when the system has
it, for full Unicode; otherwise it falls back to a core font and transliterates what Latin-1 lacks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from server.records.api_models import SessionRecordReply
from server.records.read_model import SessionRecord

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
PALETTE = [(37, 99, 235), (217, 119, 6), (5, 150, 105), (190, 24, 93), (109, 40, 217), (71, 85, 105)]


_TYPOGRAPHY = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2013": "-",
                             "\u2014": "-", "\u2026": "...", "\u00b7": "-", "\u2212": "-"})


def _latin1(ch: str) -> str:
    """The character itself when the core PDF fonts have it, else its base letter, else '?'."""
    if ord(ch) < 256:
        return ch
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 256 for c in base) else "?"


@dataclass(frozen=True, slots=True)
class Export:
    body: bytes
    content_type: str
    extension: str


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _span(start: float, end: float) -> tuple[float, float]:
    # Cue end must be after its start for players and parsers.
    return start, max(end, start + 0.01)


def to_vtt(record: SessionRecord) -> Export:
    out = ["WEBVTT", ""]
    for i, review_line in enumerate(record.lines, 1):
        ln = review_line.line
        start, end = _span(ln.start_s, ln.end_s)
        speaker = _vtt_escape(_one_line(ln.speaker_name))
        text = _vtt_escape(_one_line(ln.text))
        out += [str(i), f"{_clock(start, '.')} --> {_clock(end, '.')}", f"<v {speaker}>{text}", ""]
    return Export("\n".join(out).encode("utf-8"), "text/vtt; charset=utf-8", "vtt")


def to_srt(record: SessionRecord) -> Export:
    out: list[str] = []
    for i, review_line in enumerate(record.lines, 1):
        ln = review_line.line
        start, end = _span(ln.start_s, ln.end_s)
        out += [str(i), f"{_clock(start, ',')} --> {_clock(end, ',')}",
                f"{_one_line(ln.speaker_name)}: {_one_line(ln.text)}", ""]
    return Export("\n".join(out).encode("utf-8"), "application/x-subrip; charset=utf-8", "srt")


def _header_lines(record: SessionRecord) -> list[str]:
    s = record.summary
    who = ", ".join(f"{p.name} ({p.role})" for p in s.participants) or "nobody"
    duration = "unknown" if s.duration_s is None else _clock(s.duration_s, ".")[:8]
    return [s.title, f"Date: {s.created_at:%Y-%m-%d %H:%M} UTC", f"Duration: {duration}", f"Participants: {who}"]


def to_txt(record: SessionRecord) -> Export:
    out = [*_header_lines(record), ""]
    for review_line in record.lines:
        ln = review_line.line
        out.append(f"[{_clock(ln.start_s, '.')[:8]}] {_one_line(ln.speaker_name)}: {_one_line(ln.text)}")
    return Export(("\n".join(out) + "\n").encode("utf-8"), "text/plain; charset=utf-8", "txt")


def to_json(record: SessionRecord) -> Export:
    body = SessionRecordReply.of(record).model_dump_json(indent=2)
    return Export(body.encode("utf-8"), "application/json", "json")


class _Report(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        regular, bold = DEJAVU_DIR / "DejaVuSans.ttf", DEJAVU_DIR / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            self.add_font("Body", "", str(regular))
            self.add_font("Body", "B", str(bold))
            self.family_name = "Body"
            self.unicode = True
        else:
            self.family_name = "Helvetica"
            self.unicode = False
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title("Attune session report")
        self.set_creator("Attune")

    def text_of(self, text: str) -> str:
        if self.unicode:
            return text
        return "".join(_latin1(ch) for ch in text.translate(_TYPOGRAPHY))

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family_name, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 8, self.text_of(f"Confidential counseling record · page {self.page_no()}"), align="C")
        self.set_text_color(0, 0, 0)


def _heading(pdf: _Report, text: str) -> None:
    pdf.ln(3)
    pdf.font(13, bold=True)
    pdf.cell(0, 8, pdf.text_of(text), new_x="LMARGIN", new_y="NEXT")
    pdf.font(10)


def _talk_time_chart(pdf: _Report, record: SessionRecord, colour: Callable[[str], tuple[int, int, int]]) -> None:
    _heading(pdf, "Talk time")
    width = pdf.epw - 60
    for t in record.talk_time:
        y = pdf.get_y()
        pdf.font(9)
        pdf.cell(55, 6, pdf.text_of(f"{t.name} ({t.role})"))
        pdf.set_fill_color(*colour(t.participant_id))
        pdf.rect(pdf.l_margin + 57, y + 1, max(0.5, width * t.share), 4, style="F")
        pdf.set_xy(pdf.l_margin + 57 + max(0.5, width * t.share) + 2, y)
        pdf.cell(0, 6, f"{t.share * 100:.0f}% ({t.seconds:.0f} s)", new_x="LMARGIN", new_y="NEXT")


def _sentiment_chart(pdf: _Report, record: SessionRecord, colour: Callable[[str], tuple[int, int, int]]) -> None:
    _heading(pdf, "Tone over the session (per participant, -1 negative to +1 positive)")
    x0, top, width, height = pdf.l_margin + 8, pdf.get_y() + 2, pdf.epw - 10, 45
    end = max([r.line.end_s for r in record.lines] + [c.cue.at_s for c in record.cues] + [1.0])
    pdf.set_draw_color(180, 180, 180)
    pdf.rect(x0, top, width, height)
    mid = top + height / 2
    pdf.line(x0, mid, x0 + width, mid)
    pdf.font(7)
    for label, y in (("+1", top), ("0", mid), ("-1", top + height)):
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(7, 4, label, align="R")

    def point(at_s: float, value: float) -> tuple[float, float]:
        return x0 + width * at_s / end, mid - (height / 2) * max(-1.0, min(1.0, value))

    for p in record.participants:
        points = [point((r.line.start_s + r.line.end_s) / 2, r.sentiment) for r in record.lines
                  if r.line.participant_id == p.participant_id]
        if not points:
            continue
        pdf.set_draw_color(*colour(p.participant_id))
        pdf.set_line_width(0.5)
        if len(points) > 1:
            pdf.polyline(points)
        for x, y in points:
            pdf.set_fill_color(*colour(p.participant_id))
            pdf.circle(x=x, y=y, radius=0.8, style="F")
    pdf.set_line_width(0.2)
    for c in record.cues:
        x, _ = point(c.cue.at_s, 0)
        urgent = c.cue.severity == "urgent"
        pdf.set_draw_color(*((200, 30, 30) if urgent else (120, 120, 120)))
        pdf.line(x, top, x, top + height)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(top + height + 2)
    pdf.font(8)
    for p in record.participants:
        pdf.set_fill_color(*colour(p.participant_id))
        y = pdf.get_y()
        pdf.rect(pdf.l_margin, y + 1.5, 3, 3, style="F")
        pdf.set_x(pdf.l_margin + 5)
        pdf.cell(0, 6, pdf.text_of(f"{p.name} ({p.role})"), new_x="LMARGIN", new_y="NEXT")
    if record.cues:
        pdf.cell(0, 5, "Vertical lines: cues (red: urgent).", new_x="LMARGIN", new_y="NEXT")


def to_pdf(record: SessionRecord) -> Export:
    pdf = _Report()
    pdf.add_page()
    ids = [p.participant_id for p in record.participants]

    def colour(participant_id: str) -> tuple[int, int, int]:
        index = ids.index(participant_id) if participant_id in ids else len(ids)
        return PALETTE[index % len(PALETTE)]

    pdf.font(18, bold=True)
    pdf.cell(0, 10, pdf.text_of("Session report"), new_x="LMARGIN", new_y="NEXT")
    pdf.font(10)
    for text in _header_lines(record):
        pdf.multi_cell(0, 5, pdf.text_of(text), new_x="LMARGIN", new_y="NEXT")
    _talk_time_chart(pdf, record, colour)
    _sentiment_chart(pdf, record, colour)
    _heading(pdf, "Cues")
    if not record.cues:
        pdf.multi_cell(0, 5, "No cues were raised in this session.", new_x="LMARGIN", new_y="NEXT")
    for c in record.cues:
        pdf.font(9, bold=True)
        head = f"{_clock(c.cue.at_s, '.')[:8]}  {c.cue.severity.upper()}  {record.name_of(c.cue.participant_id)}"
        pdf.multi_cell(0, 5, pdf.text_of(head), new_x="LMARGIN", new_y="NEXT")
        pdf.font(9)
        pdf.multi_cell(0, 5, pdf.text_of(f"{c.cue.sentence} ({c.cue.kind})"), new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, "Transcript")
    for review_line in record.lines:
        ln = review_line.line
        pdf.font(9, bold=True)
        pdf.multi_cell(0, 5, pdf.text_of(f"[{_clock(ln.start_s, '.')[:8]}] {_one_line(ln.speaker_name)}"
                                         + (" (corrected)" if ln.corrected else "")),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.font(10)
        pdf.multi_cell(0, 5, pdf.text_of(_one_line(ln.text)), new_x="LMARGIN", new_y="NEXT")
    return Export(bytes(pdf.output()), "application/pdf", "pdf")


FORMATS: dict[str, Callable[[SessionRecord], Export]] = {
    "vtt": to_vtt,
    "srt": to_srt,
    "txt": to_txt,
    "json": to_json,
    "pdf": to_pdf,
}
