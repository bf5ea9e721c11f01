"""Calls that outlive their server, for real: PostgreSQL, two ``attune serve`` instances and HAProxy in front
(deploy/haproxy.cfg). A Chromium counselor and a Chromium client are in a peer-to-peer call, and two more
sessions have aiortc peers sending real speech; the instance that holds them is killed with SIGKILL. The
browsers' call never stops, every session continues on the surviving instance with the same participants,
captions resume within 10 s, and the stored transcripts have no gap beyond the line being spoken."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.conftest import free_port, fresh_postgres_database
from tests.e2e.conftest import CHROMIUM, PERSONAS, WS_RECORDER
from tests.e2e.flows import PEER_STATS_JS, admit, client_joins, counselor_opens_room, start_session, wait_media_flowing
from tests.e2e.media import to_wav, to_y4m
from tests.failover.cluster import EMAIL, PASSWORD, Balancer, Cluster, Instance, create_counselor, instance_env
from tests.failover.speakers import Speaker, first_caption, reconnect, start_speaker

pytestmark = pytest.mark.model

T = TypeVar("T")


@pytest.fixture
async def cluster(tmp_path: Path, postgres_server: str) -> AsyncIterator[Cluster]:
    database_url = fresh_postgres_database(postgres_server)
    await create_counselor(database_url, tmp_path / "setup")
    instances = [
        # Three captioned sessions on one instance is beyond what this 2-core machine keeps up with (README,
        # bench.load), and shedding is not what this test is about: no session starts without captions.
        Instance(name, free_port(), tmp_path / f"{name}.log",
                 instance_env(tmp_path / name, database_url, name, ATTUNE_CAPTION_SHED_WHEN_BEHIND="0"))
        for name in ("attune-a", "attune-b")
    ]
    balancer = Balancer(free_port(), instances, tmp_path / "haproxy.cfg", tmp_path / "haproxy.log")
    await asyncio.gather(*(i.start() for i in instances))
    await balancer.start()
    try:
        yield Cluster(database_url, instances, balancer, tmp_path)
    finally:
        balancer.stop()
        await asyncio.gather(*(i.stop() for i in instances))


class BrowserThread:
    """Playwright's sync API on a thread of its own (its objects belong to the thread that made them),
    driven from the test's event loop."""

    def __init__(self, base_url: str, media: dict[str, tuple[Path, Path]]) -> None:
        self.base_url = base_url
        self.media = media
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="browsers")
        self._playwright: Playwright | None = None
        self._browsers: list[Browser] = []

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._pool.submit(fn, *args))

    def open(self, persona: str) -> Page:
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        wav, y4m = self.media[persona]
        browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}", f"--use-file-for-fake-video-capture={y4m}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        self._browsers.append(browser)
        page = browser.new_context(base_url=self.base_url, viewport={"width": 1280, "height": 800}).new_page()
        page.add_init_script(WS_RECORDER)
        return page

    def close(self) -> None:
        for browser in self._browsers:
            browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    async def shutdown(self) -> None:
        await self.run(self.close)
        self._pool.shutdown(wait=True)


def timeline(page: Page, since_ms: float) -> list[str]:
    """What a page received after ``since_ms`` (its socket's join, uplink, captions), for a failure message."""
    seen = page.evaluate("(since) => window.__wsSeen.filter((m) => m.at > since)", since_ms)
    kinds = ("welcome", "uplink_answer", "caption", "error")
    return [f"{(m['at'] - since_ms) / 1000:.1f} s {m['type']}" for m in seen if m["type"] in kinds][:15]


def p2p_samples(pages: list[Page], seconds: float) -> list[tuple[float, list[dict[str, Any]]]]:
    """getStats of both browsers' mesh peers, every 0.25 s, for ``seconds``."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out.append((time.monotonic(), [dict(page.evaluate(PEER_STATS_JS)) for page in pages]))
        time.sleep(0.25)
    return out


async def test_killing_the_instance_moves_its_sessions_and_the_call_goes_on(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = cluster.balancer.url
    folder = tmp_path_factory.mktemp("media")
    media = {p: (to_wav(a, folder / f"{p}.wav"), to_y4m(v, folder / f"{p}.y4m")) for p, (a, v) in PERSONAS.items()}
    browsers = BrowserThread(base, media)
    speakers: list[Speaker] = []
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        try:
            # The browser session: a counselor and a client in a peer-to-peer call, through the balancer.
            counselor = await browsers.run(browsers.open, "counselor")
            client = await browsers.run(browsers.open, "client")
            links = await browsers.run(start_session, counselor)
            await browsers.run(counselor_opens_room, counselor, links, "Dr. Rivera")
            await browsers.run(client_joins, client, links, "Sam")
            await browsers.run(lambda: counselor.locator("#waiting-list").wait_for())
            await browsers.run(admit, counselor, "Sam")
            await browsers.run(wait_media_flowing, counselor, 1)
            await browsers.run(wait_media_flowing, client, 1)
            browser_session = await browsers.run(
                lambda: str(counselor.evaluate("() => window.attuneDebug.app.session.session_id"))
            )
            victim = cluster.owner_of(browser_session)
            assert victim in {"attune-a", "attune-b"}

            # Sessions with aiortc peers: keep two that live on the same instance as the browsers' session.
            async with http.post(f"{base}/api/login", json={"email": EMAIL, "password": PASSWORD}) as resp:
                csrf = (await resp.json())["csrf_token"]
            for _ in range(12):
                speaker = await start_speaker(http, base, csrf)
                if cluster.owner_of(speaker.session_id) == victim and len(speakers) < 2:
                    speakers.append(speaker)
                else:
                    assert speaker.counselor is not None
                    await speaker.counselor.send(type="end_session")
                    await speaker.close()
                if len(speakers) == 2:
                    break
            assert len(speakers) == 2, "the balancer never placed a session beside the browsers' one"
            for s in speakers:  # every socket of a session reached the same instance
                assert cluster.owner_of(s.session_id) == victim
                await s.uplink()
                assert s.counselor is not None
                await first_caption(s.counselor, timeout=60)

            # kill -9 the instance that holds all three sessions, while everyone keeps talking.
            watch = asyncio.ensure_future(browsers.run(p2p_samples, [counselor, client], 20.0))
            await asyncio.sleep(2.0)
            killed_at, killed_wall_ms = time.monotonic(), time.time() * 1000
            cluster.instance(victim).kill()
            for s in speakers:
                await s.close()
            await asyncio.gather(*(reconnect(s, http) for s in speakers))
            rejoined_s = time.monotonic() - killed_at
            print(f"aiortc peers rejoined and re-offered their uplinks {rejoined_s:.1f} s after the kill")
            resumed = await asyncio.gather(
                *(first_caption(s.counselor, timeout=30) for s in speakers if s.counselor is not None)
            )
            print("captions resumed after " + ", ".join(f"{at - killed_at:.1f} s" for at in resumed))
            samples = await watch

            survivor = next(i.name for i in cluster.instances if i.name != victim)
            for s in speakers:
                assert cluster.owner_of(s.session_id) == survivor
            assert cluster.owner_of(browser_session) == survivor
            for at in resumed:
                assert at - killed_at <= 10.0, f"captions resumed {at - killed_at:.1f} s after the kill"

            # The browsers' call never stopped: same peer connection, connected, frames rising throughout.
            for page_index in (0, 1):
                rows = [(t, next(iter(stats[page_index].values()), None)) for t, stats in samples]
                assert all(row is not None and row["state"] == "connected" for _, row in rows), rows[-5:]
                frames = [row["framesDecoded"] for _, row in rows if row is not None]
                assert frames == sorted(frames), "a peer connection was rebuilt (its counters restarted)"
                for (t0, r0), (_, r1) in zip(rows, rows[8:], strict=False):
                    assert r1 is not None and r0 is not None and r1["framesDecoded"] > r0["framesDecoded"], (
                        f"no video frames for 2 s around {t0 - killed_at:+.1f} s from the kill"
                    )
            # The browsers' own session also came back: its captions reach the counselor's page again.
            def first_caption_after(wall_ms: float) -> float | None:
                seen = counselor.evaluate("() => window.__wsSeen.filter((m) => m.type === 'caption')")
                later = [m["at"] for m in seen if m["at"] > wall_ms]
                return min(later) if later else None

            browser_resumed = None
            for _ in range(60):
                browser_resumed = await browsers.run(first_caption_after, killed_wall_ms)
                if browser_resumed is not None:
                    break
                await asyncio.sleep(0.5)
            seen_after = [await browsers.run(timeline, page, killed_wall_ms) for page in (client, counselor)]
            assert browser_resumed is not None, ("no captions in the browsers' session after the failover", seen_after)
            print(f"the browsers' captions resumed {(browser_resumed - killed_wall_ms) / 1000:.1f} s after the kill")
            print(f"what the browsers received after the kill: client {seen_after[0]}, counselor {seen_after[1]}")
            assert browser_resumed - killed_wall_ms <= 10_000, seen_after

            # Stored transcripts: nothing lost but the line being spoken (and the seconds of the outage).
            await asyncio.sleep(6.0)
            outage = max(resumed) - killed_at
            for s in speakers:
                async with http.get(f"{base}/api/records/sessions/{s.session_id}") as resp:
                    record = await resp.json()
                lines = sorted(record["lines"], key=lambda ln: ln["start_s"])
                # Rows are sentences (about one per 10 s loop of the recording here); the one being spoken at
                # the kill may be lost, what was settled before it and what followed it are there.
                assert lines and any("printing" in ln["text"].lower() for ln in lines), lines
                gaps = [b["start_s"] - a["end_s"] for a, b in itertools.pairwise(lines)]
                assert max(gaps, default=0.0) <= outage + 10.0, (gaps, outage)
        finally:
            for s in speakers:
                await s.close()
            await browsers.shutdown()
