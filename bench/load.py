"""How many sessions the caption engine keeps up with, and what happens beyond.

    python -m bench.load [--sessions 1,2,4,8,12,16] [--seconds 50] [--stagger 0.5] [--json bench/results/load.json]

The server app runs in-process (aiohttp AppRunner on 127.0.0.1) with its default settings (the real
tiny.en model, the default ASR pool and caption capacity). Per level, N sessions start ``--stagger`` seconds
apart; each is a counselor socket (which creates the session, admits the client and reads the captions)
and a client socket whose aiortc peer uplinks real speech at real-time pace: clips of
``tests/data/wer_manifest.tsv`` (LJ Speech, LibriSpeech, JFK: the manifest of the README's caption figures),
each with 0.5 s of silence before and 1.5 s after, a different rotation per session, about ``--seconds`` of
audio each. At the end of a level every client stops its
uplink, the server flushes the last words, and the counselor ends the session.

Reported per level (JSON keys as named):

* ``final_delay_s`` median / p95: from the end of each spoken word (offline word timestamps) to its first
  appearance in a final caption at the counselor;
* ``final_drift_s``: median final delay of words spoken in the last third of the level minus the first third
  (positive: the captions fall further behind as the level goes on);
* ``final_delay_clip_end_s``, ``final_delay_opening_s``, ``final_delay_later_s``: the final delay's median for
  each clip's last word (settled by the endpoint's decode), for the other words ending in the first
  ``min_agree_audio_s`` (3 s) of their clip (nothing is agreed before that much audio) and for the rest (settled by two
  agreeing partials);
* ``first_delay_s`` median / p95: from the end of each word to its first appearance in any caption;
* ``cpu_cores``: process CPU seconds per wall second during the level (2.0 = both cores of this machine);
* ``rss_mb``: peak resident memory of the process during the level (sampled each second);
* ``audio_dropped_s``: uplink and caption-engine audio dropped;
* ``sessions_shed``: sessions that started without captions (the counselor got ``captions_unavailable``);
  their speech is not in the delay figures;
CPU and memory are the whole process: the server and the bench's own aiortc senders (the clients' side of
each uplink), which a real deployment does not carry. Since 2026-12-03 each session's uplink audio is
encoded to Opus before its level starts and the senders send those packets (``--encode-live``: encoded
during the run, in this process, as before); what is left of the senders is aiortc's RTP, SRTP and pacing.

* ``decode_lag_max_s``: the pool's largest decode lag (audio received minus settled) seen during the level;
  ``partials_skipped`` / ``partials_deferred``: partial decodes withdrawn for a final / held back by the
  widened interval; ``partials_on_idle_workers``: partials the widened interval would have held back that
  started because a worker was free and nothing was queued; ``partials_tail``: partials decoded only after
  the settled words (under load);
  ``finals_short_window``: finals decoded in the short encoder window (under load); ``batches`` /
  ``batched_partials``: model calls that decoded several streams' partials at once, and those partials.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import difflib
import json
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis.captions import SAMPLE_RATE, CaptionPolicySettings
from analysis.text_normalize import normalize_text
from bench.captions import ClipTrack, LaneLog, Prepared, _expect, lane_audio, opus_payloads, prepare
from bench.captions_sim import PAD_BEFORE_S, load_manifest, percentile
from bench.server import serve_in_process
from server.live.asr import AsrSettings, WhisperTranscriber

log = logging.getLogger(__name__)

EMAIL, PASSWORD = "load@example.org", "load-bench-password-long-enough-1"


@dataclass(slots=True)
class SessionRun:
    lane: LaneLog = field(default_factory=LaneLog)
    clips: list[Prepared] = field(default_factory=list)
    shed: bool = False
    client_notice: str | None = None


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def lane_clips(prepared: list[Prepared], index: int, seconds: float) -> list[Prepared]:
    """About ``seconds`` of clips, starting at a different clip for each session."""
    out: list[Prepared] = []
    total = 0.0
    k = (index * 5) % len(prepared)
    while total < seconds:
        clip = prepared[k % len(prepared)]
        out.append(clip)
        total += len(clip.audio) / SAMPLE_RATE
        k += 1
    return out


def word_times(run: SessionRun) -> list[tuple[float, float | None, float | None]]:
    """Per reference word of every clip sent: (session time its end was sent, first caption, first final),
    the screen modelled as in ``bench.captions_sim.word_latencies``."""
    out: list[tuple[float, float | None, float | None]] = []
    lane = run.lane
    if not lane.sent_at:
        return out
    bounds = [lane.sent_at[0] + s for s in lane.starts_s] + [float("inf")]
    for i, clip in enumerate(run.clips):
        if i >= len(lane.sent_at):
            break
        lo, hi = bounds[i], bounds[i + 1]
        events = sorted((e for e in lane.events if lo - 0.2 <= e[2] < hi - 0.2), key=lambda e: e[0])
        keys = [w.key for w in clip.ref_words]
        first_any: list[float | None] = [None] * len(keys)
        first_final: list[float | None] = [None] * len(keys)
        finals: list[str] = []
        partial: list[str] = []

        for at, kind, _start, text, _end, _utt in events:
            if kind == "final":
                finals.extend(normalize_text(text).split())
                partial = []
                _mark(keys, finals, first_final, at)
            else:
                partial = normalize_text(text).split()
            _mark(keys, finals + partial, first_any, at)
        sent = lane.sent_at[i]
        for word, any_at, final_at in zip(clip.ref_words, first_any, first_final, strict=True):
            end = sent + word.end_s
            out.append((end, None if any_at is None else any_at - end, None if final_at is None else final_at - end))
    return out


def clip_end_delays(run: SessionRun, times: list[tuple[float, float | None, float | None]]) -> list[float]:
    """Final delays of the last word of each clip (``times``: the run's ``word_times``)."""
    out: list[float] = []
    k = 0
    for clip in run.clips:
        k += len(clip.ref_words)
        if k <= len(times) and (delay := times[k - 1][2]) is not None:
            out.append(delay)
    return out


def opening_delays(run: SessionRun, times: list[tuple[float, float | None, float | None]],
                   opening_s: float) -> tuple[list[float], list[float]]:
    """Final delays of the words ending within ``opening_s`` of their clip's speech and of the later ones,
    a clip's last word left out (``clip_end_delays``): the policy agrees nothing before
    ``CaptionPolicySettings.min_agree_audio_s`` of audio, so an utterance's opening words wait for that."""
    opening: list[float] = []
    later: list[float] = []
    k = 0
    for clip in run.clips:
        for j, word in enumerate(clip.ref_words):
            if k + j >= len(times) or j == len(clip.ref_words) - 1:
                continue
            if (delay := times[k + j][2]) is not None:
                (opening if word.end_s - PAD_BEFORE_S <= opening_s else later).append(delay)
        k += len(clip.ref_words)
    return opening, later


def _mark(keys: list[str], shown: list[str], into: list[float | None], at: float) -> None:
    for block in difflib.SequenceMatcher(None, keys, shown, autojunk=False).get_matching_blocks():
        for j in range(block.a, block.a + block.size):
            if into[j] is None:
                into[j] = at


async def _sample(pool: Any, peak: dict[str, float], waits: dict[str, list[float]]) -> None:
    while True:
        await asyncio.sleep(1.0)
        peak["rss"] = max(peak["rss"], rss_mb())
        figures = pool.load.snapshot(pool.now())
        peak["lag"] = max(peak["lag"], figures["decode_lag_max_seconds"])
        for key in _SAMPLED:
            waits[key].append(figures[key])


# the pool's recent means, sampled each second: where a final's delay goes (queue wait or decode)
_SAMPLED = ("final_wait_seconds", "final_decode_seconds", "partial_wait_seconds", "partial_decode_seconds")


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds so far per thread group of this process, from /proc: the event loop, the VAD thread, the
    ASR pool's executor threads (little: CTranslate2 computes on threads of its own) and the rest (those
    compute threads, aiortc's codec threads and others)."""
    groups: dict[str, float] = collections.defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    main = threading.main_thread().native_id
    names = {t.native_id: t.name for t in threading.enumerate()}  # Python does not name OS threads
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended
        name = names.get(int(task.name), "")
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        group = ("event loop" if int(task.name) == main else "asr" if name.startswith("asr")
                 else "vad" if name.startswith("vad") else "other")
        groups[group] += cpu
    return dict(groups)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


@dataclass(frozen=True, slots=True)
class Lane:
    """One session's uplink: its clips, their audio and where each starts, and (unless encoded live) the
    audio's Opus payloads."""

    clips: list[Prepared]
    audio: npt.NDArray[np.float32]
    starts: list[int]
    payloads: list[bytes] | None


async def run_levels(levels: list[int], prepared: list[Prepared], seconds: float, stagger: float,
                     max_batch: int | None = None, encode_live: bool = False) -> list[dict[str, Any]]:
    import aiohttp
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from server.live.engine import LIVE
    from server.session.registry import SESSIONS
    from server.settings import AsrConfig, Settings

    asr = AsrConfig() if max_batch is None else AsrConfig(max_batch=max_batch)
    settings = Settings(host="127.0.0.1", port=0, data_dir=Path(tempfile.mkdtemp(prefix="attune-load-")), asr=asr)
    app, runner, base = await serve_in_process(settings, EMAIL, PASSWORD)
    registry = app[SESSIONS]
    results: list[dict[str, Any]] = []

    def lane(index: int) -> Lane:
        clips = lane_clips(prepared, index, seconds)
        audio, starts = lane_audio(clips)
        return Lane(clips, audio, starts, None if encode_live else opus_payloads(audio))

    async def one_session(index: int, lane: Lane, http: aiohttp.ClientSession, csrf: str) -> SessionRun:
        await asyncio.sleep(index * stagger)
        run = SessionRun(clips=lane.clips)
        async with http.post(f"{base}/api/sessions", headers={"X-CSRF-Token": csrf}) as resp:
            resp.raise_for_status()
            created = await resp.json()
        session = registry.sessions[created["session_id"]]
        counselor_token = created["counselor_url"].rstrip("/").rsplit("/", 1)[-1]
        invite_token = created["invite_url"].rstrip("/").rsplit("/", 1)[-1]

        def clock() -> float:
            return float(session.clock())

        audio, starts = lane.audio, lane.starts
        run.lane.starts_s = [k / SAMPLE_RATE for k in starts]
        async with aiohttp.ClientSession() as guest, http.ws_connect(f"{base}/ws") as cws, \
                guest.ws_connect(f"{base}/ws") as ws:
            await cws.send_json({"type": "join", "token": counselor_token, "name": f"Counselor {index}"})
            await _expect(cws, "welcome")
            await ws.send_json({"type": "join", "token": invite_token, "name": f"Client {index}"})
            welcome = await _expect(ws, "welcome")
            pid = welcome["you"]["participant_id"]
            await _expect(ws, "waiting")
            await cws.send_json({"type": "admit", "participant_id": pid})
            await _expect(ws, "admitted")
            await ws.send_json({"type": "consent", "granted": True, "version": welcome["consent"]["version"]})
            await _expect(ws, "consent_recorded")

            async def read_counselor() -> None:
                async for msg in cws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("type") == "caption" and data.get("participant_id") == pid:
                        run.lane.events.append((clock(), data["kind"], float(data["start_s"]), data["text"],
                                                float(data["end_s"]), int(data["utterance_id"])))
                    elif data.get("type") == "counselor" and data["event"].get("kind") == "captions_unavailable":
                        run.shed = True

            answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

            async def read_client() -> None:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("type") == "captions_unavailable":
                        run.client_notice = data["message"]
                    elif data.get("type") == "uplink_answer" and not answered.done():
                        answered.set_result(data)

            readers = [asyncio.create_task(read_counselor()), asyncio.create_task(read_client())]
            pc = RTCPeerConnection()
            track = ClipTrack(audio, starts, clock, run.lane, lane.payloads)
            pc.addTrack(track)
            await pc.setLocalDescription(await pc.createOffer())
            await ws.send_json({"type": "uplink_offer", "sdp": pc.localDescription.sdp})
            async with asyncio.timeout(30):
                answer = await answered
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            async with asyncio.timeout(len(audio) / SAMPLE_RATE + 60):  # a sender that stopped fails the level
                await track.finished.wait()
            participant = session.participants[pid]
            stream = app[LIVE].streams.get((session.id, pid))
            caption_dropped = stream.dropped_s if stream is not None else 0.0
            await ws.send_json({"type": "uplink_stop"})
            async with asyncio.timeout(600):  # an overloaded level may leave finals queued
                while (session.id, pid) in app[LIVE].streams:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            await cws.send_json({"type": "end_session"})
            await asyncio.sleep(0.3)
            for task in readers:
                task.cancel()
            await pc.close()
        run.lane.audio_s = len(audio) / SAMPLE_RATE
        run.lane.dropped_s = caption_dropped + participant.media.audio_dropped_seconds
        return run

    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{base}/api/login", json={"email": EMAIL, "password": PASSWORD}) as resp:
                resp.raise_for_status()
                csrf = (await resp.json())["csrf_token"]
            for n in levels:
                lanes = [lane(i) for i in range(n)]  # before the clock starts: encoding is the clients' work
                pool = app[LIVE].pool
                assert pool is not None
                before = dict(pool.snapshot())
                peak = {"rss": rss_mb(), "lag": 0.0}
                waits: dict[str, list[float]] = {key: [] for key in _SAMPLED}
                sampler = asyncio.create_task(_sample(pool, peak, waits))
                shed_before = app[LIVE].sessions_shed
                cpu0, wall0, threads0 = time.process_time(), time.monotonic(), thread_cpu_s()
                runs = await asyncio.gather(*(one_session(i, lanes[i], http, csrf) for i in range(n)))
                cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
                threads = {group: round((cpu_s - threads0.get(group, 0.0)) / wall, 2)
                           for group, cpu_s in sorted(thread_cpu_s().items())}
                sampler.cancel()
                after = pool.snapshot()
                results.append(summarize_level(n, list(runs), cpu, wall, peak, before, after,
                                               app[LIVE].sessions_shed - shed_before, waits))
                results[-1]["cpu_cores_by_thread"] = threads
                print_row(results[-1], header=len(results) == 1)
                await asyncio.sleep(2.0)
    finally:
        await runner.cleanup()
    return results


def summarize_level(n: int, runs: list[SessionRun], cpu: float, wall: float, peak: dict[str, float],
                    before: dict[str, float], after: dict[str, float], shed_metric: int,
                    waits: dict[str, list[float]] | None = None) -> dict[str, Any]:
    times = [(run, word_times(run)) for run in runs if not run.shed]
    words = [w for _, run_words in times for w in run_words]
    first = [a for _, a, _ in words if a is not None]
    final = [f for _, _, f in words if f is not None]
    opening: list[float] = []
    later: list[float] = []
    for run, run_words in times:
        run_opening, run_later = opening_delays(run, run_words, CaptionPolicySettings().min_agree_audio_s)
        opening += run_opening
        later += run_later
    drift = None
    if words:
        t0, t1 = min(e for e, _, _ in words), max(e for e, _, _ in words)
        third = (t1 - t0) / 3
        early = [f for e, _, f in words if f is not None and e <= t0 + third]
        late = [f for e, _, f in words if f is not None and e >= t1 - third]
        if early and late:
            drift = statistics.median(late) - statistics.median(early)
    return {
        "sessions": n,
        "final_delay_s": {"median": _r(statistics.median(final) if final else None),
                          "p95": _r(percentile(final, 95))},
        "final_drift_s": _r(drift),
        # words that end a clip (their final comes from the endpoint's decode) and the others (settled by
        # two agreeing partials, then a sentence end or the hold)
        "final_delay_clip_end_s": _r(statistics.median(ends) if (ends := [f for run, run_words in times
                                     for f in clip_end_delays(run, run_words)]) else None),
        "final_delay_opening_s": _r(statistics.median(opening) if opening else None),
        "final_delay_later_s": _r(statistics.median(later) if later else None),
        "first_delay_s": {"median": _r(statistics.median(first) if first else None),
                          "p95": _r(percentile(first, 95))},
        "cpu_cores": round(cpu / wall, 2) if wall else None,
        "rss_mb": round(peak["rss"], 0),
        "audio_dropped_s": round(sum(r.lane.dropped_s for r in runs), 2),
        "sessions_shed": sum(r.shed for r in runs),
        "sessions_shed_metric": shed_metric,
        "client_notices": sum(r.client_notice is not None for r in runs),
        "decode_lag_max_s": round(peak["lag"], 2),
        # mean over the level of the pool's 10 s means, sampled each second
        "pool_means_s": {key.removesuffix("_seconds"): _r(statistics.fmean(values) if values else None, 3)
                         for key, values in (waits or {}).items()},
        "partials_skipped": int(after["partials_skipped"] - before["partials_skipped"]),
        "partials_deferred": int(after["partials_deferred"] - before["partials_deferred"]),
        "partials_on_idle_workers": int(after["partials_on_idle_workers"] - before["partials_on_idle_workers"]),
        "partials_tail": int(after["partials_tail"] - before["partials_tail"]),
        "finals_short_window": int(after["finals_short_window"] - before["finals_short_window"]),
        "batches": int(after["batches"] - before["batches"]),
        "batched_partials": int(after["batched_partials"] - before["batched_partials"]),
        "decodes": int(after["calls"] - before["calls"]),
        "asr_busy_s": round(after["busy_s"] - before["busy_s"], 1),
        "vad_s": round(after["vad_s"] - before["vad_s"], 1),
        "cpu_s": round(cpu, 1),
        "words_scored": len(words),
        "words_unmatched_final": sum(1 for _, _, f in words if f is None),
        "audio_s": round(sum(r.lane.audio_s for r in runs), 1),
        "wall_s": round(wall, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),  # the machine is shared: others' work shows here
    }


COLUMNS = ("sessions", "final med", "final p95", "drift", "first med", "first p95", "CPU cores", "RSS MB",
           "dropped s", "shed", "batched")


def print_row(r: dict[str, Any], header: bool) -> None:
    if header:
        print(" | ".join(f"{c:>9}" for c in COLUMNS), flush=True)

    def f(x: Any) -> str:
        return "-" if x is None else str(x)

    cells = (r["sessions"], r["final_delay_s"]["median"], r["final_delay_s"]["p95"], r["final_drift_s"],
             r["first_delay_s"]["median"], r["first_delay_s"]["p95"], r["cpu_cores"], r["rss_mb"],
             r["audio_dropped_s"], r["sessions_shed"], f"{r['batched_partials']}/{r['decodes']}")
    print(" | ".join(f"{f(c):>9}" for c in cells), flush=True)


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "load_average_end": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="1,2,4,8,12,16", help="comma-separated session counts")
    parser.add_argument("--seconds", type=float, default=50.0, help="seconds of audio per session")
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between session starts")
    parser.add_argument("--manifest", type=Path, default=Path("tests/data/wer_manifest.tsv"))
    parser.add_argument("--json", type=Path, default=Path("bench/results/load.json"))
    parser.add_argument("--max-batch", type=int, help="ATTUNE_ASR_MAX_BATCH for the server (default: its default)")
    parser.add_argument("--encode-live", action="store_true",
                        help="the senders encode Opus during the run, in this process (before 2026-12-03)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    levels = [int(x) for x in args.sessions.split(",") if x.strip()]
    items = load_manifest(args.manifest, "all")
    print(f"offline pass over {len(items)} clips ...", flush=True)
    prepared = prepare(items, WhisperTranscriber(AsrSettings(cpu_threads=1)))
    started = time.monotonic()
    results = asyncio.run(run_levels(levels, prepared, args.seconds, args.stagger, args.max_batch,
                                     args.encode_live))
    out = {"machine": machine(), "seconds_per_session": args.seconds, "stagger_s": args.stagger,
           "max_batch": args.max_batch, "senders_encode_live": args.encode_live,
           "manifest": str(args.manifest), "wall_s": round(time.monotonic() - started, 1), "levels": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
