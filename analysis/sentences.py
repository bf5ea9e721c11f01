"""Sentences from caption finals: the unit that is stored, reviewed, corrected, exported and analysed.

Caption finals settle a few words at a time so the screen keeps up with the speaker; a record made of
them is fragmented ("Sam: all the arts and" / "Sam: crafts"). ``SentenceAssembler`` joins each
speaker's settled words into sentences and says which finals each sentence is made of. A sentence ends

* at Whisper's sentence punctuation (``.``, ``?``, ``!``; not after "Mr.", "e.g." and the like; not at a
  trailing "..." or "…": Whisper writes it where the audio it heard stopped mid-sentence, a caption cut at
  a pause, and the sentence goes on with the next final, without the dots; nor at a full stop after a
  word no English sentence ends with, "to." "the." "and.", which is the cut's too),
  A full stop that ends a final is held when the caption producer says where the utterance's speech
  began and ended (``CaptionFinal.speech_start_s`` / ``speech_end_s``): Whisper ends every decode whose
  audio stopped at a breath with a full stop ("...those of the written character." / "and they
  followed them very closely."). The stop stands when the speaker's next words start a sentence (upper
  case, or after ``held_stop_pause_s`` of silence), or when the speech after it settles that long; when
  the next words go on in lower case sooner, the stop was the breath's, and becomes a comma,
* at a pause: the speaker's next settled word starts ``pause_s`` or more after the last one; or, when
  no word comes, ``advance`` learns that the speaker's speech is settled ``pause_s`` past the last word
  (without that knowledge it waits ``pause_s + settle_lag_s``: finals arrive a second or more after the
  words were said, so silence on the settled text alone is not yet a pause),
* when the speaker's turn ends: another speaker's words start after this speaker's last word,
* at a length limit for run-on speech: past ``max_words`` words or ``max_duration_s`` seconds it is cut
  at its last comma (or wherever it has reached when it has none),
* or when the caller ends the stream (``end_stream``).

While a sentence is open, every final that adds words to it gives a ``SentenceProgress`` with all its
words so far, so a text window that must see across caption cuts (crisis language) can read the open
sentence as it settles, before the sentence ends.

Pure: times are passed in (session seconds, the clock of the finals), nothing here reads a clock.
Feed finals of all the session's speakers to one assembler, in the order they were produced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from analysis.events import CaptionFinal, TimedWord

EndReason = Literal["punctuation", "pause", "turn", "length", "end"]

_SENTENCE_END = re.compile(r"[.?!…]+[\"')\]]*$")
# Whisper writes these with a full stop inside a sentence
_ABBREVIATIONS = frozenset({
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "vs.", "etc.", "e.g.", "i.e.", "a.m.", "p.m.",
    "u.s.", "no.", "mt.", "ft.", "approx.",
})
_TRAILING_OFF = re.compile(r"(\.\.\.|…)[\"')\]]*$")
# Whisper ends every decode it believes complete with a full stop, also where a pause cut a sentence
# ("but I would never want to." / "hurt myself"). After these words an English sentence goes on, so a
# full stop on them is the cut's, not the speaker's; the sentence ends at the next pause instead.
_DANGLING = frozenset({
    "a", "an", "the", "and", "but", "or", "nor", "because", "of", "to", "my", "your", "our", "their",
    "with", "from", "into", "if", "than",
})
_CUT_STOP = re.compile(r"\.[\"')\]]*$")
_SOFT_BREAK = re.compile(r"[,;:\u2014-]$")


@dataclass(frozen=True, slots=True)
class SentenceSettings:
    """Where sentences end.

    ``pause_s`` = 1.0: the caption policy already closes an utterance after 0.5 s of silence, and people
    pause that long inside sentences (breaths, hesitations). Measured on the development set (26 clips,
    offline tiny.en word times; Whisper's word times close most gaps, so real pauses are longer): of 763
    gaps between words inside a sentence, 2.4 % were >= 0.5 s, 1.6 % >= 0.8 s, 1.0 % >= 1.0 s and none
    >= 1.5 s; of 61 gaps between sentences, 80 % were >= 0.5 s and 38 % >= 1.0 s (the others end at
    their punctuation anyway). 1.0 s splits about one sentence in a hundred gaps where punctuation is
    missing; caption practice also starts a new caption after about a second of silence.
    ``max_words`` = 40 and ``max_duration_s`` = 20: about twice a long written sentence, and well inside
    what one review line and the crisis window can hold; run-on speech without punctuation is cut at its
    last comma. ``min_words``: the fewest words a sentence needs before punctuation may end it (1: a
    lone "Okay." is a sentence of its own, as a reviewer reads it).
    """

    pause_s: float = 1.0
    # After a comma, semicolon, colon or dash the speaker is inside a sentence: a pause ends it only when
    # this long (none of the 763 gaps inside sentences above was 1.5 s or more). A reader's breath at a
    # comma is about a second of silence, and the word times put the last word's end early, so at 1.0 s a
    # read LJ Speech sentence ("...those of the written character, and they followed them very closely.")
    # was cut at its comma in some runs of tests/e2e/test_transcript_sentences.py.
    soft_break_pause_s: float = 2.0
    settle_lag_s: float = 2.5  # the captions' word-to-settled-text target: later than this, no word is coming
    # A held full stop (module docstring) ends its sentence at the latest this long after its word, should
    # neither the next words nor settled silence come (a stream whose audio stopped arriving). The next
    # final after a breath came 2.6-3.7 s after the held word on a simulated 2-core machine (LJ Speech).
    hold_final_stops: bool = True
    held_stop_max_s: float = 8.0
    # The silence after a held full stop that makes it stand even when the next words go on in lower case.
    # Longer than ``pause_s``: none of the 763 gaps inside the dev set's sentences was 1.5 s or more, and
    # in a CI run the voice detector heard 1.0 s or more at a reader's breath inside a sentence
    # (tests/e2e/test_transcript_sentences.py); between that reader's sentences it hears about 1.6 s.
    held_stop_pause_s: float = 1.3
    max_words: int = 40
    max_duration_s: float = 20.0
    min_words: int = 1


@dataclass(frozen=True, slots=True)
class SentenceProgress:
    """The open sentence of a speaker after a final added words to it (not yet stored)."""

    stream_id: str
    sentence_id: int
    text: str
    words: tuple[TimedWord, ...]
    finals: tuple[int, ...]  # indices (per stream, from 0) of the finals it holds so far
    start_s: float
    end_s: float
    at_s: float

    @property
    def continued_text(self) -> str:
        """The text as words still being spoken continue it: without the dots or the full stop Whisper put
        where a caption was cut ("I just want to..." + "end it all" is one clause)."""
        if not self.words:
            return self.text
        last = self.words[-1]
        return join_words([*self.words[:-1], replace(last, text=without_cut_punctuation(last.text))])


@dataclass(frozen=True, slots=True)
class Sentence:
    """A finished sentence: what is stored. ``finals`` are the per-stream indices of the caption finals
    whose words it holds (a final cut at a sentence end belongs to both sentences)."""

    stream_id: str
    sentence_id: int
    text: str
    words: tuple[TimedWord, ...]
    finals: tuple[int, ...]
    start_s: float
    end_s: float
    at_s: float
    reason: EndReason


SentenceEvent = SentenceProgress | Sentence


def join_words(words: tuple[TimedWord, ...] | list[TimedWord]) -> str:
    parts: list[str] = []
    for i, w in enumerate(words):
        if i and not w.glued:
            parts.append(" ")
        parts.append(w.text)
    return "".join(parts).strip()


def ends_sentence(word: str) -> bool:
    """Whether Whisper's word closes a sentence ("end." "why?" "so…"), abbreviations excepted."""
    text = word.strip()
    if not _SENTENCE_END.search(text) or _left_open(text):
        return False
    return text.lower().strip("\"')]") not in _ABBREVIATIONS


def _left_open(word: str) -> bool:
    """Punctuation that Whisper put where the audio stopped, not where the sentence did."""
    if _TRAILING_OFF.search(word):
        return True
    return bool(_CUT_STOP.search(word)) and _CUT_STOP.sub("", word).lower() in _DANGLING


def cut_mid_sentence(word: str) -> bool:
    """Whether speech that stopped after ``word`` stopped mid-sentence: Whisper's trailing dots, or a word
    no English sentence ends with ("to", "the", "and"), with or without the full stop of the cut."""
    if _TRAILING_OFF.search(word):
        return True
    bare = _CUT_STOP.sub("", word.strip()).lower()
    return bare in _DANGLING


def continues_sentence(word: str) -> bool:
    """Whether a decode that starts with ``word`` goes on with the sentence before it: Whisper capitalises
    the first word of a sentence it starts, so a lower-case start (other than "i") continues one."""
    letters = word.strip().lstrip("\"'(\u201c\u2018")
    return letters[:1].islower() and not re.match(r"i(\b|')", letters)


def without_cut_punctuation(word: str) -> str:
    """``word`` without the dots or the full stop that ``ends_sentence`` did not take as a sentence end."""
    if _TRAILING_OFF.search(word):
        return _TRAILING_OFF.sub("", word) or word
    if _left_open(word):
        return _CUT_STOP.sub("", word) or word
    return word


@dataclass(slots=True)
class _Open:
    sentence_id: int
    words: list[TimedWord] = field(default_factory=list)
    finals: list[int] = field(default_factory=list)
    # Ended by a full stop that was the last word of its final, from a producer with voice-detector bounds
    # (see the module docstring): the utterance of that final, and where its speech ended when the final
    # closed it (None while it went on).
    stop_held: bool = False
    held_utterance: int = -1
    held_speech_end_s: float | None = None

    @property
    def end_s(self) -> float:
        return self.words[-1].end_s

    def release_stop(self) -> None:
        """The held full stop was a breath inside the sentence: it becomes a comma."""
        self.stop_held = False
        last = self.words[-1]
        self.words[-1] = replace(last, text=(_CUT_STOP.sub("", last.text) or last.text) + ",")


class SentenceAssembler:
    """Sentences of every speaker of one session, from their caption finals.

    ``feed(final)`` with each ``CaptionFinal`` in the order they were produced (any stream);
    ``advance(now_s)`` as time passes (ends sentences at a pause); ``end_stream(stream_id, now_s)`` when
    a speaker's stream stops (leaves, mutes, the session ends). All return sentence events.
    """

    def __init__(self, settings: SentenceSettings | None = None) -> None:
        self.settings = settings or SentenceSettings()
        self._open: dict[str, _Open] = {}
        self._final_count: dict[str, int] = {}
        self._next_sentence_id: dict[str, int] = {}

    # ---------------------------------------------------------------- input
    def feed(self, final: CaptionFinal) -> list[SentenceEvent]:
        stream = final.stream_id
        index = self._final_count.get(stream, 0)
        self._final_count[stream] = index + 1
        words = list(final.words) or _words_from_text(final)
        if not words:
            return []
        at_s = final.at_s
        events: list[SentenceEvent] = []
        # another speaker who was talking before these words began has finished their turn
        for other, others in list(self._open.items()):
            if other != stream and others.words and others.end_s <= words[0].start_s:
                events.append(self._close(other, "turn", at_s))
        previous = self._open.get(stream)
        if previous is not None and previous.stop_held:
            if self._goes_on(previous, final, words[0]):
                previous.release_stop()
            else:
                events.append(self._close(stream, "punctuation", at_s))
        elif previous is not None and words[0].start_s - previous.end_s >= self._pause_s(previous):
            events.append(self._close(stream, "pause", at_s))
        progressed = False
        for position, word in enumerate(words, 1):
            sentence = self._open.get(stream) or self._start(stream)
            if not sentence.finals or sentence.finals[-1] != index:
                sentence.finals.append(index)
            if sentence.words and _left_open(sentence.words[-1].text):
                last = sentence.words[-1]
                sentence.words[-1] = replace(last, text=without_cut_punctuation(last.text))
            sentence.words.append(word)
            progressed = True
            if ends_sentence(word.text) and len(sentence.words) >= self.settings.min_words:
                if position == len(words) and self._holds(final, word):
                    sentence.stop_held = True  # still open: the row shows it growing
                    sentence.held_utterance = final.utterance_id
                    sentence.held_speech_end_s = final.speech_end_s
                else:
                    events.append(self._close(stream, "punctuation", at_s))
                    progressed = False
            elif self._too_long(sentence):
                events.extend(self._cut_run_on(stream, index, at_s))
                progressed = bool(self._open.get(stream))
        if progressed:
            sentence = self._open[stream]
            events.append(SentenceProgress(
                stream_id=stream, sentence_id=sentence.sentence_id, text=join_words(sentence.words),
                words=tuple(sentence.words), finals=tuple(sentence.finals), start_s=sentence.words[0].start_s,
                end_s=sentence.end_s, at_s=at_s,
            ))
        return events

    def advance(self, now_s: float, settled_until_s: Mapping[str, float] | None = None) -> list[SentenceEvent]:
        """Time has reached ``now_s`` (session seconds): end sentences whose speaker has paused.

        ``settled_until_s``: per stream, the time up to which the caller knows the speaker's speech is
        settled (e.g. the caption stream has no utterance open and no decode pending: up to its audio
        clock). With it a pause is ``pause_s`` of settled silence; without it, ``pause_s + settle_lag_s``
        after the last settled word, which cuts sentences in two when the captions lag longer than that
        (measured: a loaded machine with finals 8 s late at p95).
        """
        out: list[SentenceEvent] = []
        for stream, sentence in list(self._open.items()):
            known = (settled_until_s or {}).get(stream)
            if sentence.stop_held:
                # the speech after the stop settled as a pause (the voice detector's end where known: Whisper's
                # last word often ends early), or nothing came for too long
                spoken_until = max(sentence.end_s, sentence.held_speech_end_s or sentence.end_s)
                paused = (known is not None and known - spoken_until >= self.settings.held_stop_pause_s) or (
                    now_s - sentence.end_s >= self.settings.held_stop_max_s)
            elif known is not None:
                paused = known - sentence.end_s >= self._pause_s(sentence)
            else:
                paused = now_s - sentence.end_s >= self._pause_s(sentence) + self.settings.settle_lag_s
            if paused:
                out.append(self._close(stream, "pause", now_s))
        return out

    def end_stream(self, stream_id: str, now_s: float) -> list[SentenceEvent]:
        """The speaker's stream stopped: their open sentence is finished as it is."""
        return [self._close(stream_id, "end", now_s)] if stream_id in self._open else []

    def open_sentence(self, stream_id: str) -> SentenceProgress | None:
        """The speaker's open sentence as it stands (None when there is none)."""
        sentence = self._open.get(stream_id)
        if sentence is None:
            return None
        return SentenceProgress(
            stream_id=stream_id, sentence_id=sentence.sentence_id, text=join_words(sentence.words),
            words=tuple(sentence.words), finals=tuple(sentence.finals), start_s=sentence.words[0].start_s,
            end_s=sentence.end_s, at_s=sentence.end_s,
        )

    # ---------------------------------------------------------------- internals
    def _start(self, stream: str) -> _Open:
        sentence_id = self._next_sentence_id.get(stream, 1)
        self._next_sentence_id[stream] = sentence_id + 1
        sentence = _Open(sentence_id)
        self._open[stream] = sentence
        return sentence

    def _close(self, stream: str, reason: EndReason, at_s: float) -> Sentence:
        sentence = self._open.pop(stream)
        return _finished(stream, sentence, "punctuation" if sentence.stop_held else reason, at_s)

    def _holds(self, final: CaptionFinal, word: TimedWord) -> bool:
        """Whether a full stop ending ``final`` waits for the next words (only where the producer gives the
        voice detector's bounds, which say whether a pause followed)."""
        return self.settings.hold_final_stops and final.speech_start_s is not None and bool(_CUT_STOP.search(word.text))

    def _goes_on(self, held: _Open, final: CaptionFinal, first: TimedWord) -> bool:
        """Whether ``final``, starting with ``first``, continues the sentence whose full stop is held: it
        starts in lower case, and the speaker did not pause (the voice detector heard no pause inside one
        utterance; between two, the silence between their speech is measured)."""
        if not continues_sentence(first.text):
            return False
        if final.utterance_id == held.held_utterance and held.held_speech_end_s is None:
            return True
        if final.speech_start_s is not None and held.held_speech_end_s is not None:
            silence = final.speech_start_s - held.held_speech_end_s
        else:
            silence = first.start_s - held.end_s
        return silence < self.settings.held_stop_pause_s

    def _pause_s(self, sentence: _Open) -> float:
        """The silence after this open sentence that ends it."""
        if sentence.words and _SOFT_BREAK.search(sentence.words[-1].text):
            return self.settings.soft_break_pause_s
        return self.settings.pause_s

    def _too_long(self, sentence: _Open) -> bool:
        s = self.settings
        return len(sentence.words) >= s.max_words or sentence.end_s - sentence.words[0].start_s >= s.max_duration_s

    def _cut_run_on(self, stream: str, index: int, at_s: float) -> list[SentenceEvent]:
        sentence = self._open.pop(stream)
        cut = len(sentence.words)
        for i in range(len(sentence.words) - 1, 0, -1):
            if _SOFT_BREAK.search(sentence.words[i - 1].text):
                cut = i
                break
        head, tail = sentence.words[:cut], sentence.words[cut:]
        finished = _Open(sentence.sentence_id, head, list(sentence.finals))
        if tail:
            # the rest starts the next sentence; it came from the current final
            rest = self._start(stream)
            rest.words.extend(tail)
            rest.finals.append(index)
        return [_finished(stream, finished, "length", at_s)]


def _finished(stream: str, sentence: _Open, reason: EndReason, at_s: float) -> Sentence:
    words = tuple(sentence.words)
    return Sentence(
        stream_id=stream, sentence_id=sentence.sentence_id, text=join_words(words), words=words,
        finals=tuple(sentence.finals), start_s=words[0].start_s, end_s=words[-1].end_s, at_s=at_s, reason=reason,
    )


def _words_from_text(final: CaptionFinal) -> list[TimedWord]:
    """A final without word times: spread its words evenly over its span (older producers, tests)."""
    texts = final.text.split()
    if not texts:
        return []
    step = (final.end_s - final.start_s) / len(texts)
    return [
        TimedWord(t, final.start_s + i * step, final.start_s + (i + 1) * step) for i, t in enumerate(texts)
    ]
