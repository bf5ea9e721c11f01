"""bench.load's senders send Opus packets encoded before the run: they must be the audio, paced as frames."""

from __future__ import annotations

import asyncio

import numpy as np
from aiortc.codecs.opus import OpusDecoder
from aiortc.jitterbuffer import JitterFrame

from analysis.captions import SAMPLE_RATE
from bench.captions import FRAME, OPUS_SAMPLES_PER_FRAME, ClipTrack, LaneLog, opus_payloads


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_payloads_decode_back_to_the_audio_one_per_frame() -> None:
    audio = np.concatenate([tone(1.0), np.zeros(SAMPLE_RATE // 2, np.float32)])
    payloads = opus_payloads(audio)
    assert len(audio) // FRAME - 1 <= len(payloads) <= len(audio) // FRAME
    decoder = OpusDecoder()
    decoded = np.concatenate([
        frame.to_ndarray().reshape(-1, 2)[:, 0] for p in payloads
        for frame in decoder.decode(JitterFrame(data=p, timestamp=0))
    ]).astype(np.float32) / 32768.0
    tone_part = decoded[4800:43200]  # inside the tone's second, at 48 kHz
    rms = float(np.sqrt(np.mean(tone_part**2)))
    assert 0.12 < rms < 0.25  # 0.3 / sqrt(2), less the upmix to stereo's 3 dB: the tone came through
    spectrum = np.abs(np.fft.rfft(tone_part))
    assert abs(np.argmax(spectrum) * 48000 / len(tone_part) - 440.0) < 5.0
    assert float(np.abs(decoded[-12000:]).max()) < 0.01  # and the silence after it


def test_a_track_with_payloads_hands_out_packets_in_time_and_says_when_the_audio_is_sent() -> None:
    audio = tone(0.2)
    payloads = opus_payloads(audio)
    track = ClipTrack(audio, [0], lambda: 0.0, LaneLog(), payloads)

    async def take(n: int) -> list:
        return [await track.recv() for _ in range(n)]

    packets = asyncio.run(take(len(audio) // FRAME + 2))
    assert [bytes(p) for p in packets[: len(payloads)]] == payloads
    assert [p.pts for p in packets] == [i * OPUS_SAMPLES_PER_FRAME for i in range(len(packets))]
    assert track.finished.is_set()
