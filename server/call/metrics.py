"""Prometheus metrics for operators, collected at scrape time (a per-app registry, no module globals).

``/metrics`` answers only an operator: with ``ATTUNE_METRICS_TOKEN`` set, a request carrying it as a
bearer token; without it, only a request made on this machine directly (from a loopback address, and not
forwarded by a proxy, which adds X-Forwarded-For). The series are counts with no per-person labels.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.media.uplink import UplinkManager
from server.session.registry import SessionRegistry
from server.settings import SETTINGS


class SessionCollector(Collector):
    """Counts only: no label names a session or a participant, because clients see those ids in their
    roster, and an uplink's state says whether someone consented and is being analysed."""

    def __init__(
        self, sessions: SessionRegistry, uplinks: UplinkManager, extra: Callable[[], Iterator[Metric]] | None = None
    ) -> None:
        self.sessions = sessions
        self.uplinks = uplinks
        self.extra = extra

    def collect(self) -> Iterator[Metric]:
        totals = self.uplinks.totals
        for name, help_text, value in (
            ("attune_uplink_audio_seconds", "Seconds of uplink audio handed to the analysis consumers",
             totals.audio_seconds),
            ("attune_uplink_audio_dropped_seconds", "Seconds of uplink audio dropped (should stay 0)",
             totals.audio_dropped_seconds),
            ("attune_uplink_video_frames", "Uplink video frames taken for analysis", totals.video_frames),
            ("attune_uplink_video_frames_dropped",
             "Uplink video frames skipped because a newer one arrived first (stale under load)",
             totals.video_frames_dropped),
        ):
            counter = CounterMetricFamily(name, help_text)
            counter.add_metric([], value)
            yield counter
        connected_uplinks = GaugeMetricFamily("attune_uplinks_connected", "Analysis uplinks connected now")
        connected_uplinks.add_metric([], sum(1 for u in self.uplinks.uplinks.values() if u.connected))
        live = self.sessions.live()
        sessions_active = GaugeMetricFamily("attune_sessions_active", "Sessions held by this instance, not ended")
        sessions_active.add_metric([], len(live))
        connected = GaugeMetricFamily("attune_participants_connected", "Participant sockets connected")
        connected.add_metric(
            [],
            sum(1 for s in live for p in s.participants.values() if p.connection is not None),
        )
        yield from (connected_uplinks, sessions_active, connected)
        if self.extra is not None:
            yield from self.extra()


def make_registry(
    sessions: SessionRegistry, uplinks: UplinkManager, extra: Callable[[], Iterator[Metric]] | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SessionCollector(sessions, uplinks, extra))
    return registry


METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def operator_may_read(request: web.Request, token: str | None) -> bool:
    if token:
        sent = request.headers.get("Authorization", "")
        return sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode())
    if any(h in request.headers for h in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def metrics(request: web.Request) -> web.Response:
    if not operator_may_read(request, request.app[SETTINGS].metrics_token):
        return web.Response(
            status=403,
            text="Metrics are for operators: send the bearer token set in ATTUNE_METRICS_TOKEN, "
            "or ask from this machine.\n",
        )
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
