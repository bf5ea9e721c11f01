"""How soon an urgent alert reaches the counselor after the words are spoken, through the real path.

    python -m bench.alerts [--runs 5] [--clip tests/data/spoken/crisis_split.wav] [--json OUT.json] [--trace]

The server runs in-process with the real Whisper model and the text-cue model; each run is a new session:
a counselor socket and a client who consents and speaks the clip from an aiortc peer at real-time pace.
The clip says "... I just want to" / 0.8 s pause / "end it all ..." (tests/data/spoken/SOURCE.md): the
phrase reaches the server in two caption finals. Latency is from the end of the phrase's last word (from
an offline decode of the clip with word times) to the alert's arrival on the counselor's socket. The
target (issue 10): at most 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.captions import ClipTrack, LaneLog, _expect
from bench.server import BENCH_EMAIL, BENCH_PASSWORD, serve_in_process

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "tests" / "data" / "spoken" / "crisis_split.wav"
PHRASE = ("end", "it", "all")


def load_clip(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16_000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0


def phrase_end_s(audio: np.ndarray) -> float:
    """Where the phrase's last word ends in the clip (offline decode with word times)."""
    from server.live.asr import AsrSettings, WhisperTranscriber

    result = WhisperTranscriber(AsrSettings()).transcribe(audio, beam_size=5)
    words = [w for seg in result.segments for w in seg.words]
    keys = ["".join(c for c in w.text.lower() if c.isalpha()) for w in words]
    for i in range(len(keys) - len(PHRASE) + 1):
        if tuple(keys[i : i + len(PHRASE)]) == PHRASE:
            return float(words[i + len(PHRASE) - 1].end_s)
    raise SystemExit(f"the offline decode does not hold {' '.join(PHRASE)!r}: {' '.join(keys)}")


async def run(audio: np.ndarray, phrase_end: float, runs: int, trace: bool = False) -> list[dict[str, Any]]:
    import aiohttp
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from server.settings import Settings

    settings = Settings(host="127.0.0.1", port=0, data_dir=Path(tempfile.mkdtemp(prefix="attune-bench-")))
    email, password = BENCH_EMAIL, BENCH_PASSWORD
    _app, runner, base = await serve_in_process(settings, email, password)
    out: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{base}/api/login", json={"email": email, "password": password}) as resp:
                csrf = (await resp.json())["csrf_token"]
            for index in range(runs):
                async with http.post(f"{base}/api/sessions", headers={"X-CSRF-Token": csrf}) as resp:
                    created = await resp.json()
                host_token = created["counselor_url"].rstrip("/").rsplit("/", 1)[-1]
                invite_token = created["invite_url"].rstrip("/").rsplit("/", 1)[-1]
                async with http.ws_connect(f"{base}/ws") as counselor, http.ws_connect(f"{base}/ws") as client:
                    await counselor.send_json({"type": "join", "token": host_token, "name": "Dr. Bench"})
                    await _expect(counselor, "welcome")
                    await client.send_json({"type": "join", "token": invite_token, "name": "Sam"})
                    welcome = await _expect(client, "welcome")
                    await counselor.send_json({"type": "admit", "participant_id": welcome["you"]["participant_id"]})
                    await _expect(client, "admitted")
                    await client.send_json({"type": "consent", "granted": True,
                                            "version": welcome["consent"]["version"]})
                    await _expect(client, "consent_recorded")
                    lane = LaneLog()
                    track = ClipTrack(audio, [0], time.monotonic, lane)
                    pc = RTCPeerConnection()
                    pc.addTrack(track)
                    await pc.setLocalDescription(await pc.createOffer())
                    await client.send_json({"type": "uplink_offer", "sdp": pc.localDescription.sdp})
                    answer = await _expect(client, "uplink_answer")
                    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
                    alert_at: float | None = None
                    severity = heard_as = None
                    captions: list[tuple[float, dict[str, Any]]] = []
                    async with asyncio.timeout(60):
                        while alert_at is None:
                            msg = await counselor.receive_json()
                            if msg.get("type") == "caption":
                                captions.append((time.monotonic(), msg))
                            if msg.get("type") == "counselor" and msg["event"]["kind"] == "alert":
                                cue = msg["event"]["cue"]
                                alert_at, severity = time.monotonic(), cue["severity"]
                                heard_as = cue["evidence"].get("heard_as", "sentence")
                    await pc.close()
                    spoken_at = lane.sent_at[0] + phrase_end
                    out.append({"run": index + 1, "latency_s": round(alert_at - spoken_at, 3), "severity": severity,
                                "heard_as": heard_as})
                    print(f"run {index + 1}: {severity} alert {alert_at - spoken_at:+.2f} s after the phrase ended"
                          f" (heard as {heard_as} words)")
                    if trace:
                        for at, m in captions:
                            tail = m["text"][len(m["stable"]):]
                            print(f"   {at - spoken_at:+6.2f} s {m['kind']:<7} audio to {m['end_s']:6.2f} s:"
                                  f" [{m['stable']}]{tail}")
                    await counselor.send_json({"type": "end_session"})
    finally:
        await runner.cleanup()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trace", action="store_true", help="print every caption the counselor got, with times")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "alerts.json")
    args = parser.parse_args(argv)
    audio = load_clip(args.clip)
    phrase_end = phrase_end_s(audio)
    rows = asyncio.run(run(audio, phrase_end, args.runs, args.trace))
    latencies = sorted(r["latency_s"] for r in rows)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    load = os.getloadavg()
    print(f"\nbench.alerts: {args.clip.name}, phrase ends at {phrase_end:.2f} s, {len(rows)} runs")
    print(f"{'urgent alerts':<16}{'median s':>10}{'p95 s':>8}{'max s':>8}{'target':>9}")
    print(f"{sum(r['severity'] == 'urgent' for r in rows):>4} of {len(rows):<8}{statistics.median(latencies):>10.2f}"
          f"{p95:>8.2f}{max(latencies):>8.2f}{'<= 2.0':>9}")
    print(f"load average (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"clip": str(args.clip), "phrase_end_s": phrase_end, "runs": rows,
                                     "median_s": statistics.median(latencies), "p95_s": p95,
                                     "load_average": load}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
