"""Regenerates the spoken clips in this folder (needs the Debian package espeak-ng; the tests only read
the WAV files). Each clip: 0.5 s of silence, the first part, a pause, the second part, 3 s of silence;
16 kHz mono 16-bit, as a browser's microphone reaches the server after resampling.

    python tests/data/spoken/make_clips.py
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
RATE = 16_000
VOICE, WPM = "en-us", 145
CLIPS = {
    # an urgent phrase cut by a 0.8 s pause: two caption finals, one sentence
    "crisis_split": ("I have been so tired lately, and honestly, I just want to", 0.8,
                     "end it all, and I don't know who to tell about it."),
    # a denial cut the same way: "hurt myself." alone would be urgent; the sentence is not
    "denial_split": ("Sometimes I feel really low, but I would never want to", 0.8,
                     "hurt myself. My kids mean everything to me."),
}


def speak(text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "part.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(WPM), "-w", str(out), text], check=True)
        with wave.open(str(out)) as w:
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64)
    return resample_poly(samples, RATE, rate)


def main() -> None:
    for name, (first, pause_s, second) in CLIPS.items():
        def silence(s: float) -> np.ndarray:
            return np.zeros(int(RATE * s))

        clip = np.concatenate([silence(0.5), speak(first), silence(pause_s), speak(second), silence(3.0)])
        pcm = np.clip(clip, -32768, 32767).astype(np.int16)
        with wave.open(str(HERE / f"{name}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.tobytes())
        print(f"{name}.wav: {len(pcm) / RATE:.1f} s")


if __name__ == "__main__":
    main()
