"""What a session's speakers say, as sentences: the record, the counselor's transcript and the text cues.

Caption finals settle a few words at a time for the screen; ``SessionTranscript`` joins each speaker's
finals into sentences (``analysis.sentences``) and keeps one stored row per sentence, written as the
sentence grows (so a crash loses at most the words still being spoken) and finished when it ends. The
counselor's transcript shows the same sentences, growing in place. Text cues judge sentences: tone,
counselor acts and crisis language when a sentence ends, and crisis language also while it is spoken
(across caption cuts), so an urgent alert does not wait for the end of the sentence.

When a speaker's turn is over, its audio is decoded once more as a whole (``analysis.revision``: Whisper
does better with the sentences around a word) and the turn's stored sentences take the new words; the
counselor's transcript shows them, the captions already shown stay. Revisions are the first thing shed
when the ASR pool is behind: the live captions' words stay then.

One instance per session, fed every speaker's finals in the order the caption streams produce them.
Storage happens in the caller's turn (before the caption is shown); cue work runs after it, in order, so
a caption is never held up by the cue thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Literal

from analysis.events import CaptionFinal, CaptionPartial, TimedWord
from analysis.revision import RevisionSettings, StoredSentence, TurnToRevise, TurnTracker, revised_sentences
from analysis.sentences import Sentence, SentenceAssembler, SentenceEvent, SentenceProgress, SentenceSettings
from analysis.words import LineAnalysis
from server.live.cues import SessionCues
from server.records.recorder import Recorder
from server.session.delivery import deliver
from server.session.effects import ToCounselors
from server.session.model import Session
from server.session.participant import Participant
from server.session.protocol.counselor import TranscriptLine
from server.session.states import Role

log = logging.getLogger(__name__)

Key = tuple[str, int]  # (caption stream id, sentence id)
KEPT_SENTENCES = 200  # line ids remembered per session (for growth and early alerts of recent sentences)
EARLY_CHECKS_QUEUED_MAX = 20  # cue jobs waiting beyond which a partial's early crisis check is skipped
REVISIONS_QUEUED_MAX = 3  # finished turns waiting for their second pass beyond which a turn keeps its words
REVISIONS_AT_CLOSE_S = 20.0  # how long the end of a session waits for the last turns' second pass

# Decodes a finished turn again: its words in session seconds, or None (no audio kept, the pool is behind).
TurnReviser = Callable[[TurnToRevise], Awaitable[Sequence[TimedWord] | None]]


class RevisionCounts:
    """What became of finished turns: revised, unchanged, refused (too unlike the first pass), skipped."""

    def __init__(self) -> None:
        self.revised = self.unchanged = self.refused = self.skipped = 0


class SessionTranscript:
    def __init__(
        self,
        session: Session,
        recorder: Recorder,
        cues: SessionCues,
        settings: SentenceSettings | None = None,
        *,
        reviser: TurnReviser | None = None,
        revision_settings: RevisionSettings | None = None,
        revision_counts: RevisionCounts | None = None,
    ) -> None:
        self.session = session
        self._recorder = recorder
        self._cues = cues
        self._assembler = SentenceAssembler(settings)
        self._speakers: dict[str, Participant] = {}  # stream id -> participant
        self._lines: OrderedDict[tuple[str, int], int] = OrderedDict()  # (stream, sentence id) -> line id
        self._alerted: set[Key] = set()  # open sentences already marked urgent
        self._progress: dict[Key, SentenceProgress] = {}  # open sentences as last shown
        self._last_heard: dict[str, tuple[int, str]] = {}  # per caption stream: utterance, partial last checked
        self._closed = False
        self._store_lock = asyncio.Lock()
        self._reviser = reviser
        self._revision_settings = revision_settings or RevisionSettings()
        self.revision_counts = revision_counts or RevisionCounts()
        self._turns = TurnTracker(self._revision_settings)
        self._finished_words: dict[Key, StoredSentence] = {}  # finished sentences as stored (for their turn)
        self._shown: dict[int, TranscriptLine] = {}  # line id -> as last sent to the counselors
        self._revised: dict[int, tuple[str, float, float]] = {}  # line id -> second-pass text, start, end
        self._revisions: asyncio.Queue[TurnToRevise | None] = asyncio.Queue()
        self._reviser_task = (
            asyncio.create_task(self._revise_turns(), name=f"revisions {session.id}") if reviser else None
        )
        # Unbounded only for what must not be lost (finished sentences, one per sentence); the early checks
        # of partials are shed past EARLY_CHECKS_QUEUED_MAX.
        self._work: asyncio.Queue[Callable[[], Coroutine[Any, Any, None]] | None] = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name=f"transcript {session.id}")

    # --- input ----------------------------------------------------------------------------------------
    async def final(self, participant: Participant, final: CaptionFinal) -> None:
        """A caption final of ``participant``: stored as part of its sentence before anyone sees it."""
        self._speakers[final.stream_id] = participant
        self._cues.caption_final(participant, final)
        async with self._store_lock:
            await self._store(self._assembler.feed(final))

    def partial(self, participant: Participant, partial: CaptionPartial) -> None:
        """A caption partial: crisis words in it are checked before they settle into a final, across the
        speaker's open sentence. Its stable words (they will not change) are checked as settled; its
        tentative tail counts once the previous partial of the utterance heard the same phrase, so an urgent
        alert comes about a second after the words are said. Skipped, never queued without bound, when the
        cue thread is behind: the final check follows."""
        heard = partial.text.strip()
        if participant.role is not Role.CLIENT or not heard or self._closed:
            return
        before = self._last_heard.get(partial.stream_id)
        if before == (partial.utterance_id, heard) or self._work.qsize() >= EARLY_CHECKS_QUEUED_MAX:
            return
        self._last_heard[partial.stream_id] = (partial.utterance_id, heard)
        heard_before = before[1] if before is not None and before[0] == partial.utterance_id else ""
        self._speakers[partial.stream_id] = participant
        sentence = self._assembler.open_sentence(partial.stream_id)
        key = (partial.stream_id, sentence.sentence_id) if sentence is not None else None
        opening = sentence.continued_text if sentence is not None else ""
        check = functools.partial(
            self._check_spoken,
            participant,
            f"{opening} {partial.stable_text}".strip(),
            partial.at_s,
            key,
            self._lines.get(key) if key is not None else None,
            tentative=partial.tentative_text,
            heard_before=f"{opening} {heard_before}".strip() if heard_before else "",
        )
        self._work.put_nowait(check)

    async def advance(self, now_s: float, settled_until_s: Mapping[str, float]) -> None:
        """Time passed: end the sentences of speakers who paused (``settled_until_s``: per caption stream,
        the time up to which its speech is settled)."""
        async with self._store_lock:
            await self._store(self._assembler.advance(now_s, settled_until_s))
            self._queue_revisions(self._turns.advance(settled_until_s, self._open_starts(settled_until_s)))

    def _open_starts(self, streams: Mapping[str, float]) -> dict[str, float]:
        starts = {}
        for stream in streams:
            sentence = self._assembler.open_sentence(stream)
            if sentence is not None:
                starts[stream] = sentence.start_s
        return starts

    async def end_stream(self, stream_id: str, now_s: float) -> None:
        """A speaker's caption stream stopped (uplink closed, session ended): their sentence is finished."""
        async with self._store_lock:
            await self._store(self._assembler.end_stream(stream_id, now_s))
            self._queue_revisions(self._turns.end_stream(stream_id))

    async def close(self) -> None:
        """Finishes the second passes (for a while) and the cue work already queued, then stops."""
        self._closed = True
        if self._reviser_task is not None:
            await self._revisions.put(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._reviser_task), REVISIONS_AT_CLOSE_S)
            except (TimeoutError, asyncio.CancelledError):
                self._reviser_task.cancel()
        await self._work.put(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker

    async def revisions_done(self) -> None:
        """Returns once every turn queued so far has had its second pass (tests and benchmarks)."""
        await self._revisions.join()

    # --- internals ------------------------------------------------------------------------------------
    async def _store(self, events: list[SentenceEvent]) -> None:
        for event in events:
            participant = self._speakers.get(event.stream_id)
            if participant is None:
                continue
            key = (event.stream_id, event.sentence_id)
            line_id = self._lines.get(key)
            if line_id is None:
                line_id = await self._recorder.sentence_started(
                    self.session, participant, event.start_s, event.end_s, event.text, event.words
                )
                if line_id is None:
                    continue
                self._lines[key] = line_id
                while len(self._lines) > KEPT_SENTENCES:
                    old, old_line = self._lines.popitem(last=False)
                    self._alerted.discard(old)
                    self._progress.pop(old, None)
                    self._finished_words.pop(old, None)
                    self._shown.pop(old_line, None)
                    self._revised.pop(old_line, None)
            else:
                await self._recorder.sentence_grew(
                    self.session, line_id, event.start_s, event.end_s, event.text, event.words
                )
            if isinstance(event, Sentence):
                await self._work.put(functools.partial(self._finished, participant, event, key, line_id))
                if event.words:
                    self._finished_words[key] = StoredSentence(line_id, event.words)
                self._queue_revisions(self._turns.feed(event))
            else:
                self._progress[key] = event
                self._show(participant, event, line_id, None, alerted=key in self._alerted)
                if participant.role is Role.CLIENT and key not in self._alerted:
                    await self._work.put(
                        functools.partial(self._check_spoken, participant, event.text, event.at_s, key, line_id)
                    )

    async def _check_spoken(
        self,
        participant: Participant,
        text: str,
        at_s: float,
        key: Key | None,
        line_id: int | None,
        *,
        tentative: str = "",
        heard_before: str = "",
    ) -> None:
        if key is not None and key in self._alerted:
            return
        found = await self._cues.open_sentence(
            participant, text, at_s, line_id, tentative=tentative, heard_before=heard_before
        )
        if not found or key is None:
            return
        self._alerted.add(key)
        progress = self._progress.get(key)
        if progress is not None and line_id is not None:
            self._show(participant, progress, line_id, None, alerted=True)  # marked in the transcript now

    async def _finished(self, participant: Participant, event: Sentence, key: Key, line_id: int) -> None:
        self._progress.pop(key, None)
        analysis = await self._cues.sentence(participant, event.text, event.end_s, line_id)
        if analysis.counselor_act is not None and participant.role is Role.COUNSELOR:
            await self._recorder.counselor_act(self.session, line_id, analysis.counselor_act.value)
        self._show(participant, event, line_id, analysis, alerted=key in self._alerted)

    def _show(
        self,
        participant: Participant,
        event: SentenceEvent,
        line_id: int,
        analysis: LineAnalysis | None,
        *,
        alerted: bool = False,
    ) -> None:
        """Sends the sentence to the counselors' transcript. ``alerted``: an urgent alert was raised on it
        while it was spoken (the finished sentence's own analysis says so then too)."""
        text, start_s, end_s = self._revised.get(line_id, (event.text, event.start_s, event.end_s))
        risk = analysis.risk if analysis is not None else None
        act = analysis.counselor_act if analysis is not None else None
        level: Literal["notice", "urgent"] | None = None
        if alerted or (risk is not None and risk.level.value == "urgent"):
            level = "urgent"
        elif risk is not None:
            level = "notice"
        line = TranscriptLine(
            line_id=line_id,
            participant_id=participant.id,
            name=participant.name,
            role=participant.role,
            text=text,
            start_s=round(start_s, 3),
            end_s=round(end_s, 3),
            closed=analysis is not None,
            sentiment=round(analysis.sentiment, 3) if analysis is not None else None,
            risk=level,
            counselor_act=act.value if act is not None else None,
        )
        self._shown[line_id] = line
        deliver(self.session, [ToCounselors(line)])
        log.debug("session %s participant %s sentence %s: %s", self.session.id, participant.id, line_id, text)

    # --- the second pass --------------------------------------------------------------------------------
    def _queue_revisions(self, turns: list[TurnToRevise]) -> None:
        for turn in turns:
            if self._reviser_task is None:
                return
            if self._revisions.qsize() >= REVISIONS_QUEUED_MAX:
                self.revision_counts.skipped += 1
                log.debug("session %s: second pass skipped, %d turns waiting", self.session.id, REVISIONS_QUEUED_MAX)
                continue
            self._revisions.put_nowait(turn)

    async def _revise_turns(self) -> None:
        assert self._reviser is not None
        while True:
            turn = await self._revisions.get()
            if turn is None:
                self._revisions.task_done()
                return
            try:
                await self._revise(turn, await self._reviser(turn))
            except Exception:
                log.exception("session %s: the second pass over a turn failed", self.session.id)
            finally:
                self._revisions.task_done()

    async def _revise(self, turn: TurnToRevise, words: Sequence[TimedWord] | None) -> None:
        counts = self.revision_counts
        participant = self._speakers.get(turn.stream_id)
        keys = [(turn.stream_id, i) for i in turn.sentence_ids]
        stored = [self._finished_words[k] for k in keys if k in self._finished_words]
        if words is None or participant is None or not stored:
            counts.skipped += 1
            return
        revised = revised_sentences(stored, words, self._revision_settings)
        if revised is None:
            counts.refused += 1
            log.debug("session %s: second pass refused for %s", self.session.id, participant.id)
            return
        if not revised:
            counts.unchanged += 1
            return
        counts.revised += 1
        for sentence in revised:
            start_s, end_s = sentence.words[0].start_s, sentence.words[-1].end_s
            await self._recorder.sentence_grew(self.session, sentence.line_id, start_s, end_s, sentence.text,
                                               sentence.words)
            self._revised[sentence.line_id] = (sentence.text, start_s, end_s)
            shown = self._shown.get(sentence.line_id)
            if shown is not None:
                line = shown.model_copy(update={"text": sentence.text, "start_s": round(start_s, 3),
                                                "end_s": round(end_s, 3)})
                self._shown[sentence.line_id] = line
                deliver(self.session, [ToCounselors(line)])
            if participant.role is Role.CLIENT and not self._closed:
                # the second pass may hear what the first did not: crisis language is checked again
                key = next((k for k, v in self._lines.items() if v == sentence.line_id), None)
                await self._work.put(functools.partial(
                    self._check_spoken, participant, sentence.text, end_s, key, sentence.line_id))

    async def _run(self) -> None:
        while True:
            job = await self._work.get()
            if job is None:
                return
            try:
                await job()
            except Exception:
                log.exception("session %s: a text cue failed", self.session.id)
