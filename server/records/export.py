"""Exports of one session record: WebVTT and SRT (speaker names), plain text, JSON, and a PDF report.

WebVTT and SRT are caption cues laid out by ``analysis.subtitles``: at most two lines of 42 characters,
one speaker per cue, timed to the recognised words. WebVTT names the speaker in a voice tag (``<v Name>``,
outside the text, so the lines keep their width); SRT has no such tag and starts the first line with
"Name: ", counted within its 42 characters. Plain text and the PDF give the transcript as speaker turns:
one paragraph per run of one speaker's sentences, with the name and start time once.

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

from analysis.subtitles import SpokenSentence, SubtitleCue, layout_cues
from server.records.api_models import SessionRecordReply
from server.records.labels import kind_label, severity_label
from server.records.models import ConsentEvent
from server.records.read_model import ConsentGap, ReviewLine, SessionRecord

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


def _srt_label(name: str) -> str:
    # SRT prints the name as text on the first line, within its 42 characters: a long name is shortened so
    # at least 20 are left for words.
    name = _one_line(name) or "?"
    return (name if len(name) <= 20 else name[:19] + "…") + ": "


def subtitle_cues(record: SessionRecord, *, labelled: bool) -> list[SubtitleCue]:
    """The record's sentences as caption cues (``analysis.subtitles``): two lines of 42 characters at most,
    one speaker each, timed to the words. ``labelled``: the speaker's name is part of the first line."""
    lines = [r.line for r in record.lines]
    sentences = [SpokenSentence(ln.participant_id, ln.start_s, ln.end_s, _one_line(ln.text), ln.words)
                 for ln in lines]
    labels = {ln.participant_id: _srt_label(ln.speaker_name) for ln in lines} if labelled else None
    return layout_cues(sentences, labels=labels)


def to_vtt(record: SessionRecord) -> Export:
    # The speaker is a voice tag (<v Name>), outside the text: players style or list it, the lines keep
    # their full width for words.
    names = {r.line.participant_id: _vtt_escape(_one_line(r.line.speaker_name)) for r in record.lines}
    out = ["WEBVTT", ""]
    for i, cue in enumerate(subtitle_cues(record, labelled=False), 1):
        text = "\n".join(_vtt_escape(line) for line in cue.lines)
        out += [str(i), f"{_clock(cue.start_s, '.')} --> {_clock(cue.end_s, '.')}",
                f"<v {names[cue.speaker_id]}>{text}", ""]
    return Export("\n".join(out).encode("utf-8"), "text/vtt; charset=utf-8", "vtt")


def to_srt(record: SessionRecord) -> Export:
    out: list[str] = []
    for i, cue in enumerate(subtitle_cues(record, labelled=True), 1):
        out += [str(i), f"{_clock(cue.start_s, ',')} --> {_clock(cue.end_s, ',')}", *cue.text_lines, ""]
    return Export("\n".join(out).encode("utf-8"), "application/x-subrip; charset=utf-8", "srt")


def _header_lines(record: SessionRecord) -> list[str]:
    s = record.summary
    who = ", ".join(f"{p.name} ({p.role})" for p in s.participants) or "nobody"
    duration = "unknown" if s.duration_s is None else _clock(s.duration_s, ".")[:8]
    return [s.title, f"Date: {s.created_at:%Y-%m-%d %H:%M} UTC", f"Duration: {duration}", f"Participants: {who}"]


def _short_clock(seconds: float) -> str:
    return _clock(seconds, ".")[:8]


_DECISION_WORDS = {"granted": "agreed to", "declined": "declined", "withdrawn": "stopped"}


def consent_sentences(record: SessionRecord) -> list[tuple[ConsentEvent, str]]:
    """Every decision in words, in order: "Sam stopped captions and cues", "Sam agreed again to captions and
    cues" (the counselor's are about their own speech)."""
    out: list[tuple[ConsentEvent, str]] = []
    decided: set[str] = set()
    for event in record.consent_events:
        name = _one_line(record.name_of(event.participant_id))
        again = event.state == "granted" and event.participant_id in decided
        decided.add(event.participant_id)
        if event.role == "counselor":
            what = {"granted": "turned captioning of their own speech back on" if again
                    else "had their own speech captioned",
                    "declined": "chose not to caption their own speech",
                    "withdrawn": "stopped captioning their own speech"}.get(event.state, event.state)
        else:
            what = "agreed again to" if again else _DECISION_WORDS.get(event.state, event.state)
            what += " captions and cues"
        out.append((event, f"{name} {what}"))
    return out


def gap_sentence(record: SessionRecord, gap: ConsentGap) -> str:
    """Why the transcript has a gap: "Analysis off: Sam stopped captions and cues; nothing Sam said was
    transcribed until 00:00:31, when they agreed again." """
    name = _one_line(record.name_of(gap.participant_id))
    if gap.role == "counselor":
        until = "from here on" if gap.end_s is None else f"until {_short_clock(gap.end_s)}"
        return f"Captioning off: {name}'s own speech was not transcribed {until}."
    start = "declined captions and cues" if gap.state == "declined" else "stopped captions and cues"
    until = "from here on" if gap.end_s is None else f"until {_short_clock(gap.end_s)}, when they agreed again"
    return f"Analysis off: {name} {start}; nothing {name} said was transcribed {until}."


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """Consecutive sentences of one speaker, read as one paragraph: the name and start time once."""

    participant_id: str
    speaker_name: str
    start_s: float
    text: str
    corrected: bool  # a counselor corrected at least one of its sentences


def _with_gaps(record: SessionRecord) -> list[ReviewLine | ConsentGap]:
    """Transcript lines with a note where analysis went off for someone, in time order."""
    items: list[ReviewLine | ConsentGap] = list(record.lines)
    for gap in record.consent_gaps():
        index = next((i for i, item in enumerate(items) if _starts(item) > gap.start_s), len(items))
        items.insert(index, gap)
    return items


def speaker_turns(record: SessionRecord) -> list[SpeakerTurn | ConsentGap]:
    """The transcript as speaker turns, with the notes on where analysis went off (a note ends a turn)."""
    out: list[SpeakerTurn | ConsentGap] = []
    for item in _with_gaps(record):
        if isinstance(item, ConsentGap):
            out.append(item)
            continue
        ln = item.line
        text = _one_line(ln.text)
        if not text:
            continue
        last = out[-1] if out else None
        if isinstance(last, SpeakerTurn) and last.participant_id == ln.participant_id:
            out[-1] = SpeakerTurn(last.participant_id, last.speaker_name, last.start_s, f"{last.text} {text}",
                                  last.corrected or ln.corrected)
        else:
            out.append(SpeakerTurn(ln.participant_id, _one_line(ln.speaker_name), ln.start_s, text, ln.corrected))
    return out


def _starts(item: ReviewLine | ConsentGap) -> float:
    return item.start_s if isinstance(item, ConsentGap) else item.line.start_s


def to_txt(record: SessionRecord) -> Export:
    out = [*_header_lines(record), ""]
    if record.consent_events:
        out.append("Consent history:")
        out += [f"  [{_short_clock(e.at_s)}] {sentence} (consent text {e.version})"
                for e, sentence in consent_sentences(record)]
        out.append("")
    if record.notes:
        out.append("Private notes:")
        for note in record.notes:
            out.append(f"  {note.created_at:%Y-%m-%d %H:%M} UTC")
            out += [f"    {line}" if line else "" for line in note.text.splitlines()]
        out.append("")
    out.append("Transcript:")
    # One paragraph per speaker turn, a blank line between: editors wrap them, and copying keeps sentences.
    for item in speaker_turns(record):
        out.append("")
        if isinstance(item, ConsentGap):
            out.append(f"[{_short_clock(item.start_s)}] -- {gap_sentence(record, item)}")
        else:
            out.append(f"[{_short_clock(item.start_s)}] {item.speaker_name}: {item.text}")
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


def _tint(rgb: tuple[int, int, int], strength: float = 0.2) -> tuple[int, int, int]:
    """The colour mixed into white: a shade light enough that lines drawn over it stay readable."""
    r, g, b = (round(255 - (255 - c) * strength) for c in rgb)
    return r, g, b


def _client_gaps(record: SessionRecord) -> list[ConsentGap]:
    # A counselor who does not caption their own speech is a choice about themselves, not a gap in the
    # client's record: only clients' stretches are shaded (the transcript notes both).
    return [g for g in record.consent_gaps() if g.role != "counselor"]


def _sentiment_chart(pdf: _Report, record: SessionRecord, colour: Callable[[str], tuple[int, int, int]]) -> None:
    _heading(pdf, "Tone over the session (per participant, -1 negative to +1 positive)")
    x0, top, width, height = pdf.l_margin + 8, pdf.get_y() + 2, pdf.epw - 10, 45
    gaps = _client_gaps(record)
    # The axis spans lines, cues and consent decisions, and the whole session when its length is known: a
    # stretch with captions off has no lines, and its shading must not be squeezed against the edge.
    duration = record.summary.duration_s if record.summary.ended_at is not None else None
    end = max([r.line.end_s for r in record.lines] + [c.cue.at_s for c in record.cues]
              + [e.at_s for e in record.consent_events] + [duration or 0.0, 1.0])
    # Stretches in which a client had captions and cues off, shaded first so the lines are drawn over them.
    for gap in gaps:
        start_x = x0 + width * gap.start_s / end
        stop_x = x0 + width * (gap.end_s if gap.end_s is not None else end) / end
        pdf.set_fill_color(*_tint(colour(gap.participant_id)))
        pdf.rect(start_x, top, max(0.8, stop_x - start_x), height, style="F")
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
    if gaps:
        pdf.multi_cell(0, 5, pdf.text_of("Shaded: stretches in which a client had captions and cues off, so "
                                         "nothing they said was transcribed or analysed."),
                       new_x="LMARGIN", new_y="NEXT")


def _consent_history(pdf: _Report, record: SessionRecord) -> None:
    _heading(pdf, "Consent history")
    if not record.consent_events:
        pdf.multi_cell(0, 5, "No decisions were recorded.", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.font(9)
    for event, sentence in consent_sentences(record):
        text = f"{_short_clock(event.at_s)}  {sentence} (consent text {event.version})"
        pdf.multi_cell(0, 5, pdf.text_of(text), align="L", new_x="LMARGIN", new_y="NEXT")


def _notes(pdf: _Report, record: SessionRecord) -> None:
    _heading(pdf, "Private notes")
    if not record.notes:
        pdf.multi_cell(0, 5, "No notes.", new_x="LMARGIN", new_y="NEXT")
        return
    for note in record.notes:
        pdf.font(9, bold=True)
        pdf.multi_cell(0, 5, pdf.text_of(f"{note.created_at:%Y-%m-%d %H:%M} UTC"), new_x="LMARGIN", new_y="NEXT")
        pdf.font(10)
        pdf.multi_cell(0, 5, pdf.text_of(note.text), new_x="LMARGIN", new_y="NEXT")


def _keep_together(pdf: _Report, text: str, max_lines: int = 6, extra_h: float = 0.0) -> None:
    """A new page first when the text's first ``max_lines`` lines (and ``extra_h`` above them) would not fit
    on this one: a short note is not split by a page break, a heading stays with its paragraph."""
    lines = pdf.multi_cell(0, 5, text, dry_run=True, output="LINES")
    count = len(lines) if isinstance(lines, list) else 1
    if pdf.will_page_break(extra_h + 5 * min(max_lines, max(1, count))):
        pdf.add_page()


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
    _consent_history(pdf, record)
    _heading(pdf, "Cues")
    if not record.cues:
        pdf.multi_cell(0, 5, "No cues were raised in this session.", new_x="LMARGIN", new_y="NEXT")
    for c in record.cues:
        pdf.font(9, bold=True)
        who = "Everyone" if c.cue.participant_id == "session" else record.name_of(c.cue.participant_id)
        head = f"{_short_clock(c.cue.at_s)}  {severity_label(c.cue.severity)}  ·  {kind_label(c.cue.kind)}  ·  {who}"
        pdf.multi_cell(0, 5, pdf.text_of(head), new_x="LMARGIN", new_y="NEXT")
        pdf.font(9)
        pdf.multi_cell(0, 5, pdf.text_of(c.cue.sentence), new_x="LMARGIN", new_y="NEXT")
    _notes(pdf, record)
    _heading(pdf, "Transcript")
    for item in speaker_turns(record):
        if isinstance(item, ConsentGap):
            # Where analysis went off, the report says so: the silence that follows is explained.
            pdf.font(9)
            pdf.set_text_color(90, 90, 90)
            note = pdf.text_of(f"[{_short_clock(item.start_s)}] {gap_sentence(record, item)}")
            _keep_together(pdf, note)
            pdf.multi_cell(0, 5, note, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
            continue
        # A speaker's name never ends a page without the start of what they said.
        pdf.font(10)
        _keep_together(pdf, pdf.text_of(item.text), max_lines=2, extra_h=5)
        pdf.font(9, bold=True)
        pdf.multi_cell(0, 5, pdf.text_of(f"[{_short_clock(item.start_s)}] {item.speaker_name}"
                                         + (" (corrected)" if item.corrected else "")),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.font(10)
        pdf.multi_cell(0, 5, pdf.text_of(item.text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    return Export(bytes(pdf.output()), "application/pdf", "pdf")


FORMATS: dict[str, Callable[[SessionRecord], Export]] = {
    "vtt": to_vtt,
    "srt": to_srt,
    "txt": to_txt,
    "json": to_json,
    "pdf": to_pdf,
}
