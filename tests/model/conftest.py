"""Fixtures of the real-model tests."""

from __future__ import annotations

import pytest

from server.live.asr import AsrSettings, WhisperTranscriber


@pytest.fixture(scope="session")
def transcriber() -> WhisperTranscriber:
    """The bundled default model, two threads; thread-safe, so one serves every real-model test."""
    return WhisperTranscriber(AsrSettings(cpu_threads=2))
