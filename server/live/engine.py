"""Live analysis wiring: which consumers a participant's uplink feeds, and where their events go.

Captions go to every admitted participant who has them on (the speaker included); final lines are stored
first, then shown, then go to the counselor-only channel as transcript lines with their text cues.

``live_ctx`` builds the whole live pipeline complete (the ASR pool with its model, the cue and video
threads, the uplink manager that feeds them) and owns its end, in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from analysis.events import CaptionEvent, CaptionFinal, Cue, Severity
from analysis.voice import VoiceSettings
from server.live.asr import AsrPool, AsrSettings, Transcriber
from server.live.caption_stream import CaptionStream
from server.live.cues import SessionCues
from server.media.consumers import AudioConsumer, VideoConsumer
from server.media.uplink import UplinkManager
from server.records.context import RECORDER
from server.records.recorder import Recorder
from server.session.delivery import deliver
from server.session.effects import ToCaptionViewers, ToCounselors
from server.session.model import Session
from server.session.participant import Participant
from server.session.protocol.counselor import TranscriptLine
from server.session.protocol.server import Caption
from server.session.states import ConsentState, Role
from server.settings import SETTINGS, Settings

log = logging.getLogger(__name__)


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
    )


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


class LiveAnalysis:
    """Caption streams and cue engines of every live session on this server."""

    def __init__(
        self,
        settings: Settings,
        recorder: Recorder,
        pool: AsrPool | None,
        cue_executor: Executor,
        video_executor: Executor,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.pool = pool
        self.streams: dict[tuple[str, str], CaptionStream] = {}
        self.cues: dict[str, SessionCues] = {}
        self._cue_executor = cue_executor
        self._video_executor = video_executor
        self._tasks: set[asyncio.Task[None]] = set()

    def session_cues(self, session: Session) -> SessionCues:
        for sid in [sid for sid, c in self.cues.items() if c.session.ended]:
            self.cues.pop(sid).close()
        cues = self.cues.get(session.id)
        if cues is None:
            voice = VoiceSettings(baseline_speech_s=self.settings.voice_baseline_s)
            cues = self.cues[session.id] = SessionCues(
                session, self._cue_executor, self._video_executor, self._store_cue, voice
            )
        return cues

    def _store_cue(self, session: Session, cue: Cue) -> None:
        task = asyncio.get_running_loop().create_task(self.recorder.cue(session, cue))
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
            key = (session.id, participant.id)

            async def on_event(event: CaptionEvent) -> None:
                await self._route_caption(session, participant, event)

            stream = CaptionStream(self.pool, f"{session.id}/{participant.id}", on_event)
            self.streams[key] = stream
            audio.insert(0, _Tracked(stream, lambda: self.streams.pop(key, None)))
        return audio, video

    async def _route_caption(self, session: Session, participant: Participant, event: CaptionEvent) -> None:
        if participant.consent is not ConsentState.GRANTED:
            return  # consent was withdrawn while this line was in flight: it is not shown or kept
        message = caption_message(participant, event)
        if isinstance(event, CaptionFinal):
            # Stored before anyone sees it: a crash can then lose only the line still being spoken.
            await self.recorder.transcript_line(session, participant, event.start_s, event.end_s, event.text)
        deliver(session, [ToCaptionViewers(message)])
        if isinstance(event, CaptionFinal):
            line = await self.session_cues(session).final_line(participant, event)
            risk = line.risk if line is not None else None
            act = line.counselor_act if line is not None else None
            transcript_line = TranscriptLine(
                participant_id=participant.id,
                name=participant.name,
                role=participant.role,
                utterance_id=event.utterance_id,
                text=event.text,
                start_s=message.start_s,
                end_s=message.end_s,
                sentiment=round(line.sentiment, 3) if line is not None else None,
                risk=None if risk is None else "urgent" if risk.level is Severity.URGENT else "notice",
                counselor_act=act.value if act is not None else None,
            )
            deliver(session, [ToCounselors(transcript_line)])
            log.debug("session %s participant %s final line: %s", session.id, participant.id, event.text)

    async def close(self) -> None:
        for stream in list(self.streams.values()):
            await stream.close(flush=False)
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


class _Tracked:
    """An audio consumer that forgets its stream's registry entry when it closes."""

    def __init__(self, stream: CaptionStream, forget: Callable[[], object]) -> None:
        self.stream = stream
        self.forget = forget

    async def on_audio(self, samples: npt.NDArray[np.int16], start_s: float) -> None:
        await self.stream.on_audio(samples, start_s)

    async def close(self, flush: bool) -> None:
        try:
            await self.stream.close(flush=flush)
        finally:
            self.forget()


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
        pool = AsrPool(asr_settings(settings), app.get(TRANSCRIBER))
        await pool.start()
        log.info("caption engine ready (model %s)", settings.asr.model)
    live = LiveAnalysis(settings, app[RECORDER], pool, cue_executor, video_executor)
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
