"""Live analysis wiring: which consumers a participant's uplink feeds, and where their events go.

Captions go to every present participant who has them on (the speaker included); final lines also go
to the counselor-only channel as transcript lines and are stored as they come.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from analysis.events import CaptionEvent, CaptionFinal
from analysis.voice import VoiceSettings
from server.asr import AsrPool, AsrSettings, Transcriber
from server.captioning import CaptionStream
from server.cues import SessionCues
from server.media import AudioConsumer, VideoConsumer
from server.records import Recorder
from server.sessions import ConsentState, Participant, Presence, Role, Session
from server.settings import Settings

log = logging.getLogger(__name__)


def asr_settings(settings: Settings) -> AsrSettings:
    cfg = settings.asr
    return AsrSettings(
        model=cfg.model,
        device=cfg.device,  # type: ignore[arg-type]
        compute_type=cfg.compute_type,
        cpu_threads=cfg.cpu_threads,
        num_workers=cfg.num_workers,
        # "auto": a multilingual model detects the language of each decode
        language=None if cfg.language.strip().lower() in ("", "auto") else cfg.language,
        beam_size=cfg.beam_size,
    )


def caption_message(participant: Participant, event: CaptionEvent) -> dict[str, Any]:
    final = isinstance(event, CaptionFinal)
    return {
        "type": "caption",
        "participant_id": participant.id,
        "name": participant.name,
        "utterance_id": event.utterance_id,
        "kind": "final" if final else "partial",
        "text": event.text,
        "stable": event.text if final else event.stable_text,  # type: ignore[union-attr]
        "start_s": round(event.start_s, 3),
        "end_s": round(event.end_s if final else event.at_s, 3),  # type: ignore[union-attr]
    }


class LiveAnalysis:
    def __init__(self, settings: Settings, recorder: Recorder, transcriber: Transcriber | None = None) -> None:
        self.settings = settings
        self.recorder = recorder
        self.transcriber = transcriber  # tests may hand in a fake; otherwise the configured Whisper model
        self.pool: AsrPool | None = None
        self.streams: dict[tuple[str, str], CaptionStream] = {}
        self.cues: dict[str, SessionCues] = {}
        # One thread for all cue engines: they are cheap (ms per second of audio), must see data in
        # order, and must not compete with Whisper for more than a core.
        self.cue_executor: ThreadPoolExecutor | None = None
        self.video_executor: Executor | None = None

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        self.cue_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cues")
        if self.settings.captions:
            self.pool = AsrPool(asr_settings(self.settings), self.transcriber)
            await self.pool.start()
            log.info("caption engine ready (model %s)", self.settings.asr.model)
        yield
        for stream in list(self.streams.values()):
            await stream.close(flush=False)
        if self.pool is not None:
            await self.pool.close()
        for session_cues in self.cues.values():
            session_cues.close()
        self.cue_executor.shutdown(wait=True, cancel_futures=True)

    def session_cues(self, session: Session) -> SessionCues:
        for sid in [sid for sid, c in self.cues.items() if c.session.ended]:
            self.cues.pop(sid).close()
        cues = self.cues.get(session.id)
        if cues is None:
            assert self.cue_executor is not None and self.video_executor is not None
            voice = VoiceSettings(baseline_speech_s=self.settings.voice_baseline_s)
            cues = self.cues[session.id] = SessionCues(session, self.cue_executor, self.video_executor,
                                                       self._store_cue, voice)
        return cues

    def _store_cue(self, session: Session, cue: Any) -> None:
        task = asyncio.get_running_loop().create_task(self.recorder.cue(session, cue))
        task.add_done_callback(lambda t: t.exception())

    def consumers(self, session: Session, participant: Participant) -> tuple[list[AudioConsumer], list[VideoConsumer]]:
        session_cues = self.session_cues(session)
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
        for p in session.participants.values():
            conn = p.connection
            if p.presence is Presence.ADMITTED and conn is not None and conn.captions_enabled:
                conn.send(message)
        if isinstance(event, CaptionFinal):
            line = await self.session_cues(session).final_line(participant, event)
            risk = line.risk if line is not None else None
            session.send_to_counselors(
                {
                    "kind": "transcript_line",
                    "participant_id": participant.id,
                    "name": participant.name,
                    "role": participant.role.value,
                    "utterance_id": event.utterance_id,
                    "text": event.text,
                    "start_s": message["start_s"],
                    "end_s": message["end_s"],
                    "sentiment": round(line.sentiment, 3) if line is not None else None,
                    "risk": risk.level.value if risk is not None else None,
                    "counselor_act": line.counselor_act.value if line and line.counselor_act else None,
                }
            )
            log.debug("session %s participant %s final line: %s", session.id, participant.id, event.text)

    def metrics(self) -> Iterator[Metric]:
        if self.pool is None:
            return
        snapshot = self.pool.snapshot()
        queue = GaugeMetricFamily("attune_asr_queue_depth", "Decode requests waiting for a worker")
        queue.add_metric([], self.pool.queue_depth)
        yield queue
        for name, value in snapshot.items():
            family = GaugeMetricFamily(f"attune_asr_{name}", f"ASR pool: {name.replace('_', ' ')}")
            family.add_metric([], float(value))
            yield family
        backlog = GaugeMetricFamily(
            "attune_caption_backlog_seconds", "Audio waiting for caption analysis", labels=["session", "participant"]
        )
        dropped = CounterMetricFamily(
            "attune_caption_audio_dropped_seconds", "Audio the caption engine had to drop (should stay 0)",
            labels=["session", "participant"],
        )
        for (sid, pid), stream in self.streams.items():
            backlog.add_metric([sid, pid], stream.backlog_s)
            dropped.add_metric([sid, pid], stream.dropped_s)
        yield backlog
        yield dropped


class _Tracked:
    """An audio consumer that forgets its stream's registry entry when it closes."""

    def __init__(self, stream: CaptionStream, forget: Any) -> None:
        self.stream = stream
        self.forget = forget

    async def on_audio(self, samples: Any, start_s: float) -> None:
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

    async def on_audio(self, samples: Any, start_s: float) -> None:
        self.cues.audio(self.participant, samples, start_s)

    async def close(self, flush: bool) -> None:
        if flush:
            self.cues.audio_ended(self.participant)


class _FaceFeed:
    """Feeds the face engine with the client's newest video frames (on the video thread)."""

    def __init__(self, cues: SessionCues, participant: Participant) -> None:
        self.cues = cues
        self.participant = participant

    def on_video(self, frame_rgb: Any, at_s: float) -> None:
        self.cues.video(self.participant, frame_rgb, at_s)

    def close(self) -> None:
        self.cues.video_ended(self.participant)
