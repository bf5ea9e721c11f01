"""The real sentence encoder (all-MiniLM-L6-v2 int8 ONNX from PyPI packages) and the shipped heads."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.counselor_acts import classify_counselor_act
from analysis.risk import RiskDetector
from analysis.text_model import act_features, crisis_features
from server.live.text_encoder import EMBEDDING_DIM, MODEL_FILE, MiniLmEncoder, load_text_cue_model, model_file

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def encoder() -> MiniLmEncoder:
    return MiniLmEncoder(threads=1)


def test_encoder_loads_offline_from_the_installed_packages(encoder: MiniLmEncoder) -> None:
    assert model_file().stat().st_size > 20_000_000  # the int8 ONNX file itself, not a download stub
    vectors = encoder.encode(["I want to go home.", "Okay.", ""])
    assert vectors.shape == (3, EMBEDDING_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_padding_is_off_and_batches_match_single_lines(encoder: MiniLmEncoder) -> None:
    texts = ["Hi.", "It sounds like the last few weeks have been really hard on you and your family."]
    assert len(encoder._tokenizer.encode(texts[0]).ids) < 10  # not padded to 128
    batch = encoder.encode(texts)
    single = np.stack([encoder.encode([t])[0] for t in texts])
    assert np.allclose(batch, single, atol=1e-4)


def test_embeddings_carry_meaning(encoder: MiniLmEncoder) -> None:
    a, b, c = encoder.encode(
        ["I keep thinking about ending my life.", "I have been thinking about killing myself.", "The pizza was great."]
    )
    assert float(a @ b) > 0.5 > float(a @ c)


def test_shipped_heads_fit_the_feature_builders(encoder: MiniLmEncoder) -> None:
    model = load_text_cue_model(MODEL_FILE)
    assert MODEL_FILE.stat().st_size < 2_000_000
    text = "I've been thinking about killing myself."
    e = encoder.encode([text])[0]
    rules = RiskDetector().assess(text)
    assert model.crisis.n_inputs == crisis_features(e, text, rules).shape[0]
    assert model.acts.n_inputs == act_features(e, e, text, text, classify_counselor_act(text)).shape[0]
    assert "shipped" in model.description and "tweets" not in model.description.split("from")[1].split(";")[0]
