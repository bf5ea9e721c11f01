"""Prometheus metrics, collected from the live session state at scrape time (a per-app registry, no
module globals). Labels carry opaque session and participant ids, never names."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.session.registry import SessionRegistry
from server.session.states import Presence

LABELS = ["session", "participant", "role"]


class SessionCollector(Collector):
    def __init__(self, sessions: SessionRegistry, extra: Callable[[], Iterator[Metric]] | None = None) -> None:
        self.sessions = sessions
        self.extra = extra

    def collect(self) -> Iterator[Metric]:
        audio = CounterMetricFamily(
            "attune_uplink_audio_seconds", "Seconds of uplink audio handed to the analysis consumers", labels=LABELS
        )
        audio_dropped = CounterMetricFamily(
            "attune_uplink_audio_dropped_seconds", "Seconds of uplink audio dropped (should stay 0)", labels=LABELS
        )
        frames = CounterMetricFamily(
            "attune_uplink_video_frames", "Uplink video frames taken for analysis", labels=LABELS
        )
        dropped = CounterMetricFamily(
            "attune_uplink_video_frames_dropped",
            "Uplink video frames skipped because a newer one arrived first (stale under load)",
            labels=LABELS,
        )
        uplink_up = GaugeMetricFamily(
            "attune_uplink_connected", "1 while the participant's analysis uplink is connected", labels=LABELS
        )
        sessions_active = GaugeMetricFamily("attune_sessions_active", "Sessions not ended")
        connected = GaugeMetricFamily("attune_participants_connected", "Participant sockets connected")
        n_sessions = n_connected = 0
        for session in self.sessions.sessions.values():
            if session.ended:
                continue
            n_sessions += 1
            for p in session.participants.values():
                if p.connection is not None and p.presence is not Presence.LEFT:
                    n_connected += 1
                labels = [session.id, p.id, p.role.value]
                audio.add_metric(labels, p.media.audio_seconds)
                audio_dropped.add_metric(labels, p.media.audio_dropped_seconds)
                frames.add_metric(labels, p.media.video_frames)
                dropped.add_metric(labels, p.media.video_frames_dropped)
                uplink_up.add_metric(labels, 1.0 if p.media.uplink_state == "connected" else 0.0)
        sessions_active.add_metric([], n_sessions)
        connected.add_metric([], n_connected)
        yield from (audio, audio_dropped, frames, dropped, uplink_up, sessions_active, connected)
        if self.extra is not None:
            yield from self.extra()


def make_registry(sessions: SessionRegistry, extra: Callable[[], Iterator[Metric]] | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SessionCollector(sessions, extra))
    return registry


METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
