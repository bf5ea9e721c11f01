"""Streaming caption policy: turns one speaker's audio, VAD and Whisper hypotheses into caption events.

Pure: no model calls, no clock, no I/O. The caller (``server.captioning.CaptionStream`` or a bench)
feeds audio with its VAD speech probabilities, asks for decode requests, runs them on a model and
hands the results back. Time is the stream clock: samples fed so far / 16000.

Policy (measured against plain LocalAgreement-2 in ``bench.captions_sim``):

* VAD gating: nothing is decoded until Silero VAD hears speech; an utterance closes after
  ``endpoint_silence_s`` of silence, so silence and noise cost nothing and produce nothing.
* While someone speaks, the utterance buffer is re-decoded (beam search in a short encoder window,
  cheap) whenever enough new audio arrived and no decode of this stream is in flight; a word becomes
  *stable* once two consecutive hypotheses agree on it (LocalAgreement-2) with ``tail_guard_s`` of
  audio after it. Stable words are turned into finals at sentence ends, or once they have waited
  ``final_hold_s`` (so long speech still settles within about a second of agreement).
* Partials are decoded in a single pass (faster-whisper's second pass after the last word is skipped);
  under load the caller asks for tail partials: only the audio from the last settled word on, prompted
  with the settled words (``partial_tail``).
* At the endpoint, the closed utterance is decoded once more in Whisper's full 30 s window (or with
  ``final_window_pad_s`` of silence after it); its words after the stable ones complete the last final
  line.
* The buffer is trimmed at the end of finalised words once it grows past ``max_buffer_s``; the
  prompt is the utterance's own settled text before the trimmed buffer (short). Earlier utterances
  are not used as prompt (measured, they make Whisper append "Thank you." and the like), except a
  sentence the speaker left unfinished less than ``carry_prompt_gap_s`` before going on.
* Hallucination guard: segments with Whisper's no-speech signature, a very low average log
  probability or a high compression ratio are dropped; runs of repeated n-grams are cut; words that
  start after the VAD stopped hearing speech are dropped; a new utterance whose first line repeats
  recent text word for word (5+ words) is dropped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from analysis.events import CaptionEvent, CaptionFinal, CaptionPartial, TimedWord
from analysis.sentences import cut_mid_sentence, ends_sentence, without_cut_punctuation

SAMPLE_RATE = 16000
VAD_WINDOW_SAMPLES = 512
VAD_WINDOW_S = VAD_WINDOW_SAMPLES / SAMPLE_RATE
WHISPER_WINDOW_S = 30.0

AudioF32 = npt.NDArray[np.float32]


# --------------------------------------------------------------------------------------------------
# Model results (what a transcriber returns; times relative to the start of the decoded audio)


@dataclass(frozen=True, slots=True)
class AsrWord:
    """One recognised word. ``start_s``/``end_s`` are seconds from the start of the decoded audio."""

    text: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True, slots=True)
class AsrSegment:
    """One Whisper segment with the signals the hallucination guard needs.

    ``avg_logprob``: mean token log probability; ``no_speech_prob``: probability of the no-speech
    token; ``compression_ratio``: gzip ratio of the text (high means repetitive).
    """

    text: str
    start_s: float
    end_s: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: tuple[AsrWord, ...]


@dataclass(frozen=True, slots=True)
class TranscriptionResult:
    """Everything one decode of one audio buffer returned."""

    segments: tuple[AsrSegment, ...]
    language: str
    duration_s: float

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "duration_s": self.duration_s,
            "segments": [
                {
                    "text": s.text,
                    "start_s": s.start_s,
                    "end_s": s.end_s,
                    "avg_logprob": s.avg_logprob,
                    "no_speech_prob": s.no_speech_prob,
                    "compression_ratio": s.compression_ratio,
                    "words": [[w.text, w.start_s, w.end_s, w.probability] for w in s.words],
                }
                for s in self.segments
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TranscriptionResult:
        return cls(
            segments=tuple(
                AsrSegment(
                    text=str(s["text"]),
                    start_s=float(s["start_s"]),
                    end_s=float(s["end_s"]),
                    avg_logprob=float(s["avg_logprob"]),
                    no_speech_prob=float(s["no_speech_prob"]),
                    compression_ratio=float(s["compression_ratio"]),
                    words=tuple(
                        AsrWord(str(w[0]), float(w[1]), float(w[2]), float(w[3])) for w in s["words"]
                    ),
                )
                for s in data["segments"]
            ),
            language=str(data["language"]),
            duration_s=float(data["duration_s"]),
        )


DecodeKind = Literal["partial", "final"]


@dataclass(frozen=True, slots=True, eq=False)
class DecodeRequest:
    """Audio the policy wants decoded. ``start_s`` is the stream time of ``audio[0]``."""

    request_id: int
    kind: DecodeKind
    utterance_id: int
    audio: AudioF32
    start_s: float
    prompt: str
    beam_size: int
    speech_end_s: float = float("inf")  # stream time the VAD last heard speech in this audio
    window_s: float | None = None  # encoder window to decode in; None: Whisper's full 30 s
    # A tail partial (``partial_tail``) decodes only the audio from the utterance's last settled word on,
    # with the settled text as prompt: this is the stream time where the utterance's buffer starts (what a
    # whole-buffer decode would have covered). None: ``audio`` is the whole buffer.
    context_start_s: float | None = None
    single_pass: bool = False  # decode the audio once (``partial_single_pass``), not again from its last word on

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.audio) / SAMPLE_RATE

    @property
    def span_s(self) -> float:
        """Seconds of the utterance's buffer this decode stands for (its own audio, or for a tail partial
        the buffer from its start up to the end of the audio)."""
        start = self.start_s if self.context_start_s is None else self.context_start_s
        return self.end_s - start


@dataclass(frozen=True, slots=True)
class CaptionPolicySettings:
    # VAD (Silero probabilities per 32 ms window)
    vad_threshold: float = 0.5
    vad_neg_threshold: float = 0.35
    speech_start_s: float = 0.096  # consecutive speech needed to open an utterance
    pre_roll_s: float = 0.3  # audio kept before the detected speech start
    endpoint_silence_s: float = 0.5  # silence that closes an utterance
    post_pad_s: float = 0.2  # audio kept after the last speech window
    min_utterance_speech_s: float = 0.25  # shorter blips are dropped without decoding
    # scheduling
    first_partial_s: float = 0.6  # speech needed before the first partial decode
    partial_step_s: float = 0.35  # new audio needed between partial decodes
    partial_beam_size: int = 5
    # Partials decode in an encoder window just longer than their audio instead of Whisper's 30 s: the
    # encoder is ~90% of a tiny.en decode and its cost falls with the window (one core: 0.34 s for 30 s,
    # 0.02-0.04 s for 6-10 s), which makes beam search affordable for every partial (bench.captions:
    # lower WER than greedy, at half the CPU of greedy 30 s decodes). In a short window Whisper may loop
    # or add a stock ending: the transcriber caps a windowed decode's tokens, and the tail guard, the
    # repetition cut and the VAD speech end drop the rest. Finals get more room (below). None: partials
    # use the full window too.
    partial_window_pad_s: float | None = 1.0  # window = audio + this, rounded up to whole seconds
    partial_window_min_s: float = 5.0
    # Tail partials: a partial decodes only the audio from the start of the utterance's last settled word
    # on (stable or final words: they never change), prompted with the settled words before it, instead of
    # the whole utterance buffer. Whisper's cost is mostly the decoder generating tokens (~9 ms per token on
    # one core, beam 5), and a whole-buffer partial re-generates every settled word at each step; a tail
    # partial generates only the last settled word again (it overlaps, so the tail joins the settled text
    # by the usual time and n-gram match) and the still tentative words, in a short encoder window. Finals
    # keep the whole buffer. The server asks for it per request when the pool is under load
    # (``next_request(tail_partial=True)``, ``server.live.load.PoolLoad.tail_partials``); True: always.
    partial_tail: bool = False
    partial_tail_lead_s: float = 0.1  # audio kept before the last settled word's start
    partial_tail_min_skip_s: float = 1.0  # a tail that would skip less than this decodes the whole buffer
    # With word timestamps faster-whisper moves on to the last word's end and decodes the rest of the audio
    # again (a second encode and generate): a partial's audio ends mid-speech, and 18 of 40 partial-like
    # cuts of dev clips paid for two or three decodes, the later ones over the last fraction of a second
    # (words the tail guard does not agree anyway and the next partial hears again). True: partials stop
    # after the first pass. Finals keep faster-whisper's behaviour (their audio ends in silence well inside
    # their window: one pass).
    partial_single_pass: bool = True
    tail_guard_s: float = 0.6  # words ending this close to the end of a partial's audio are not agreed
    # LocalAgreement-2 commits whatever two hypotheses agree on, including a hypothesis that skipped
    # words: Whisper drops a word before a pause or an utterance's first words now and then, the words
    # after it are agreed, and the skipped ones can never come back (bench.captions on unseen speech: an
    # utterance lost its first four words). A word is agreed only if the VAD heard no more than this
    # much speech between the committed words (or the utterance's start) and it; otherwise the words
    # wait for the next hypotheses; once hypotheses have left the gap for ``max_gap_wait_s`` of audio
    # (Whisper's word times can put a word's start late, and the VAD hears a word's onset and fade), the
    # words are agreed anyway. Counted in audio, not in partials: under load partials come 1-1.4 s apart,
    # and three partials' wait held words back for 3-4 s (LJ001-0025's "simpler, rounder" waited that
    # long for 0.16 s of VAD speech in a pause). At the idle step 1.0 s is the old three partials; in the
    # dev simulation under load it changed neither WER nor latency beyond noise (README, Load section).
    max_unexplained_speech_s: float = 0.15
    max_gap_wait_s: float = 1.0
    # Whisper is least reliable on the first second or two of an utterance (no context yet): nothing is
    # agreed from a partial shorter than this; short utterances are settled by their final decode.
    min_agree_audio_s: float = 3.0
    final_beam_size: int = 5
    # Finals decode in Whisper's 30 s window (with its temperature fallback) unless ``final_window_pad_s`` is
    # set: then in a window of their audio + that, at least ``final_window_min_s``. On the dev split's 124
    # VAD utterances (bench.final_window, beam 5, one core):
    # 30 s window 32.88 % WER at 1.35 s of CPU per final; audio + 10 s (min 15 s) 32.76 % at 0.54 s; audio
    # + 6 s (min 10 s) 33.74 % at 0.43 s; audio + 1 s (min 5 s, the partials' window) 50.18 % at 0.38 s:
    # Whisper needs silence after the last word to end a decode cleanly, a partial does not. (Test split:
    # 31.47, 33.04, 31.12, 39.86 %.) Not the default yet: with audio + 10 s, two real-path tests changed
    # under CI load (a read sentence split in two by a full stop; a crisis alert quoting only "end it all"
    # because "I just want to" had closed as a sentence before it); see README. None: Whisper's 30 s window.
    final_window_pad_s: float | None = None
    final_window_min_s: float = 15.0
    # True: finals use the shorter window below. The server asks for that per request when the ASR pool is
    # behind (``next_request(short_final=True)``), before it sheds sessions.
    final_short_window: bool = False
    short_final_window_pad_s: float = 6.0
    short_final_window_min_s: float = 10.0
    # Finals of less audio than this always decode in that shorter window: Whisper's 30 s window costs the
    # same for 1 s of speech as for 20. On the dev split's 124 VAD utterances (bench.final_window, beam 5,
    # one core; CPU per final): 30 s window 32.76 % WER at 1331 ms; under 2 s in the short window 32.76 % at
    # 734 ms (test, read once after the choice: 32.17 against 31.29 %); under 3 s 34.85 % at 565 ms (with the
    # fallback temperatures for those too: the same WER). 0: never.
    short_final_under_s: float = 2.0
    # settling and trimming
    # Stable words older than this (stream time) become a final. Stable words never change (a final decode
    # only adds the words after them), so the hold costs latency and buys no accuracy: it only gathers words
    # into fewer finals, and the record is made of sentences (``analysis.sentences``), not finals. 1.5 s
    # before 2026-12-03; at 0.75 s bench.load's final-caption median fell from 1.59 to 1.15 s at one
    # session and from 2.11 to 2.01 s at eight (README).
    # (An utterance's first line is not shortened by it: nothing is agreed before ``min_agree_audio_s`` of
    # audio, by which time its first words are usually older than either hold.)
    final_hold_s: float = 0.75
    max_buffer_s: float = 12.0  # trim at finalised words past this
    hard_buffer_s: float = 25.0  # never send more than this (Whisper's window is 30 s)
    prompt_chars: int = 120
    # A pause inside a sentence ("I just want to ... end it all") closes the utterance, and Whisper,
    # hearing "end" with no context, writes "And". A new utterance that starts within this long after
    # the speaker's previous words, when those were cut mid-sentence (Whisper's trailing "...", or a word
    # like "to" or "the" last), is prompted with that unfinished sentence. Measured from Whisper's end
    # of the last word, which comes early: a 0.8 s pause in the spoken test clip measured 1.08 s.
    carry_prompt_gap_s: float = 1.5
    speech_margin_s: float = 0.15  # words starting this long after the last VAD speech are not trusted
    # hallucination guard
    no_speech_prob: float = 0.6
    no_speech_logprob: float = -1.0
    no_speech_prob_alone: float = 0.8  # this sure of no speech drops a segment whatever its log prob
    min_avg_logprob: float = -1.4
    max_compression_ratio: float = 2.4
    max_ngram_repeats: int = 2  # a phrase said 3+ times in a row is cut after the 2nd
    # A partial's audio ends mid-speech, and Whisper may squeeze an invented ending ("Thank you very
    # much.") into its last instant: improbable, near-zero-length words. Trailing words scoring this
    # much on faster-whisper's word anomaly score are left out of a partial (they come back in the
    # next one if real).
    partial_tail_anomaly_score: float = 1.0
    repeat_guard_words: int = 5  # a new utterance's line repeating this many words of its prompt is dropped


_PUNCT_RE = re.compile(r"[^\w']+", re.UNICODE)
_SENTENCE_END = (".", "?", "!")


def word_key(text: str) -> str:
    """Comparison form of a word: lower case, no punctuation."""
    return _PUNCT_RE.sub("", text.lower()).strip("'")


@dataclass(slots=True)
class _Word:
    text: str
    start_s: float  # stream time
    end_s: float
    glued: bool = False  # Whisper gave it no leading space: it continues the previous word ("i" ".e.")

    @property
    def key(self) -> str:
        return word_key(self.text)


def _join(words: Sequence[_Word]) -> str:
    parts: list[str] = []
    for i, w in enumerate(words):
        if i and not w.glued:
            parts.append(" ")
        parts.append(w.text)
    return "".join(parts).strip()


@dataclass(slots=True)
class _Utterance:
    utterance_id: int
    stable: list[_Word] = field(default_factory=list)  # agreed, not yet final
    finalised: list[_Word] = field(default_factory=list)  # all words already sent in finals
    previous_hypothesis: list[_Word] = field(default_factory=list)
    tentative: list[_Word] = field(default_factory=list)
    last_partial: tuple[str, str] = ("", "")
    speech_s: float = 0.0
    closed_at_s: float | None = None  # stream time where the utterance audio ends
    speech_end_s: float = float("inf")  # stream time of the last speech window, once closed
    speech_start_s: float = 0.0  # stream time the VAD first heard this utterance's speech
    gap_wait_since_s: float | None = None  # audio end of the first hypothesis held back by unexplained speech

    @property
    def committed_end_s(self) -> float:
        for words in (self.stable, self.finalised):
            if words:
                return words[-1].end_s
        return -1.0

    def committed_tail(self, n: int) -> list[str]:
        return [w.key for w in (self.finalised + self.stable)[-n:]]


def guard_segments(
    result: TranscriptionResult, settings: CaptionPolicySettings, *, partial: bool = False
) -> list[AsrWord]:
    """Words of the segments that pass the hallucination guard, with repetition loops cut (and, for a
    partial, an improbable tail)."""
    words: list[AsrWord] = []
    for seg in result.segments:
        if seg.no_speech_prob > settings.no_speech_prob and seg.avg_logprob < settings.no_speech_logprob:
            continue
        if seg.no_speech_prob >= settings.no_speech_prob_alone:
            continue
        if seg.avg_logprob < settings.min_avg_logprob:
            continue
        if seg.compression_ratio > settings.max_compression_ratio:
            continue
        words.extend(w for w in seg.words if word_key(w.text))
    words = _cut_repetition(words, settings.max_ngram_repeats)
    words = _cut_outro(words)
    if partial:
        while words and word_anomaly_score(words[-1]) >= settings.partial_tail_anomaly_score:
            words.pop()
    return words


# Whisper learnt from video subtitles to end unclear audio with a video's sign-off ("Thank you for
# watching."), a hallucination widely reported by its users; the dev split has it at the end of a clip
# of hard-to-hear speech. Nobody says these in a counseling session, so a last sentence that is exactly
# one of them is dropped. ("Thank you." alone is left: people say it.)
_OUTROS = frozenset({
    "thank you for watching", "thanks for watching", "thank you so much for watching",
    "thank you for watching this video", "i hope you enjoyed this video", "i hope you enjoyed it",
    "please subscribe", "please like and subscribe", "like and subscribe", "don't forget to subscribe",
    "see you in the next video", "see you next time", "subtitles by the amara org community",
})
# The sign-off also comes as a run of clauses, glued to the last words heard or looping until the
# decode ends ("... on the Thank you very much for your time, and I'll see you in the next one." and
# "Thank you very much for watching, see you in the next video, see you in the next video, see"). Such a
# run is dropped when one of its clauses names the video; without that ("Thank you very much for your
# time.", "See you next week.") it is what a counselor or client says, and stays.
_SIGN_OFF_CLAUSE = re.compile(
    r"(?:and |so |but |okay |ok )?(?:"
    r"(?:thank you|thanks)(?: so much| very much)?(?: guys| everyone| everybody| all)?"
    r"(?: (?:again )?for (?:watching|listening|your time|your attention|joining us|joining|tuning in))?"
    r"(?: (?:this|the|my|our) (?:video|episode|channel))?"
    r"|(?:i'll |we'll |i will |we will )?see you(?: guys| all)?"
    r" (?:in the next (?:video|one|episode)|next time|soon|later|in the next)"
    r"|(?:please |don't forget to )?(?:like (?:and |share and )?)?subscribe(?: to (?:my|our|the) channel)?"
    r"|i hope you (?:enjoyed|liked) (?:this|the) (?:video|episode)"
    r"|subtitles by the amara org community"
    r"|bye(?: bye)?|goodbye"
    r")"
)
_VIDEO_MARKER = re.compile(r"\b(?:watching|video|episode|subscribe|channel|amara|next one|tuning in)\b")
_CLAUSE_END = (",", ";", ":", *_SENTENCE_END)


def _cut_outro(words: list[AsrWord]) -> list[AsrWord]:
    """``words`` without a video's sign-off at their end: a last sentence that is one, or a run of
    sign-off clauses one of which names the video."""
    if not words:
        return words
    keys = [word_key(w.text) for w in words]
    start = len(words) - 1
    while start > 0 and not words[start - 1].text.strip().endswith(_SENTENCE_END):
        start -= 1
    if " ".join(keys[start:]) in _OUTROS:
        return words[:start]
    return words[: _sign_off_run_start(words, keys)]


def _sign_off_run_start(words: list[AsrWord], keys: list[str]) -> int:
    """Where a trailing run of sign-off clauses naming the video begins (``len(words)`` if none);
    ``keys``: the words' comparison forms."""
    ends = [i + 1 for i, w in enumerate(words) if w.text.strip().endswith(_CLAUSE_END)]
    if not ends or ends[-1] != len(words):
        ends.append(len(words))
    clauses = list(itertools.pairwise([0, *ends]))
    run: list[tuple[int, int]] = []
    if len(clauses) > 1 and not words[-1].text.strip().endswith(_CLAUSE_END):
        # a loop cut off by the end of the decode: the last clause is the start of the one before it
        lo, hi = clauses[-1]
        plo, phi = clauses[-2]
        if hi - lo < phi - plo and keys[lo:hi] == keys[plo : plo + hi - lo]:
            run.append(clauses.pop())
    while clauses and _SIGN_OFF_CLAUSE.fullmatch(" ".join(keys[clauses[-1][0] : clauses[-1][1]])):
        run.append(clauses.pop())
    if clauses:
        # the sign-off glued to the last words heard: Whisper capitalises where it thinks it begins
        lo, hi = clauses[-1]
        for i in range(lo + 1, hi):
            if words[i].text.strip()[:1].isupper() and _SIGN_OFF_CLAUSE.fullmatch(" ".join(keys[i:hi])):
                run.append((i, hi))
                break
    named = [c for c in run if _VIDEO_MARKER.search(" ".join(keys[c[0] : c[1]]))]
    return min(c[0] for c in run) if named else len(words)


def word_anomaly_score(word: AsrWord) -> float:
    """faster-whisper's score for hallucinated words: improbable, very short or very long ones."""
    duration = word.end_s - word.start_s
    score = 1.0 if word.probability < 0.15 else 0.0
    if duration < 0.133:
        score += (0.133 - duration) * 15
    if duration > 2.0:
        score += duration - 2.0
    return score


def _cut_repetition(words: list[AsrWord], max_repeats: int) -> list[AsrWord]:
    keys = [word_key(w.text) for w in words]
    for i in range(len(keys)):
        for n in range(1, 5):
            gram = keys[i : i + n]
            if len(gram) < n:
                break
            repeats = 1
            j = i + n
            while keys[j : j + n] == gram:
                repeats += 1
                j += n
            if repeats > max_repeats:
                return words[: i + n * max_repeats]
    return words


def padded_window_s(audio_s: float, pad_s: float, min_s: float) -> float | None:
    """An encoder window holding ``audio_s`` seconds and ``pad_s`` more, in whole seconds, at least ``min_s``;
    None where that reaches Whisper's 30 s window."""
    window = max(min_s, float(np.ceil(audio_s + pad_s)))
    return None if window >= WHISPER_WINDOW_S else window


class CaptionPolicy:
    """Streaming caption policy for ONE speaker's audio track.

    Use: ``feed(samples, speech_probs)`` with every chunk in order; whenever nothing is in flight,
    ``next_request()``; pass its result to ``on_result(request, result, now_s)``. ``flush()`` closes
    the current utterance (end of stream). All of them return caption events to publish.
    """

    def __init__(self, stream_id: str, settings: CaptionPolicySettings | None = None) -> None:
        self.stream_id = stream_id
        self.settings = settings or CaptionPolicySettings()
        self._samples_fed = 0
        self._vad_windows = 0
        self._speech_run = 0
        self._speech_flags = bytearray()  # per VAD window from _flags_start: 1 where speech was heard
        self._flags_start = 0  # window index of _speech_flags[0]
        self._buffer: AudioF32 = np.zeros(0, np.float32)
        self._buffer_start = 0  # sample index of _buffer[0]
        self._current: _Utterance | None = None
        self._last_speech_end = 0  # sample index after the last speech window
        self._last_decode_end = 0  # sample index where the current utterance's last decode ended
        self._closing: list[tuple[_Utterance, AudioF32, int]] = []  # awaiting their final decode
        self._in_flight: DecodeRequest | None = None
        self._next_request_id = 1
        self._next_utterance_id = 1
        self._history: list[_Word] = []  # recent finalised words of this speaker (prompt, repeat guard)

    # ---------------------------------------------------------------- properties
    @property
    def now_s(self) -> float:
        return self._samples_fed / SAMPLE_RATE

    @property
    def in_speech(self) -> bool:
        return self._current is not None

    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    @property
    def buffer_s(self) -> float:
        return len(self._buffer) / SAMPLE_RATE

    # ---------------------------------------------------------------- input
    def feed(self, samples: AudioF32, speech_probs: Sequence[float]) -> list[CaptionEvent]:
        """Append audio (float32, 16 kHz mono) and the VAD probabilities of the windows it completed.

        ``speech_probs`` cover consecutive 512-sample windows from the start of the stream; they may lag
        the audio by less than one window.
        """
        s = self.settings
        self._buffer = np.concatenate([self._buffer, samples.astype(np.float32, copy=False)])
        self._samples_fed += len(samples)
        for prob in speech_probs:
            window_start = self._vad_windows * VAD_WINDOW_SAMPLES
            self._vad_windows += 1
            window_end = window_start + VAD_WINDOW_SAMPLES
            self._speech_flags.append(1 if prob >= s.vad_neg_threshold else 0)
            if self._current is None:
                self._speech_run = self._speech_run + 1 if prob >= s.vad_threshold else 0
                if self._speech_run * VAD_WINDOW_S >= s.speech_start_s - 1e-9:
                    run_start = window_end - self._speech_run * VAD_WINDOW_SAMPLES
                    self._open_utterance(run_start)
                    assert self._current is not None
                    self._current.speech_start_s = run_start / SAMPLE_RATE
                    self._last_speech_end = window_end
                    self._current_speech(self._speech_run * VAD_WINDOW_S)
            else:
                if prob >= s.vad_neg_threshold:
                    self._last_speech_end = window_end
                    self._current_speech(VAD_WINDOW_S)
                elif (window_end - self._last_speech_end) / SAMPLE_RATE >= s.endpoint_silence_s:
                    self._close_utterance()
        if self._current is None:
            keep = int((s.pre_roll_s + s.speech_start_s + VAD_WINDOW_S) * SAMPLE_RATE)
            self._drop_before(self._samples_fed - keep)
        return []

    def flush(self) -> list[CaptionEvent]:
        """End of stream: close the current utterance so its final decode is requested."""
        if self._current is not None:
            self._last_speech_end = self._samples_fed
            self._close_utterance()
        return []

    @property
    def settled_until_s(self) -> float:
        """Stream time up to which this speaker's speech is settled: all audio fed so far when no utterance
        is open or waiting for its decode, else the end of the last finalised word."""
        if self._current is None and not self._closing and self._in_flight is None:
            return self.now_s
        return self._history[-1].end_s if self._history else 0.0

    @property
    def pending(self) -> bool:
        """Whether any audio still waits for a decode (use after ``flush``)."""
        return bool(self._closing) or self._in_flight is not None

    @property
    def final_waiting(self) -> bool:
        """Whether a closed utterance waits for its final decode."""
        return bool(self._closing)

    # ---------------------------------------------------------------- scheduling
    def partial_due(self, partial_step_s: float | None = None) -> bool:
        """Whether ``next_request`` would issue a partial now (nothing in flight, no final waiting), with
        ``partial_step_s`` of new audio required since the last decode (None: the settings' step)."""
        s = self.settings
        cur = self._current
        if self._in_flight is not None or self._closing or cur is None:
            return False
        if cur.speech_s < max(s.first_partial_s, s.min_utterance_speech_s):
            return False
        step = s.partial_step_s if partial_step_s is None else partial_step_s
        return (self._samples_fed - self._last_decode_end) / SAMPLE_RATE >= step

    def next_request(
        self, partial_step_s: float | None = None, short_final: bool | None = None,
        tail_partial: bool | None = None,
    ) -> DecodeRequest | None:
        """The decode to run now, or None. At most one request is in flight per stream. ``partial_step_s``
        overrides the settings' step between partials, ``short_final`` their ``final_short_window`` and
        ``tail_partial`` their ``partial_tail`` (the caller widens the step, decodes partials from the
        settled words on and shortens finals' window when the decoder is behind)."""
        if self._in_flight is not None:
            return None
        s = self.settings
        if self._closing:
            utt, audio, start = self._closing[0]
            if utt.speech_s < s.min_utterance_speech_s:
                self._closing.pop(0)
                return self.next_request(partial_step_s, short_final, tail_partial)
            short = s.final_short_window if short_final is None else short_final
            return self._issue("final", audio, start, s.final_beam_size, utt, short_window=short)
        cur = self._current
        if cur is None or not self.partial_due(partial_step_s):
            return None
        self._trim_current()
        self._last_decode_end = self._samples_fed
        tail = s.partial_tail if tail_partial is None else tail_partial
        start, before = self._tail_start(cur) if tail else (self._buffer_start, [])
        if start > self._buffer_start:
            audio = self._buffer[start - self._buffer_start :].copy()
            return self._issue("partial", audio, start, s.partial_beam_size, cur,
                               context_start=self._buffer_start, prompt_words=before)
        return self._issue("partial", self._buffer.copy(), self._buffer_start, s.partial_beam_size, cur)

    def _tail_start(self, utt: _Utterance) -> tuple[int, list[_Word]]:
        """Where a tail partial's audio starts (sample), and the settled words before it (its prompt): just
        before the utterance's last settled word (with the word it is glued to), or the buffer's start when
        that would skip too little."""
        s = self.settings
        committed = utt.finalised + utt.stable
        if not committed:
            return self._buffer_start, []
        i = len(committed) - 1
        while i > 0 and committed[i].glued:
            i -= 1
        start = int((committed[i].start_s - s.partial_tail_lead_s) * SAMPLE_RATE)
        if start - self._buffer_start < s.partial_tail_min_skip_s * SAMPLE_RATE:
            return self._buffer_start, []
        return min(start, self._samples_fed), committed[:i]

    def partial_window_s(self, audio_s: float) -> float | None:
        """Encoder window for a partial decode of ``audio_s`` seconds (None: the full 30 s)."""
        s = self.settings
        if s.partial_window_pad_s is None:
            return None
        return padded_window_s(audio_s, s.partial_window_pad_s, s.partial_window_min_s)

    def final_window_s(self, audio_s: float, short: bool = False) -> float | None:
        """Encoder window for a final decode of ``audio_s`` seconds (None: the full 30 s); ``short``: the
        shorter window the server asks for under load (short finals always get it)."""
        s = self.settings
        if short or audio_s < s.short_final_under_s:
            return padded_window_s(audio_s, s.short_final_window_pad_s, s.short_final_window_min_s)
        if s.final_window_pad_s is None:
            return None
        return padded_window_s(audio_s, s.final_window_pad_s, s.final_window_min_s)

    def cancel(self, request: DecodeRequest) -> None:
        """The request failed: forget it (a partial is simply retried later, a final is dropped)."""
        if self._in_flight is request:
            self._in_flight = None
            if request.kind == "final" and self._closing:
                self._closing.pop(0)

    # ---------------------------------------------------------------- results
    def on_result(
        self, request: DecodeRequest, result: TranscriptionResult, now_s: float | None = None
    ) -> list[CaptionEvent]:
        """Apply a decode result; ``now_s`` is the stream time it arrived (default: audio fed so far)."""
        if self._in_flight is not request:
            raise ValueError("result for a request that is not in flight")
        self._in_flight = None
        at_s = self.now_s if now_s is None else now_s
        words = [
            _Word(w.text.strip(), request.start_s + w.start_s, request.start_s + w.end_s,
                  glued=not w.text[:1].isspace())
            for w in guard_segments(result, self.settings, partial=request.kind == "partial")
        ]
        # Whisper pads the end of an utterance with stock phrases ("Thank you.") set in the trailing
        # silence: a word must start while the VAD still heard speech.
        words = [w for w in words if w.start_s <= request.speech_end_s + self.settings.speech_margin_s]
        if request.kind == "final":
            utt, _, _ = self._closing.pop(0)
            return self._apply_final(utt, words, at_s)
        cur = self._current
        if cur is not None and cur.utterance_id == request.utterance_id:
            self._agree(cur, words, request.end_s, request.span_s)
            return self._settle(cur, at_s, final=False)
        # the utterance closed while this partial ran: agree what we can, its final decode comes next
        for utt, _, _ in self._closing:
            if utt.utterance_id == request.utterance_id:
                self._agree(utt, words, request.end_s, request.span_s)
        return []

    # ---------------------------------------------------------------- internals
    def _issue(
        self, kind: DecodeKind, audio: AudioF32, start_sample: int, beam: int, utt: _Utterance,
        short_window: bool = False, context_start: int | None = None, prompt_words: list[_Word] | None = None,
    ) -> DecodeRequest:
        speech_end = utt.speech_end_s if kind == "final" else self._last_speech_end / SAMPLE_RATE
        req = DecodeRequest(
            request_id=self._next_request_id,
            kind=kind,
            utterance_id=utt.utterance_id,
            audio=audio,
            start_s=start_sample / SAMPLE_RATE,
            prompt=self._prompt(utt, start_sample / SAMPLE_RATE, prompt_words),
            beam_size=beam,
            speech_end_s=speech_end,
            window_s=(self.final_window_s(len(audio) / SAMPLE_RATE, short_window) if kind == "final"
                      else self.partial_window_s(len(audio) / SAMPLE_RATE)),
            context_start_s=None if context_start is None else context_start / SAMPLE_RATE,
            single_pass=kind == "partial" and self.settings.partial_single_pass,
        )
        self._next_request_id += 1
        self._in_flight = req
        return req

    def _prompt(self, utt: _Utterance, audio_start_s: float, settled: list[_Word] | None = None) -> str:
        # This utterance's finalised words from before the (trimmed) buffer (a tail partial passes the
        # settled words before its audio, stable ones included). Prompting with earlier
        # utterances was measured to make Whisper append "Thank you." / "See you next time." to the
        # end of an utterance, and a pause must never bring back a finished sentence; an unfinished one
        # that the speaker goes on with after a short pause is context the new words need.
        s = self.settings
        if settled is not None:
            words = list(settled)
        else:
            words = [w for w in utt.finalised if w.end_s <= audio_start_s + 0.05]
        if not words:
            words = self._unfinished_sentence(utt.speech_start_s)
        if not words:
            return ""
        last = words[-1]
        text = _join([*words[:-1], _Word(without_cut_punctuation(last.text), last.start_s, last.end_s, last.glued)])
        if len(text) > s.prompt_chars:
            text = text[-s.prompt_chars :]
            text = text[text.find(" ") + 1 :] if " " in text else text
        return text

    def _unfinished_sentence(self, speech_start_s: float) -> list[_Word]:
        """The speaker's last sentence, when it was left unfinished just before ``speech_start_s``."""
        history = [w for w in self._history if w.end_s <= speech_start_s + 0.05]  # not this utterance's own
        if not history or speech_start_s - history[-1].end_s > self.settings.carry_prompt_gap_s:
            return []
        # Only where the words say the sentence was cut: a sentence merely lacking its full stop ("as
        # little in") is not enough, since a prompt without punctuation makes Whisper drop its own
        # (measured on the development set: "...profits reports are expected").
        if not cut_mid_sentence(history[-1].text):
            return []
        start = len(history)
        while start > 0 and not ends_sentence(history[start - 1].text):
            start -= 1
        return history[start:]

    def _open_utterance(self, speech_start: int) -> None:
        s = self.settings
        start = max(speech_start - int(s.pre_roll_s * SAMPLE_RATE), self._buffer_start, 0)
        self._drop_before(start)
        self._current = _Utterance(utterance_id=self._next_utterance_id)
        self._next_utterance_id += 1
        self._last_decode_end = self._buffer_start

    def _current_speech(self, seconds: float) -> None:
        if self._current is not None:
            self._current.speech_s += seconds

    def _close_utterance(self) -> None:
        cur = self._current
        assert cur is not None
        end = min(self._last_speech_end + int(self.settings.post_pad_s * SAMPLE_RATE), self._samples_fed)
        audio = self._buffer[: max(end - self._buffer_start, 0)].copy()
        cur.closed_at_s = end / SAMPLE_RATE
        cur.speech_end_s = self._last_speech_end / SAMPLE_RATE
        self._closing.append((cur, audio, self._buffer_start))
        self._current = None
        self._speech_run = 0
        # keep a little audio after the end as pre-roll for the next utterance
        self._drop_before(end - int(self.settings.pre_roll_s * SAMPLE_RATE))

    def _drop_before(self, sample: int) -> None:
        if sample > self._buffer_start:
            cut = min(sample - self._buffer_start, len(self._buffer))
            self._buffer = self._buffer[cut:]
            self._buffer_start += cut
        # VAD flags are needed as far back as the oldest audio still to be decoded
        oldest = min([self._buffer_start] + [start for _, _, start in self._closing])
        drop = oldest // VAD_WINDOW_SAMPLES - self._flags_start
        if drop > 0:
            del self._speech_flags[:drop]
            self._flags_start += drop

    def speech_between(self, start_s: float, end_s: float) -> float:
        """Seconds of VAD speech between two stream times (windows wholly inside the span)."""
        first = max(int(np.ceil(start_s / VAD_WINDOW_S - 1e-6)) - self._flags_start, 0)
        last = int(end_s / VAD_WINDOW_S + 1e-6) - self._flags_start
        if last <= first:
            return 0.0
        return sum(self._speech_flags[first:last]) * VAD_WINDOW_S

    def _trim_current(self) -> None:
        s = self.settings
        cur = self._current
        assert cur is not None
        if self.buffer_s <= s.max_buffer_s:
            return
        if cur.finalised and cur.finalised[-1].end_s > self._buffer_start / SAMPLE_RATE:
            self._drop_before(int(cur.finalised[-1].end_s * SAMPLE_RATE))
        if self.buffer_s > s.hard_buffer_s:
            # nothing settled for far too long (noise the model will not transcribe): keep the newest audio
            self._drop_before(self._samples_fed - int(s.max_buffer_s * SAMPLE_RATE))

    def _new_words(self, utt: _Utterance, words: list[_Word]) -> list[_Word]:
        """The part of a hypothesis after what is already committed (by time, then by n-gram overlap)."""
        committed_end = utt.committed_end_s
        fresh = [w for w in words if w.start_s >= committed_end - 0.1]
        if fresh and committed_end >= 0 and abs(fresh[0].start_s - committed_end) < 1.0:
            for n in range(min(5, len(fresh)), 0, -1):
                if utt.committed_tail(n) == [w.key for w in fresh[:n]]:
                    fresh = fresh[n:]
                    break
        return fresh

    def _agree(self, utt: _Utterance, words: list[_Word], audio_end_s: float, audio_s: float) -> None:
        s = self.settings
        fresh = self._new_words(utt, words)
        prev = utt.previous_hypothesis
        # A word ending at the very end of the buffer may be cut short ("letter" of "letterpress"), and
        # Whisper likes to end a buffer with a full stop: such words wait for more audio.
        settled = audio_end_s - s.tail_guard_s
        n = 0
        if audio_s >= s.min_agree_audio_s:
            while n < len(fresh) and n < len(prev) and fresh[n].key == prev[n].key and fresh[n].end_s <= settled:
                n += 1
            # never settle the first part of a word whose rest is still open ("ill" of "ill-disposed"):
            # the next hypothesis splits it differently and the settled half is left alone ("ill -sposed")
            while 0 < n < len(fresh) and fresh[n].glued:
                n -= 1
        if n:
            committed_end = utt.committed_end_s if utt.committed_end_s >= 0 else utt.speech_start_s
            if self.speech_between(committed_end, fresh[0].start_s) <= s.max_unexplained_speech_s:
                utt.gap_wait_since_s = None
            else:
                if utt.gap_wait_since_s is None:
                    utt.gap_wait_since_s = audio_end_s
                if audio_end_s - utt.gap_wait_since_s < s.max_gap_wait_s:
                    n = 0
        utt.stable.extend(fresh[:n])
        utt.tentative = fresh[n:]
        utt.previous_hypothesis = fresh[n:]

    def _settle(self, utt: _Utterance, at_s: float, *, final: bool) -> list[CaptionEvent]:
        s = self.settings
        events: list[CaptionEvent] = []
        if final:
            cut = len(utt.stable)
        else:
            cut = 0
            for i, w in enumerate(utt.stable):
                if w.text.endswith(_SENTENCE_END):
                    cut = i + 1
            if utt.stable and at_s - utt.stable[0].end_s >= s.final_hold_s:
                cut = len(utt.stable)
        if cut:
            line = utt.stable[:cut]
            utt.stable = utt.stable[cut:]
            if self._repeats_prompt(line, utt):
                line = []
            if line:
                events.append(
                    CaptionFinal(
                        stream_id=self.stream_id,
                        utterance_id=utt.utterance_id,
                        text=_join(line),
                        start_s=line[0].start_s,
                        end_s=line[-1].end_s,
                        at_s=at_s,
                        words=tuple(TimedWord(w.text, w.start_s, w.end_s, w.glued) for w in line),
                        speech_start_s=utt.speech_start_s,
                        speech_end_s=utt.speech_end_s if final else None,
                    )
                )
                utt.finalised.extend(line)
                self._history.extend(line)
                del self._history[:-60]
        partial = ("", "") if final else (_join(utt.stable), _join(utt.tentative))
        if partial != utt.last_partial:
            shown = utt.stable + utt.tentative
            events.append(
                CaptionPartial(
                    stream_id=self.stream_id,
                    utterance_id=utt.utterance_id,
                    stable_text=partial[0],
                    tentative_text=partial[1],
                    start_s=shown[0].start_s if shown and not final else at_s,
                    at_s=at_s,
                )
            )
            utt.last_partial = partial
        if final and events and isinstance(events[-1], CaptionPartial) and any(
            isinstance(e, CaptionFinal) for e in events
        ):
            # the final line replaces the partial on screen; an empty partial is only needed to clear
            # a line that ended with nothing
            events.pop()
        return events

    def _repeats_prompt(self, line: list[_Word], utt: _Utterance) -> bool:
        # Whisper may say its prompt again on unclear audio, and a new utterance is prompted with the
        # speaker's unfinished sentence (``_unfinished_sentence``): a first line that repeats those words
        # verbatim is dropped. Only those: people do say the same words again ("I don't know what to do."),
        # and the guard of the first version, which dropped any repeat of the last 60 words, dropped them
        # (a whole utterance, since every line of it was a "first" line once the first was dropped).
        s = self.settings
        if utt.finalised or len(line) < s.repeat_guard_words:
            return False
        keys = [w.key for w in line]
        prompt = [w.key for w in self._unfinished_sentence(utt.speech_start_s)]
        n = len(keys)
        return any(prompt[i : i + n] == keys for i in range(max(len(prompt) - n + 1, 0)))

    def _apply_final(self, utt: _Utterance, words: list[_Word], at_s: float) -> list[CaptionEvent]:
        fresh = self._new_words(utt, words)
        utt.stable.extend(fresh)
        utt.tentative = []
        return self._settle(utt, at_s, final=True)
