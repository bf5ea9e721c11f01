"""Live analysis wiring: which consumers a participant's uplink feeds, and where their events go.

Captions go to every admitted participant who has them on (the speaker included); final lines are stored
first, then shown, then go to the counselor-only channel as transcript lines with their text cues.

``live_ctx`` builds the whole live pipeline complete (the ASR pool with its model, the cue and video
threads, the uplink manager that feeds them) and owns its end, in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from analysis.captions import CaptionPolicySettings, guard_segments
from analysis.events import CaptionEvent, CaptionFinal, CaptionPartial, Cue, TimedWord
from analysis.revision import RevisionSettings, TurnToRevise
from analysis.text_model import TextCueJudge
from analysis.voice import VoiceSettings
from server.live.asr import AsrBusyError, AsrPool, AsrSettings, Transcriber
from server.live.caption_stream import CaptionStream
from server.live.cues import SessionCues
from server.live.load import LoadSettings
from server.live.text_encoder import make_text_cue_judge_or_none
from server.live.transcript import RevisionCounts, SessionTranscript
from server.media.consumers import AudioConsumer, VideoConsumer
from server.media.uplink import UplinkManager
from server.records.context import RECORDER
from server.records.recorder import Recorder
from server.session.delivery import deliver
from server.session.effects import ToAdmitted, ToCaptionViewers, ToCounselors, ToParticipant
from server.session.model import Session
from server.session.participant import Participant
from server.session.protocol.counselor import CaptionsOff, CaptionsOn
from server.session.protocol.server import Caption, CaptionsAvailable, CaptionsUnavailable
from server.session.states import ConsentState, Role
from server.settings import SETTINGS, Settings

log = logging.getLogger(__name__)

SENTENCE_TICK_S = 0.5
OVERLOAD_FLOOR_SESSIONS = 2  # never shed for a behind pool while fewer sessions than this have captions
REVISION_BEAM_SIZE = 5
REVISION_PRIORITY = 2  # after every caption decode: a turn's second pass waits until the captions are served
REVISION_WAIT_TRIES, REVISION_WAIT_STEP_S = 20, 0.5  # how long a finished turn waits for an idle pool
# The captions' recent queue waits (``PoolLoad.pressure_s``) at most this, and the pool not saturated: it
# keeps up easily (``pool_is_calm``). Only then does a second pass start (it holds a worker for seconds: a
# whole turn, Whisper's 30 s window, beam 5), or a session that started without captions get them.
CALM_PRESSURE_S = 0.25
CAPTIONS_OFF_FOR_COUNSELOR = (
    "Live captions are off for this session: the caption engine is already serving as many sessions as it "
    "can. The call works as usual and voice and video cues carry on, but this session has no live captions, "
    "no transcript and no crisis-language alerts until the engine has room; you will be told when they start."
)
CAPTIONS_OFF_FOR_PARTICIPANT = "Live captions are not available right now."
CAPTIONS_ON_FOR_COUNSELOR = (
    "Live captions are on for this session now, with the transcript and crisis-language alerts. What was "
    "said while they were off is not in the transcript."
)
CAPTIONS_ON_FOR_PARTICIPANT = "Live captions are on now."
# A session that started without captions gets them when there is room and the pool is calm: no more than
# one such session per this many seconds (the load figures average over 10 s, so each readmission shows in
# them before the next).
READMIT_SPACING_S = 10.0


def asr_settings(settings: Settings) -> AsrSettings:
    cfg = settings.asr
    return AsrSettings(
        model=cfg.model,
        device=cfg.device,
        compute_type=cfg.compute_type,
        cpu_threads=cfg.cpu_threads,
        num_workers=cfg.num_workers,
        # "auto": a multilingual model detects the language of each decode
        language=None if cfg.language.strip().lower() in ("", "auto") else cfg.language,
        beam_size=cfg.beam_size,
        max_batch=cfg.max_batch,
    )


def pool_is_calm(pool: AsrPool, now: float) -> bool:
    """The captions' recent queue waits are short and the pool is not saturated."""
    return pool.load.pressure_s(now) <= CALM_PRESSURE_S and not pool.load.saturated(now)


def free_for_second_pass(pool: AsrPool) -> bool:
    """Whether a turn's second pass may start now: a worker is free, no decode waits, and the pool is calm
    (a second pass holds its worker for seconds)."""
    return pool.has_idle_worker and pool_is_calm(pool, pool.now())


def room_for_a_late_session(pool: AsrPool, captioned: int, capacity: int, last_admitted: float | None) -> bool:
    """Whether a session that started without live captions may get them now: there is room, no session
    was given captions in the last ``READMIT_SPACING_S`` (the pool's figures must show its load first), and
    the pool is calm with finals in their full window."""
    now = pool.now()
    if captioned >= capacity or (last_admitted is not None and now - last_admitted < READMIT_SPACING_S):
        return False
    return pool_is_calm(pool, now) and not pool.load.short_finals(now)


def caption_message(participant: Participant, event: CaptionEvent) -> Caption:
    if isinstance(event, CaptionFinal):
        stable, end_s = event.text, event.end_s
    else:
        stable, end_s = event.stable_text, event.at_s
    return Caption(
        participant_id=participant.id,
        name=participant.name,
        utterance_id=event.utterance_id,
        kind="final" if isinstance(event, CaptionFinal) else "partial",
        text=event.text,
        stable=stable,
        start_s=round(event.start_s, 3),
        end_s=round(end_s, 3),
    )


def rules_only() -> TextCueJudge | None:
    """No text model: crisis language and counselor acts from the rules alone."""
    return None


class LiveAnalysis:
    """Caption streams and cue engines of every live session on this server."""

    def __init__(
        self,
        settings: Settings,
        recorder: Recorder,
        pool: AsrPool | None,
        cue_executor: Executor,
        video_executor: Executor,
        judge_factory: Callable[[], TextCueJudge | None] | None = None,
    ) -> None:
        self.settings = settings
        self._judge_factory = judge_factory or rules_only
        self.recorder = recorder
        self.pool = pool
        self.streams: dict[tuple[str, str], CaptionStream] = {}
        self.cues: dict[str, SessionCues] = {}
        self.transcripts: dict[str, SessionTranscript] = {}
        self._cue_executor = cue_executor
        self._video_executor = video_executor
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._audio: dict[str, CaptionStream] = {}  # stream id -> its stream, kept for the turns' second pass
        self._revision_settings = RevisionSettings()
        self.revisions = RevisionCounts()
        self._guard = CaptionPolicySettings()
        # Admission: a session is given captions (or not) when its first uplink starts; under load a
        # captioned session gets fewer partials and cheaper finals, never none. One that started without
        # captions gets them later, oldest first, once room comes free (``_readmit``); a captioned session
        # keeps them for its life.
        self._captioned: dict[str, Session] = {}
        self._uncaptioned: dict[str, tuple[Session, Literal["capacity", "overloaded"]]] = {}
        self.sessions_shed = 0
        self.sessions_readmitted = 0
        self._last_admitted: float | None = None  # pool clock

    def session_cues(self, session: Session) -> SessionCues:
        for sid in [sid for sid, c in self.cues.items() if c.session.ended and not self._streams_of(sid)]:
            self.cues.pop(sid).close()
            transcript = self.transcripts.pop(sid, None)
            if transcript is not None:
                self._spawn(transcript.close())
        cues = self.cues.get(session.id)
        if cues is None:
            voice = VoiceSettings(baseline_speech_s=self.settings.voice_baseline_s)
            for stream_id in [k for k in self._audio if k.startswith(f"{session.id}/")]:
                if self._audio[stream_id] not in self.streams.values():
                    del self._audio[stream_id]
            cues = self.cues[session.id] = SessionCues(
                session, self._cue_executor, self._video_executor, self._store_cue, voice, self._judge_factory()
            )
        return cues

    def transcript(self, session: Session) -> SessionTranscript:
        transcript = self.transcripts.get(session.id)
        if transcript is None:
            transcript = SessionTranscript(
                session, self.recorder, self.session_cues(session),
                reviser=self._revise_turn if self.pool is not None else None,
                revision_settings=self._revision_settings, revision_counts=self.revisions,
            )
            self.transcripts[session.id] = transcript
            self._start_ticker()
        return transcript

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="sentence pauses")

    async def _tick(self) -> None:
        """Every half second: ends sentences at pauses (each speaker's settled time goes to the assembler)
        and gives captions to a session that started without them when there is room."""
        while True:
            await asyncio.sleep(SENTENCE_TICK_S)
            for sid, transcript in list(self.transcripts.items()):
                settled = {stream.stream_id: stream.settled_until_s for stream in self._streams_of(sid)}
                try:
                    await transcript.advance(transcript.session.clock(), settled)
                except Exception:
                    log.exception("session %s: ending sentences at a pause failed", sid)
            self._readmit()

    async def _revise_turn(self, turn: TurnToRevise) -> list[TimedWord] | None:
        """The turn's audio decoded again as a whole (beam search, Whisper's full window), or None when its
        audio is gone or the pool is behind (the captions come first)."""
        stream = self._audio.get(turn.stream_id)
        pool = self.pool
        if stream is None or pool is None:
            return None
        # The audio is taken first: a turn may be as long as the stream keeps, and the wait below must not
        # let its beginning go.
        start_s, end_s = turn.audio_span(self._revision_settings.pad_s)
        audio = stream.audio_between(start_s, end_s)
        if audio is None:
            return None
        # Only on an idle pool (waiting a little for one): the captions' decodes never queue behind a second
        # pass. Under load the turn keeps its live words and the metric says so.
        for _ in range(REVISION_WAIT_TRIES):
            if free_for_second_pass(pool):
                break
            await asyncio.sleep(REVISION_WAIT_STEP_S)
        else:
            return None
        try:
            result = await pool.transcribe(
                audio, beam_size=REVISION_BEAM_SIZE, stream_id=f"{turn.stream_id}#revision",
                priority=REVISION_PRIORITY,
            )
        except AsrBusyError:
            return None
        return [
            TimedWord(w.text.strip(), start_s + w.start_s, start_s + w.end_s, glued=not w.text[:1].isspace())
            for w in guard_segments(result, self._guard)
            if w.text.strip()
        ]

    def _streams_of(self, session_id: str) -> list[CaptionStream]:
        return [stream for (sid, _pid), stream in self.streams.items() if sid == session_id]

    def _store_cue(self, session: Session, cue: Cue, line_id: int | None) -> None:
        self._spawn(self.recorder.cue(session, cue, line_id))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def presence_changed(self, session: Session, participant: Participant) -> None:
        """Someone's connection dropped (the call layer says so); see ``SessionCues.presence_changed``."""
        if session.id in self.cues:
            self.cues[session.id].presence_changed(participant)

    def consumers(self, session: Session, participant: Participant) -> tuple[list[AudioConsumer], list[VideoConsumer]]:
        session_cues = self.session_cues(session)
        # A new uplink: this participant's audio reaches the analysis from now on (an arrival or a rejoin).
        session_cues.presence_changed(participant)
        audio: list[AudioConsumer] = [_VoiceFeed(session_cues, participant)]
        video: list[VideoConsumer] = []
        if participant.role is Role.CLIENT:
            video.append(_FaceFeed(session_cues, participant))
        if self.pool is not None:
            captioned = self._captions_for(session, participant)
            audio.insert(0, _CaptionFeed(
                lambda: self._caption_stream(session, participant),
                started=self._caption_stream(session, participant) if captioned else None,
            ))
        return audio, video

    def _caption_stream(self, session: Session, participant: Participant) -> _StartedStream | None:
        """A caption stream for the participant's audio, when the session has live captions (None until
        then: a session that started without them may get them later)."""
        if self.pool is None or session.id not in self._captioned or session.ended:
            return None
        key = (session.id, participant.id)

        async def on_event(event: CaptionEvent) -> None:
            await self._route_caption(session, participant, event)

        stream = CaptionStream(self.pool, f"{session.id}/{participant.id}", on_event)
        self.streams[key] = stream
        self._audio[stream.stream_id] = stream

        async def stream_closed() -> None:
            if self.streams.get(key) is stream:
                del self.streams[key]
            await self.transcript(session).end_stream(stream.stream_id, session.clock())

        return stream, stream_closed

    def _forget_ended(self) -> None:
        for table in (self._captioned, self._uncaptioned):
            for sid in [sid for sid, entry in table.items() if _session_of(entry).ended]:
                del table[sid]

    def _readmit(self) -> None:
        """Live captions for the oldest session that started without them, once there is room and the pool
        keeps up easily; one session at a time, ``READMIT_SPACING_S`` apart. Its uplinks' caption feeds
        start their streams with their next audio."""
        pool = self.pool
        if pool is None or not self._uncaptioned:
            return
        self._forget_ended()
        if not self._uncaptioned or not room_for_a_late_session(
            pool, len(self._captioned), self.settings.caption_capacity, self._last_admitted
        ):
            return
        now = pool.now()
        sid, (session, reason) = next(iter(self._uncaptioned.items()))
        del self._uncaptioned[sid]
        self._captioned[sid] = session
        self._last_admitted = now
        self.sessions_readmitted += 1
        log.info("session %s gets live captions now (it started without them: %s; %d captioned sessions)",
                 sid, reason, len(self._captioned))
        deliver(session, [
            ToCounselors(CaptionsOn(message=CAPTIONS_ON_FOR_COUNSELOR)),
            ToAdmitted(CaptionsAvailable(message=CAPTIONS_ON_FOR_PARTICIPANT)),
        ])

    def _captions_for(self, session: Session, participant: Participant) -> bool:
        """Whether this session has live captions; a new session is admitted while there is room and the
        ASR pool keeps up. Participants of a session without them are told, calmly, when their uplink
        starts (and the counselor's panel why)."""
        assert self.pool is not None
        self._forget_ended()
        if session.id in self._captioned:
            return True
        shed = self._uncaptioned.get(session.id)
        if shed is None:
            capacity = self.settings.caption_capacity
            # A lone captioned session that lags says more about the machine than about caption load.
            behind = (
                self.settings.caption_shed_when_behind and len(self._captioned) >= OVERLOAD_FLOOR_SESSIONS
                and self.pool.load.saturated(self.pool.now())
            )
            if len(self._captioned) < capacity and not behind:
                self._captioned[session.id] = session
                self._last_admitted = self.pool.now()
                return True
            reason: Literal["capacity", "overloaded"] = (
                "capacity" if len(self._captioned) >= capacity else "overloaded"
            )
            shed = self._uncaptioned[session.id] = (session, reason)
            self.sessions_shed += 1
            self._start_ticker()
            log.warning(
                "session %s starts without live captions (%s: %d captioned sessions, capacity %d)",
                session.id, reason, len(self._captioned), capacity,
            )
        deliver(session, [
            ToCounselors(CaptionsOff(reason=shed[1], message=CAPTIONS_OFF_FOR_COUNSELOR)),
            ToParticipant(participant.id, CaptionsUnavailable(message=CAPTIONS_OFF_FOR_PARTICIPANT)),
        ])
        return False

    async def _route_caption(self, session: Session, participant: Participant, event: CaptionEvent) -> None:
        if participant.consent is not ConsentState.GRANTED:
            return  # consent was withdrawn while this line was in flight: it is not shown or kept
        if isinstance(event, CaptionFinal):
            # Stored (as part of its sentence) before anyone sees it: a crash loses only what is being said.
            await self.transcript(session).final(participant, event)
        elif isinstance(event, CaptionPartial):
            self.transcript(session).partial(participant, event)
        deliver(session, [ToCaptionViewers(caption_message(participant, event))])

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for stream in list(self.streams.values()):
            await stream.close(flush=False)
        for transcript in self.transcripts.values():
            await transcript.close()
        for session_cues in self.cues.values():
            session_cues.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def metrics(self) -> Iterator[Metric]:
        if self.pool is None:
            return
        for name, value in self.pool.snapshot().items():
            family = GaugeMetricFamily(f"attune_asr_{name}", f"ASR pool: {name.replace('_', ' ')}")
            family.add_metric([], float(value))
            yield family
        backlog = GaugeMetricFamily(
            "attune_caption_backlog_seconds", "Audio waiting for caption analysis, summed over live streams"
        )
        dropped = CounterMetricFamily(
            "attune_caption_audio_dropped_seconds", "Audio the caption engine had to drop (should stay 0)"
        )
        streams = GaugeMetricFamily("attune_caption_streams", "Live caption streams")
        backlog.add_metric([], sum(s.backlog_s for s in self.streams.values()))
        dropped.add_metric([], sum(s.dropped_s for s in self.streams.values()))
        streams.add_metric([], len(self.streams))
        yield from (backlog, dropped, streams)
        turns = CounterMetricFamily(
            "attune_transcript_turns_second_pass",
            "Finished speaker turns by what their second pass did (skipped: the ASR pool was behind or the audio gone)",
            labels=["outcome"],
        )
        for outcome in ("revised", "unchanged", "refused", "skipped"):
            turns.add_metric([outcome], float(getattr(self.revisions, outcome)))
        yield turns
        shed = CounterMetricFamily(
            "attune_sessions_shed", "Sessions started without live captions because the caption engine was full"
        )
        shed.add_metric([], self.sessions_shed)
        readmitted = CounterMetricFamily(
            "attune_sessions_readmitted",
            "Sessions that started without live captions and got them later, when room came free",
        )
        readmitted.add_metric([], self.sessions_readmitted)
        captioned = GaugeMetricFamily("attune_caption_sessions", "Live sessions admitted to live captions")
        captioned.add_metric([], sum(1 for s in self._captioned.values() if not s.ended))
        capacity = GaugeMetricFamily("attune_caption_capacity", "Sessions the caption engine admits at once")
        capacity.add_metric([], self.settings.caption_capacity)
        yield from (shed, readmitted, captioned, capacity)


def _session_of(entry: Session | tuple[Session, str]) -> Session:
    return entry[0] if isinstance(entry, tuple) else entry


_StartedStream = tuple[CaptionStream, Callable[[], Coroutine[Any, Any, None]]]  # and its "closed" callback


class _CaptionFeed:
    """A participant's audio into their caption stream, and word when the stream has closed (its last words
    are in). In a session that started without captions the stream starts when the session gets them
    (``start`` says whether it has, and makes the stream): the audio before that is not captioned."""

    def __init__(self, start: Callable[[], _StartedStream | None], started: _StartedStream | None) -> None:
        self._start = start
        self._started = started

    async def on_audio(self, samples: npt.NDArray[np.int16], start_s: float) -> None:
        if self._started is None:
            self._started = self._start()
            if self._started is None:
                return
        await self._started[0].on_audio(samples, start_s)

    async def close(self, flush: bool) -> None:
        if self._started is None:
            self._start = lambda: None
            return
        stream, closed = self._started
        try:
            await stream.close(flush=flush)
        finally:
            await closed()


class _VoiceFeed:
    """Feeds the voice and conversation engines with every audio chunk of one participant."""

    def __init__(self, cues: SessionCues, participant: Participant) -> None:
        self.cues = cues
        self.participant = participant

    async def on_audio(self, samples: npt.NDArray[np.int16], start_s: float) -> None:
        self.cues.audio(self.participant, samples, start_s)

    async def close(self, flush: bool) -> None:
        if flush:
            self.cues.audio_ended(self.participant)
        self.cues.presence_changed(self.participant)  # no longer heard: gone, or about to come back


class _FaceFeed:
    """Feeds the face engine with the client's newest video frames (on the video thread)."""

    def __init__(self, cues: SessionCues, participant: Participant) -> None:
        self.cues = cues
        self.participant = participant

    def on_video(self, frame_rgb: npt.NDArray[np.uint8], at_s: float) -> None:
        self.cues.video(self.participant, frame_rgb, at_s)

    def close(self) -> None:
        self.cues.video_ended(self.participant)


LIVE = web.AppKey("live_analysis", LiveAnalysis)
UPLINKS = web.AppKey("uplinks", UplinkManager)
TRANSCRIBER = web.AppKey("transcriber", Transcriber)  # optional: a model double from tests and benches


async def live_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # One thread for all cue engines: they are cheap (ms per second of audio), must see data in order, and
    # must not compete with Whisper for more than a core. One video thread for the same reason.
    cue_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cues")
    video_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video")
    pool: AsrPool | None = None
    if settings.captions:
        pool = AsrPool(asr_settings(settings), app.get(TRANSCRIBER), LoadSettings(capacity=settings.caption_capacity))
        await pool.start()
        log.info("caption engine ready (model %s)", settings.asr.model)
    judge_factory = rules_only
    if settings.text_model:
        # Loaded once, off the event loop, before the first session needs it (about a second).
        if await asyncio.get_running_loop().run_in_executor(cue_executor, make_text_cue_judge_or_none) is not None:
            judge_factory = make_text_cue_judge_or_none
    live = LiveAnalysis(settings, app[RECORDER], pool, cue_executor, video_executor, judge_factory)
    uplinks = UplinkManager(settings.ice_servers, settings.uplink_audio_queue_chunks, video_executor, live.consumers)
    app[LIVE] = live
    app[UPLINKS] = uplinks
    yield
    await uplinks.close_all()
    await live.close()
    if pool is not None:
        await pool.close()
    await asyncio.to_thread(cue_executor.shutdown, wait=True, cancel_futures=True)
    await asyncio.to_thread(video_executor.shutdown, wait=True, cancel_futures=True)
