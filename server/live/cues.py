"""The cue engines of a live session and the hint policy in front of the counselor.

Engines in ``analysis/`` are not thread-safe and must see each participant's data in order, so every
engine call runs on one shared cue thread (voice, conversation, words) or on the video thread (faces).
Their cues come back to the event loop, pass the hint policy (de-duplication, cooldowns, a cap, the
counselor's mutes; urgent alerts always pass) and go out on the counselor-only channel. Panel data
(sentiment points, talk time, voice and face features, listening counters) goes the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.conversation import ConversationAnalyzer
from analysis.conversation import Role as ConversationRole
from analysis.events import CaptionFinal, Cue, Severity
from analysis.hints import HintPolicy
from analysis.text_model import TextCueJudge
from analysis.video import FaceCueEngine
from analysis.voice import VoiceAnalyzer, VoiceSettings
from analysis.words import LineAnalysis, WordCues
from server.media.consumers import AudioChunk, RgbFrame
from server.media.face_mesh import live_face_engine
from server.session.delivery import deliver
from server.session.effects import ToCounselors
from server.session.model import Session
from server.session.participant import Participant
from server.session.protocol.counselor import (
    Alert,
    Conversation,
    CounselorEventUnion,
    CueRaised,
    CueView,
    Listening,
    SentimentPoint,
    VideoState,
    VoiceState,
)
from server.session.states import Role

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
VOICE_BLOCK_S = 0.5  # audio handed to the cue thread in half-second blocks
PANEL_EVERY_S = 2.0  # talk time and voice features refresh at most this often
VIDEO_FPS_MAX = 5.0
# Checks of the same words (stable caption words, open sentence, finished sentence) fall within a
# sentence's longest span (20 s) plus the captions' lag.
URGENT_SAME_WORDS_S = 30.0
VIDEO_WIDTH = 320


def cue_view(cue: Cue, name: str, line_id: int | None = None) -> CueView:
    return CueView(
        at_s=round(cue.at_s, 2),
        participant_id=cue.participant_id,
        name=name,
        kind=cue.kind,
        severity=cue.severity,
        sentence=cue.sentence,
        evidence=cue.evidence,
        line_id=line_id,
    )


def rounded(value: Any) -> Any:
    """The same value with floats rounded for the panel (dataclasses stay dataclasses, numpy scalars become
    Python numbers), so panel messages stay small."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: rounded(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(rounded(v) for v in value)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), 3)
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(slots=True)
class Outcome:
    """What one engine call produced: cues for the hint policy, and panel events for the counselor."""

    cues: list[Cue] = field(default_factory=list)
    panel: list[CounselorEventUnion] = field(default_factory=list)
    line: LineAnalysis | None = None
    line_id: int | None = None  # the stored sentence the cues are about (text cues)


class SessionCues:
    def __init__(
        self,
        session: Session,
        cue_executor: Executor,
        video_executor: Executor,
        on_cue: Callable[[Session, Cue, int | None], None] | None = None,
        voice_settings: VoiceSettings | None = None,
        judge: TextCueJudge | None = None,
    ) -> None:
        self.session = session
        self._voice_settings = voice_settings
        self._cue_executor = cue_executor
        self._video_executor = video_executor
        self._loop = asyncio.get_running_loop()
        self._on_cue = on_cue
        self.hints = HintPolicy()
        self.words = WordCues(judge=judge)
        self._urgent_raised: dict[tuple[str, str], float] = {}  # (participant, rule) -> session time
        self.conversation = ConversationAnalyzer()
        self.voices: dict[str, VoiceAnalyzer] = {}
        self.faces: dict[str, FaceCueEngine] = {}
        self._pending_audio: dict[str, tuple[float, list[AudioChunk]]] = {}
        self._last_panel: dict[str, float] = {}
        self._last_video_at: dict[str, float] = {}
        self._camera_on: dict[str, bool] = {}  # as last seen on the video thread
        self.frames_analysed = 0
        self.frames_skipped = 0
        self.frames_camera_off = 0

    # --- feeding (event loop) -------------------------------------------------------------------
    def audio(self, participant: Participant, samples: AudioChunk, start_s: float) -> None:
        """Every uplink audio chunk, in order. Buffered into blocks; never dropped."""
        pending = self._pending_audio.get(participant.id)
        if pending is None:
            pending = (start_s, [])
            self._pending_audio[participant.id] = pending
        block_start, chunks = pending
        chunks.append(samples)
        if sum(len(c) for c in chunks) >= VOICE_BLOCK_S * SAMPLE_RATE:
            del self._pending_audio[participant.id]
            block = np.concatenate(chunks)
            self._submit(self._voice_block, participant.id, participant.role, block, block_start)

    def audio_ended(self, participant: Participant) -> None:
        pending = self._pending_audio.pop(participant.id, None)
        if pending is not None and pending[1]:
            self._submit(self._voice_block, participant.id, participant.role, np.concatenate(pending[1]), pending[0])

    def caption_final(self, participant: Participant, line: CaptionFinal) -> None:
        """Every caption final, in order: the voice engine reads the speech rate from its words."""
        self._cue_executor.submit(self._caption_words, participant.id, participant.role, line)

    async def sentence(self, participant: Participant, text: str, end_s: float, line_id: int) -> LineAnalysis:
        """Text cues for a finished sentence; returns its tone, risk and (counselor) act."""
        future = self._cue_executor.submit(self._sentence, participant.id, participant.role, text, end_s)
        outcome = await asyncio.wrap_future(future)
        outcome.line_id = line_id
        self._deliver(outcome)
        assert outcome.line is not None
        return outcome.line

    async def open_sentence(
        self,
        participant: Participant,
        text: str,
        at_s: float,
        line_id: int | None,
        *,
        tentative: str = "",
        heard_before: str = "",
    ) -> bool:
        """The early crisis check of a sentence still being spoken (its settled words, then the newest
        caption's tentative words and the previous caption's whole text: ``WordCues.assess_open_sentence``);
        True when it found urgent words (raised now, or already raised)."""
        future = self._cue_executor.submit(
            functools.partial(
                self.words.assess_open_sentence,
                participant.id,
                participant.role.value,
                text,
                at_s,
                tentative=tentative,
                heard_before=heard_before,
            )
        )
        cue = await asyncio.wrap_future(future)
        if cue is None:
            return False
        self._deliver(Outcome(cues=[cue], line_id=line_id))
        return True

    def presence_changed(self, participant: Participant) -> None:
        """``participant`` arrived in the call, came back or went away (their uplink opened or closed, their
        socket dropped): a counselor turn before this is not one a client answers (no "long pause" for
        time in the waiting room, an admission or a rejoin). Queued in order with the audio blocks."""
        at_s = self.session.clock()
        self._cue_executor.submit(self.conversation.presence_changed, participant.id, at_s)

    def video(self, participant: Participant, frame_rgb: RgbFrame, at_s: float) -> None:
        """Called on the video thread with the newest frame; at most ``VIDEO_FPS_MAX`` are analysed.
        While the client's camera is off (``media_state``) nothing is analysed: the black frames a stopped
        camera sends are not a face out of view."""
        camera_on = participant.video
        engine = self.faces.get(participant.id)
        if self._camera_on.get(participant.id, True) != camera_on and engine is not None:
            engine.pause()  # off, or on again: nothing carries across the gap
        self._camera_on[participant.id] = camera_on
        if not camera_on:
            self.frames_camera_off += 1
            return
        last = self._last_video_at.get(participant.id)
        if last is not None and at_s - last < 1.0 / VIDEO_FPS_MAX - 0.01:
            self.frames_skipped += 1
            return
        self._last_video_at[participant.id] = at_s
        engine = self.faces.get(participant.id)
        if engine is None:
            engine = self.faces[participant.id] = live_face_engine(participant.id)
        cues = engine.feed(frame_rgb, at_s)
        self.frames_analysed += 1
        if not participant.video:
            engine.pause()  # turned off while this frame was analysed: its findings are dropped
            return
        outcome = Outcome(cues=cues)
        features = engine.features
        if features is not None and self._panel_due(f"video:{participant.id}", at_s, 1.0):
            outcome.panel.append(VideoState(participant_id=participant.id, features=rounded(features)))
        if outcome.cues or outcome.panel:
            self._loop.call_soon_threadsafe(self._deliver, outcome)

    def video_ended(self, participant: Participant) -> None:
        engine = self.faces.pop(participant.id, None)
        if engine is not None:
            self._video_executor.submit(engine.close)

    def mute(self, kind: str, muted: bool) -> None:
        if muted:
            self.hints.mute(kind)
        else:
            self.hints.unmute(kind)

    def close(self) -> None:
        for engine in self.faces.values():
            self._video_executor.submit(engine.close)
        self.faces.clear()

    # --- engine work (cue thread) ---------------------------------------------------------------
    def _submit(self, fn: Callable[..., Outcome], *args: Any) -> None:
        future: Future[Outcome] = self._cue_executor.submit(fn, *args)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Outcome]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.error("session %s: a cue engine failed: %r", self.session.id, exc)
            return
        self._loop.call_soon_threadsafe(self._deliver, future.result())

    def _voice(self, participant_id: str, role: Role) -> VoiceAnalyzer:
        voice = self.voices.get(participant_id)
        if voice is None:
            voice = self.voices[participant_id] = VoiceAnalyzer(participant_id, self._voice_settings)
            self.conversation.add_participant(participant_id, ConversationRole(role.value))
        return voice

    def _voice_block(self, participant_id: str, role: Role, block: AudioChunk, start_s: float) -> Outcome:
        voice = self._voice(participant_id, role)
        outcome = Outcome(cues=voice.feed(block, start_s))
        now_s = start_s + len(block) / SAMPLE_RATE
        outcome.cues.extend(self.conversation.feed(voice.take_activity(), now_s))
        if voice.features is not None and self._panel_due(f"voice:{participant_id}", now_s, PANEL_EVERY_S):
            outcome.panel.append(
                VoiceState(
                    participant_id=participant_id,
                    features=rounded(voice.features),
                    baseline=rounded(voice.baseline),
                    baseline_ready=voice.baseline_ready,
                )
            )
        if self._panel_due("conversation", now_s, PANEL_EVERY_S):
            summary = rounded(self.conversation.summary(now_s))
            fields = {f.name: getattr(summary, f.name) for f in dataclasses.fields(summary)}
            outcome.panel.append(Conversation(**fields))
        return outcome

    def _caption_words(self, participant_id: str, role: Role, line: CaptionFinal) -> None:
        self._voice(participant_id, role).feed_caption(line)

    def _sentence(self, participant_id: str, role: Role, text: str, end_s: float) -> Outcome:
        analysis, cues = self.words.feed_line(participant_id, role.value, text, end_s)
        outcome = Outcome(cues=cues, line=analysis)
        outcome.panel.append(
            SentimentPoint(participant_id=participant_id, at_s=round(end_s, 2), compound=round(analysis.sentiment, 3))
        )
        if role is Role.COUNSELOR:
            tally = self.words.act_tally(participant_id)
            outcome.panel.append(
                Listening(
                    participant_id=participant_id,
                    open_question=tally.open_question,
                    closed_question=tally.closed_question,
                    reflection=tally.reflection,
                    other=tally.other,
                    reflection_to_question=rounded(tally.reflection_to_question),
                    percent_open=rounded(tally.percent_open),
                    rating=tally.rating.value if tally.rating is not None else None,
                )
            )
        return outcome

    def _panel_due(self, key: str, now_s: float, every_s: float) -> bool:
        last = self._last_panel.get(key)
        if last is not None and now_s - last < every_s:
            return False
        self._last_panel[key] = now_s
        return True

    # --- delivery (event loop) ------------------------------------------------------------------
    def _raised_already(self, cue: Cue) -> bool:
        """The same urgent words are checked up to three times (stable caption words, the open sentence,
        the finished sentence): the counselor gets one alert for them. Urgent alerts are otherwise never
        held back, so this is keyed by what was said (the rule), not by kind."""
        if cue.kind != "words.risk" or cue.severity is not Severity.URGENT:
            return False
        key = (cue.participant_id, str(cue.evidence.get("rule", "")))
        last = self._urgent_raised.get(key)
        if last is not None and abs(cue.at_s - last) <= URGENT_SAME_WORDS_S:
            return True
        self._urgent_raised[key] = cue.at_s
        return False

    def _deliver(self, outcome: Outcome) -> None:
        session = self.session
        deliver(session, [ToCounselors(event) for event in outcome.panel])
        if not outcome.cues:
            return
        for cue in self.hints.feed([c for c in outcome.cues if not self._raised_already(c)], session.clock()):
            participant = session.participants.get(cue.participant_id)
            view = cue_view(cue, participant.name if participant is not None else "", outcome.line_id)
            event = Alert(cue=view) if cue.severity is Severity.URGENT else CueRaised(cue=view)
            deliver(session, [ToCounselors(event)])
            log.debug("session %s %s for %s: %s", session.id, event.kind, cue.participant_id, cue.sentence)
            if self._on_cue is not None:
                self._on_cue(session, cue, outcome.line_id)
