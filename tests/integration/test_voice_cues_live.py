"""Voice cues through the real path: a speaker's own read speech forms the baseline, then the same voice
faster and louder (sox tempo and gain on real LJ Speech) arrives over the uplink; the counselor gets the
voice cue, the speaker does not."""

from __future__ import annotations

import asyncio
import subprocess
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
from aiohttp.test_utils import TestClient, TestServer

from bench.cues import load_mono_16k
from server.app import create_app
from server.settings import Settings
from tests.conftest import DATA, AppHarness
from tests.integration.test_uplink import start_uplink

LJ = DATA / "ljspeech_subset" / "wavs"


def faster_and_louder(samples: np.ndarray) -> np.ndarray:
    raw = ["-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1"]
    done = subprocess.run(["sox", *raw, "-", *raw, "-", "tempo", "-s", "1.4", "gain", "6"],
                          input=samples.tobytes(), check=True, capture_output=True)
    return np.frombuffer(done.stdout, dtype=np.int16)


def speech_file(tmp: Path) -> Path:
    baseline = np.concatenate([load_mono_16k(LJ / f"LJ001-000{i}.flac") for i in range(1, 6)])
    changed = faster_and_louder(np.concatenate([load_mono_16k(LJ / f"LJ001-00{i:02d}.flac") for i in range(6, 14)]))
    path = tmp / "baseline_then_faster_louder.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.concatenate([baseline, changed]).tobytes())
    return path


async def test_a_faster_louder_voice_raises_a_voice_cue_for_the_counselor(settings: Settings, tmp_path: Path) -> None:
    audio = speech_file(tmp_path)  # before the server starts: this blocks for a few seconds
    # A 30 s baseline (default 60 s) keeps the test short; the analysis itself is the live one.
    app = create_app(replace(settings, voice_baseline_s=30.0))
    async with TestServer(app) as server, TestClient(server) as client_http:
        harness = AppHarness(client_http)
        _, counselor, _, client, clw = await harness.admitted_pair()
        await client.send(type="consent", granted=True, version=clw["consent"]["version"])
        await client.expect("consent_recorded")
        pc, _ = await start_uplink(client, audio)
        # A browser answers the server's heartbeat pings; this test client must keep reading to do so.
        reading = asyncio.create_task(client.drain(150.0))
        try:
            ready = await counselor.expect(
                "counselor", lambda m: m["event"]["kind"] == "voice_state" and m["event"]["baseline_ready"], timeout=60
            )
            assert ready["event"]["participant_id"] == clw["you"]["participant_id"]
            cue = await counselor.expect(
                "counselor",
                lambda m: m["event"]["kind"] == "cue" and m["event"]["cue"]["kind"] in ("voice.pace", "voice.loudness"),
                timeout=60,
            )
        finally:
            await pc.close()
            reading.cancel()
        body = cue["event"]["cue"]
        assert body["participant_id"] == clw["you"]["participant_id"] and body["severity"] == "info"
        assert "baseline" in body["evidence"] or "baseline_median" in str(body["evidence"])
        assert not [m for m in client.inbox if m.get("type") == "counselor"]
