"""A second pass over each speaker's turn: the stored sentences, decoded again with their neighbours.

Live captions decode each utterance on its own, as it is spoken; Whisper does better with the sentences
around a word (measured on the development set: the same VAD utterances decoded one by one scored 33.5 %
WER against 24.9 % for the whole clips, and the past alone as context did not help: the future matters
too). So once a speaker's turn is over (they paused ``turn_pause_s``, someone else spoke, their stream
ended, or the turn reached ``max_turn_s``), the turn's audio is decoded once more as a whole, and its
words replace the words of the turn's stored sentences. The rows keep their ids, so cues and corrections
stay attached; captions already shown are not touched.

``TurnTracker.feed(sentence)`` with each finished sentence and ``advance(settled_until_s)`` as time passes
return the turns to revise; ``revised_sentences`` shares a turn's new words out among its sentences, or
says the new decode is not to be trusted. Pure: times are passed in.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.captions import word_key
from analysis.events import TimedWord
from analysis.sentences import Sentence, join_words


@dataclass(frozen=True, slots=True)
class RevisionSettings:
    """``turn_pause_s``: settled silence after which a turn is over (longer than the sentence pause, so a
    turn holds the sentences said in one breath group). ``max_turn_s``: Whisper's window is 30 s; the
    audio sent is the turn plus ``pad_s`` either side. ``min_similarity``: the new words must resemble the
    old ones this much (word-level ratio) or the revision is refused (a hallucination the guards did not
    catch). It is low because the first pass is the one more often wrong: where a speaker is hard to
    understand, live captions loop and stray ("what's your name, what's your name"), and a sound second
    pass of the same audio resembles them less than half (dev: 0.48 and 0.49 for two such turns, whose
    second passes matched the offline decode). ``min_word_ratio``: the new words must number this share of
    the old ones at least, or the second pass lost part of its window.
    """

    turn_pause_s: float = 4.0
    max_turn_s: float = 24.0
    pad_s: float = 1.0
    min_similarity: float = 0.3
    min_word_ratio: float = 0.6
    # words of the second pass set this far outside the turn's first and last word belong to its neighbours
    # (the padding holds silence, or the end of the speaker's previous words)
    outside_s: float = 0.5


@dataclass(frozen=True, slots=True)
class TurnToRevise:
    """A finished turn of one speaker: its sentences (ids of the sentence assembler) and its span."""

    stream_id: str
    sentence_ids: tuple[int, ...]
    start_s: float
    end_s: float

    def audio_span(self, pad_s: float) -> tuple[float, float]:
        return max(0.0, self.start_s - pad_s), self.end_s + pad_s


@dataclass(slots=True)
class _Turn:
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def start_s(self) -> float:
        return self.sentences[0].start_s

    @property
    def end_s(self) -> float:
        return self.sentences[-1].end_s


class TurnTracker:
    """Groups each speaker's finished sentences into turns and says when a turn is over."""

    def __init__(self, settings: RevisionSettings | None = None) -> None:
        self.settings = settings or RevisionSettings()
        self._turns: dict[str, _Turn] = {}

    def feed(self, sentence: Sentence) -> list[TurnToRevise]:
        out: list[TurnToRevise] = []
        # another speaker's sentence that began after a turn ended closes that turn
        for other, others in list(self._turns.items()):
            if other != sentence.stream_id and others.end_s <= sentence.start_s:
                out.append(self._close(other))
        own = self._turns.get(sentence.stream_id)
        if own is not None and (
            sentence.start_s - own.end_s >= self.settings.turn_pause_s
            or sentence.end_s - own.start_s > self.settings.max_turn_s
        ):
            out.append(self._close(sentence.stream_id))
        self._turns.setdefault(sentence.stream_id, _Turn()).sentences.append(sentence)
        if sentence.reason == "end":
            out.append(self._close(sentence.stream_id))
        return out

    def advance(
        self, settled_until_s: Mapping[str, float], open_start_s: Mapping[str, float] | None = None
    ) -> list[TurnToRevise]:
        """``settled_until_s``: per stream, the time up to which its speech is settled. ``open_start_s``: per
        stream, where the speaker's unfinished sentence began, if they have one: its words are settled too,
        so settled time alone would end a turn 4 s into every sentence after its first, and the turn would
        be decoded without the sentences that follow it. A turn goes on while its speaker's next sentence
        began within the pause; it ends when the sentence would make it longer than ``max_turn_s``."""
        out: list[TurnToRevise] = []
        opened = open_start_s or {}
        for stream, turn in list(self._turns.items()):
            known = settled_until_s.get(stream)
            if known is None:
                continue
            began = opened.get(stream)
            s = self.settings
            if began is not None and began > turn.end_s:
                over = began - turn.end_s >= s.turn_pause_s or known - turn.start_s > s.max_turn_s
            else:
                over = known - turn.end_s >= s.turn_pause_s
            if over:
                out.append(self._close(stream))
        return out

    def end_stream(self, stream_id: str) -> list[TurnToRevise]:
        return [self._close(stream_id)] if stream_id in self._turns else []

    def _close(self, stream: str) -> TurnToRevise:
        turn = self._turns.pop(stream)
        return TurnToRevise(stream, tuple(s.sentence_id for s in turn.sentences), turn.start_s, turn.end_s)


@dataclass(frozen=True, slots=True)
class StoredSentence:
    """A sentence of the turn as stored: its row and its words (session seconds)."""

    line_id: int
    words: tuple[TimedWord, ...]

    @property
    def start_s(self) -> float:
        return self.words[0].start_s

    @property
    def end_s(self) -> float:
        return self.words[-1].end_s


@dataclass(frozen=True, slots=True)
class RevisedSentence:
    line_id: int
    text: str
    words: tuple[TimedWord, ...]


def similarity(old: Sequence[TimedWord], new: Sequence[TimedWord]) -> float:
    """Word-level similarity of two transcripts of the same audio, 0..1 (difflib's ratio on word keys)."""
    return _aligned(_keys(old), _keys(new)).ratio()  # 1.0 for two empty transcripts


def _keys(words: Sequence[TimedWord]) -> list[str]:
    return [word_key(w.text) for w in words]


def _aligned(old_keys: Sequence[str], new_keys: Sequence[str]) -> difflib.SequenceMatcher[str]:
    """The two passes aligned word by word; the matcher caches its matching blocks, so the gate's ratio and
    the sharing out of words use one alignment."""
    return difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)


def _middle(word: TimedWord) -> float:
    return (word.start_s + word.end_s) / 2


def without_trailing_insertions(old: Sequence[TimedWord], new: Sequence[TimedWord]) -> list[TimedWord]:
    """The second pass's words less those it adds after the first pass's last word, past its end. The
    padding after a turn is there so Whisper hears the last word whole; when the turn was cut at its length
    while the speaker went on, it holds the next sentence's first word, decoded again as that sentence's
    ("...types. That" and then "That the forms..."). Words before the first pass's first word stay: there
    the second pass hears the onsets the first pass lost (dev: "you going to have another drink?" where
    the captions had "going to have...")."""
    return _without_trailing_insertions(old, new, _aligned(_keys(old), _keys(new)))


def _without_trailing_insertions(
    old: Sequence[TimedWord], new: Sequence[TimedWord], alignment: difflib.SequenceMatcher[str]
) -> list[TimedWord]:
    ops = alignment.get_opcodes()
    if not old or not ops or ops[-1][0] != "insert":
        return list(new)
    first_added = ops[-1][3]
    end = next((j for j in range(first_added, len(new)) if _middle(new[j]) > old[-1].end_s), len(new))
    return list(new[:end])


def _shared_out(
    stored: Sequence[StoredSentence], new: Sequence[TimedWord], alignment: difflib.SequenceMatcher[str],
    bounds: Sequence[float],
) -> list[list[TimedWord]]:
    """Each new word goes to the sentence of the old word it stands for (the two passes aligned word by word):
    Whisper's word times stretch across pauses, so at a sentence boundary time alone gives "That" of the
    next sentence to the one before. A word with no old counterpart goes by its time (``bounds``: the
    middles of the gaps between sentences), between the sentences of the old words either side of it."""
    sentence_of = [k for k, sentence in enumerate(stored) for _ in sentence.words]
    old_count = len(sentence_of)
    shares: list[list[TimedWord]] = [[] for _ in stored]
    for tag, i1, i2, j1, j2 in alignment.get_opcodes():
        for j in range(j1, j2):
            if tag in ("equal", "replace"):
                k = sentence_of[i1 + (j - j1) * (i2 - i1) // (j2 - j1)]
            elif tag == "insert":
                lowest = sentence_of[i1 - 1] if i1 > 0 else 0
                highest = sentence_of[i1] if i1 < old_count else len(stored) - 1
                by_time = sum(1 for bound in bounds if _middle(new[j]) >= bound)
                k = min(max(by_time, lowest), highest)
            else:  # "delete" holds no new words
                continue
            shares[k].append(new[j])
    return shares


def revised_sentences(
    stored: Sequence[StoredSentence], new_words: Sequence[TimedWord], settings: RevisionSettings | None = None
) -> list[RevisedSentence] | None:
    """The turn's sentences with the second pass's words, each word going to the sentence of the first-pass
    word it stands for (``_shared_out``). None when the second pass is not to be trusted: no words, too few
    (``min_word_ratio``) or too unlike the first (``min_similarity``). Sentences whose words did not change
    are left out; a sentence that would be left without words keeps its own.
    """
    s = settings or RevisionSettings()
    stored = sorted((x for x in stored if x.words), key=lambda x: x.start_s)
    if not stored or not new_words:
        return None
    first, last = stored[0].start_s - s.outside_s, stored[-1].end_s + s.outside_s
    new_words = [w for w in new_words if first <= (w.start_s + w.end_s) / 2 <= last]
    if not new_words:
        return None
    bounds = [(a.end_s + b.start_s) / 2 for a, b in itertools.pairwise(stored)]
    old_words = [w for x in stored for w in x.words]
    old_keys = _keys(old_words)
    new_words = _without_trailing_insertions(old_words, new_words, _aligned(old_keys, _keys(new_words)))
    alignment = _aligned(old_keys, _keys(new_words))  # again: the trimmed tail can move the matching blocks
    if len(new_words) < s.min_word_ratio * len(old_words) or alignment.ratio() < s.min_similarity:
        return None
    shares = _shared_out(stored, new_words, alignment, bounds)
    out: list[RevisedSentence] = []
    for sentence, share in zip(stored, shares, strict=True):
        if not share:
            continue
        if [w.text for w in share] == [w.text for w in sentence.words]:
            continue
        out.append(RevisedSentence(sentence.line_id, join_words(share), tuple(share)))
    return out
