"""Subtitle cues from stored sentences: what the WebVTT and SRT exports show, and when.

Caption practice (DCMP, BBC, Netflix timed-text guides): at most two lines of about 42 characters, one
speaker per cue, lines broken at word boundaries where the grammar breaks (after a sentence or a comma,
before a conjunction, never between an article and its noun), lines of similar length, a cue shown at
least about a second and at most about seven, and a new cue after about a second of silence.

``layout_cues`` turns sentences (one speaker each, with their words' times where the record has them)
into cues that keep to those rules:

* Consecutive sentences of one speaker are laid out as one stream of words (a turn), so two short
  sentences can share a cue instead of flashing by one after another; a silence of ``silence_split_s``
  or more always starts a new cue, and so does a change of speaker.
* Inside a stretch of speech the cut points are chosen together (dynamic programming over the words):
  few cues, cut where the grammar breaks, no cue longer than ``max_duration_s`` of speech, no cue that
  leaves a word or two alone; every cue's lines are the best of the two-line splits that fit.
* A cue starts at its first word's start and ends at its last word's end, stretched to
  ``min_duration_s`` when the next cue leaves room, cut to ``max_duration_s``; cues never overlap and
  come in time order (speakers who talk over each other get consecutive cues: the earlier one ends
  where the later one starts).
* A sentence without word times (a record older than sentences) has its time spread over its words in
  proportion to their length; a corrected sentence keeps the times of the words the correction left as
  they were, and spreads the rest over the words they replaced.
* A word longer than a line (a pasted address) is cut into pieces that fit.

The speaker label: a format that prints the name as text (SRT, "Name: ") gives it per speaker in
``labels``, and it is counted within the first line's width; a format that tags the speaker outside the
text (WebVTT ``<v Name>``) passes no label and gets the full width for words.

Pure: no I/O, times come in with the sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from analysis.events import TimedWord


@dataclass(frozen=True, slots=True)
class SubtitleSettings:
    """How cues are laid out. ``min_first_line_chars``: a label may take at most the rest of the first line."""

    max_line_chars: int = 42
    max_lines: int = 2
    min_duration_s: float = 1.0
    max_duration_s: float = 7.0
    silence_split_s: float = 1.0
    min_first_line_chars: int = 16
    min_visible_s: float = 0.2  # the least a cue is shown when a later one starts at nearly the same time


@dataclass(frozen=True, slots=True)
class SpokenSentence:
    """A stored sentence: its speaker, span, text as it reads now, and the recognised words with times
    (empty for old records). When the text was corrected, ``words`` still hold what was recognised."""

    speaker_id: str
    start_s: float
    end_s: float
    text: str
    words: tuple[TimedWord, ...] = ()


@dataclass(frozen=True, slots=True)
class SubtitleCue:
    speaker_id: str
    start_s: float
    end_s: float
    lines: tuple[str, ...]  # the words, without the label
    label: str = ""  # printed before the first line (counted in its width)

    @property
    def text_lines(self) -> tuple[str, ...]:
        return (self.label + self.lines[0], *self.lines[1:]) if self.lines else ()


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start_s: float
    end_s: float
    glued: bool = False  # a piece of a word cut to fit: no space before it on the same line


_SENTENCE_END = re.compile(r"[.?!…]+[\"')\]”’]*$")
_CLAUSE_END = re.compile(r"[,;:—–-][\"')\]”’]*$")
# Words a line or cue may start with: a break before them follows the grammar.
_CONJUNCTIONS = frozenset({
    "and", "but", "or", "nor", "so", "yet", "because", "although", "though", "unless", "until", "while",
    "whereas", "when", "whenever", "where", "if", "that", "which", "who", "whom", "whose", "since", "after",
    "before", "then", "whether", "once", "than",
})
# Words that belong with what follows: a break after them splits a phrase.
_CLINGING = frozenset({
    "a", "an", "the", "my", "your", "his", "her", "its", "our", "their", "this", "these", "those", "of", "to",
    "in", "on", "at", "for", "with", "from", "by", "into", "about", "i", "mr.", "mrs.", "ms.", "dr.", "not",
    "very", "really", "just",
})

_CUE_COST = 10.0  # what one more cue costs: fewer, fuller cues win unless the grammar asks otherwise
_SHORT_CUE_CHARS = 14
_SHORT_CUE_COST = 8.0  # a cue of a word or two when its neighbours could have taken it
_IMBALANCE_COST = 0.25  # per character of difference between the two lines
_CUE_CUT_WEIGHT = 2.0  # a cue cut mid-phrase reads worse than a line break there: the phrase waits for a new cue


def _bare(word: str) -> str:
    return word.lower().strip("\"'()[]“”‘’")


def _break_cost(before: str, after: str) -> float:
    """How badly a line or cue break between two words reads (0: at a sentence end)."""
    if _SENTENCE_END.search(before):
        return 0.0
    if _CLAUSE_END.search(before):
        return 1.0
    if _bare(after) in _CONJUNCTIONS:
        return 2.0
    if _bare(before) in _CLINGING:
        return 9.0
    return 5.0


def _glued_tokens(words: Sequence[TimedWord]) -> list[_Token]:
    """Whisper's words as they read: a glued piece ("i" ".e.") joins the word before it."""
    tokens: list[_Token] = []
    for w in words:
        text = w.text.strip()
        if not text:
            continue
        if tokens and w.glued:
            last = tokens[-1]
            tokens[-1] = _Token(last.text + text, last.start_s, max(last.end_s, w.end_s))
        else:
            tokens.append(_Token(text, w.start_s, max(w.start_s, w.end_s)))
    return tokens


def _spread(texts: Sequence[str], start_s: float, end_s: float) -> list[_Token]:
    """Times for words that have none: the span shared in proportion to each word's length."""
    if not texts:
        return []
    weights = [len(t) + 1 for t in texts]
    total = float(sum(weights))
    span = max(0.0, end_s - start_s)
    out: list[_Token] = []
    at = start_s
    for text, weight in zip(texts, weights, strict=True):
        step = span * weight / total
        out.append(_Token(text, at, at + step))
        at += step
    return out


def _timed_tokens(sentence: SpokenSentence) -> list[_Token]:
    target = sentence.text.split()
    recognised = _glued_tokens(sentence.words)
    if not recognised:
        return _spread(target, sentence.start_s, sentence.end_s)
    if [t.text for t in recognised] == target:
        return recognised
    # A corrected sentence: the words the correction kept keep their times.
    matcher = SequenceMatcher(a=[_bare(t.text) for t in recognised], b=[_bare(t) for t in target], autojunk=False)
    out: list[_Token] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [_Token(target[j1 + k], recognised[i1 + k].start_s, recognised[i1 + k].end_s)
                    for k in range(i2 - i1)]
        elif j2 > j1:  # replace or insert: spread over the words replaced, or the gap the words went into
            if i2 > i1:
                start, end = recognised[i1].start_s, recognised[i2 - 1].end_s
            else:
                start = recognised[i1 - 1].end_s if i1 else sentence.start_s
                end = recognised[i1].start_s if i1 < len(recognised) else max(start, sentence.end_s)
            out += _spread(target[j1:j2], start, max(start, end))
    return out


def _fit_pieces(token: _Token, width: int) -> list[_Token]:
    """A word longer than a line, cut into pieces that fit, its time shared by length."""
    if len(token.text) <= width:
        return [token]
    pieces = [token.text[i:i + width] for i in range(0, len(token.text), width)]
    return [_Token(t.text, t.start_s, t.end_s, glued=i > 0)
            for i, t in enumerate(_spread(pieces, token.start_s, token.end_s))]


def _join(tokens: Sequence[_Token]) -> str:
    return "".join(t.text if i == 0 or t.glued else " " + t.text for i, t in enumerate(tokens))


def _cut_cost(before: _Token, after: _Token) -> float:
    # Inside a word cut to fit, a break is where it must be (every piece but the last fills its line).
    return 0.0 if after.glued else _break_cost(before.text, after.text)


def _lines_of(tokens: Sequence[_Token], widths: Sequence[int]) -> tuple[float, tuple[str, ...]] | None:
    """The best way to set these words on at most ``len(widths)`` lines (cost, lines), or None if they do
    not fit. Two lines at most are considered (the caption rule); one line when it fits."""
    one = _join(tokens)
    if len(one) <= widths[0]:
        return 0.0, (one,)
    if len(widths) < 2:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for k in range(1, len(tokens)):
        first, second = _join(tokens[:k]), _join(tokens[k:])
        if len(first) > widths[0] or len(second) > widths[1]:
            continue
        cost = _cut_cost(tokens[k - 1], tokens[k]) + _IMBALANCE_COST * abs(len(first) - len(second))
        if best is None or cost < best[0]:
            best = (cost, (first, second))
    return best


def _stretches(tokens: Sequence[_Token], silence_s: float) -> list[list[_Token]]:
    """The turn cut at every silence that must start a new cue."""
    out: list[list[_Token]] = []
    for token in tokens:
        if out and token.start_s - out[-1][-1].end_s < silence_s:
            out[-1].append(token)
        else:
            out.append([token])
    return out


def _layout_stretch(
    tokens: Sequence[_Token], widths: Sequence[int], settings: SubtitleSettings
) -> list[tuple[float, float, tuple[str, ...]]]:
    """Cuts one stretch of speech into cues (start, end, lines) at the cheapest set of cut points."""
    n = len(tokens)
    capacity = sum(widths) + len(widths)
    inf = float("inf")
    best: list[float] = [0.0] + [inf] * n
    choice: list[tuple[int, tuple[str, ...]]] = [(0, ())] * (n + 1)
    for start in range(n):
        if best[start] == inf:
            continue
        chars = -1
        for stop in range(start + 1, n + 1):
            chars += len(tokens[stop - 1].text) + (0 if tokens[stop - 1].glued and stop - 1 > start else 1)
            if chars > capacity:
                break
            if stop - start > 1 and tokens[stop - 1].end_s - tokens[start].start_s > settings.max_duration_s:
                break
            laid = _lines_of(tokens[start:stop], widths)
            if laid is None:
                continue
            cost = best[start] + _CUE_COST + laid[0]
            if stop < n:
                cost += _CUE_CUT_WEIGHT * _cut_cost(tokens[stop - 1], tokens[stop])
            if chars < _SHORT_CUE_CHARS and not (start == 0 and stop == n):
                cost += _SHORT_CUE_COST
            if cost < best[stop]:
                best[stop] = cost
                choice[stop] = (start, laid[1])
    cues: list[tuple[float, float, tuple[str, ...]]] = []
    stop = n
    while stop > 0:
        start, lines = choice[stop]
        cues.append((tokens[start].start_s, tokens[stop - 1].end_s, lines))
        stop = start
    return cues[::-1]


def _turns(sentences: Iterable[SpokenSentence]) -> list[tuple[str, list[SpokenSentence]]]:
    turns: list[tuple[str, list[SpokenSentence]]] = []
    for sentence in sentences:
        if not sentence.text.strip():
            continue
        if turns and turns[-1][0] == sentence.speaker_id:
            turns[-1][1].append(sentence)
        else:
            turns.append((sentence.speaker_id, [sentence]))
    return turns


def _timed(cues: list[SubtitleCue], settings: SubtitleSettings) -> list[SubtitleCue]:
    """Display times: in order, never overlapping, at least the minimum when there is room, at most the
    maximum."""
    cues = sorted(cues, key=lambda c: c.start_s)
    out: list[SubtitleCue] = []
    for i, cue in enumerate(cues):
        start = cue.start_s
        if out:
            start = max(start, out[-1].end_s)
        end = max(cue.end_s, start + settings.min_duration_s)
        end = min(end, start + settings.max_duration_s)
        if i + 1 < len(cues):
            end = min(end, max(cues[i + 1].start_s, start + settings.min_visible_s))
        end = max(end, start + settings.min_visible_s)
        out.append(SubtitleCue(cue.speaker_id, round(start, 3), round(end, 3), cue.lines, cue.label))
    return out


def layout_cues(
    sentences: Iterable[SpokenSentence],
    settings: SubtitleSettings = SubtitleSettings(),
    labels: Mapping[str, str] | None = None,
) -> list[SubtitleCue]:
    """Cues for sentences in spoken order (as stored: by start time). ``labels``: per speaker id, text
    printed before each cue's first line and counted in its width (SRT's "Name: ")."""
    labels = labels or {}
    cues: list[SubtitleCue] = []
    for speaker_id, turn in _turns(sentences):
        label = labels.get(speaker_id, "")
        first = settings.max_line_chars - len(label)
        if first < settings.min_first_line_chars:
            raise ValueError(f"the label {label!r} leaves under {settings.min_first_line_chars} characters")
        widths = [first] + [settings.max_line_chars] * (settings.max_lines - 1)
        tokens = [piece for sentence in turn for token in _timed_tokens(sentence)
                  for piece in _fit_pieces(token, min(widths))]
        for stretch in _stretches(tokens, settings.silence_split_s):
            cues += [SubtitleCue(speaker_id, start, end, lines, label)
                     for start, end, lines in _layout_stretch(stretch, widths, settings)]
    return _timed(cues, settings)
