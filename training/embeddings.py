"""Embeddings of training and benchmark text, computed once with the real encoder and cached on disk.

The cache (training/cache/embeddings-<model>.npz, gitignored) maps SHA-1 of the exact text to its
384-d vector, so re-running training or a benchmark costs nothing for text seen before. One thread.

    python -m training.embeddings     # embed every known set now (a few minutes on one core)
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from server.live.text_encoder import EMBEDDING_DIM, MiniLmEncoder

log = logging.getLogger(__name__)

CACHE_DIR = Path(__file__).resolve().parent / "cache"
CACHE_FILE = CACHE_DIR / "embeddings-minilm-int8.npz"
BATCH = 32


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path = CACHE_FILE) -> None:
        self.path = path
        self._vectors: dict[str, NDArray[np.float32]] = {}
        self._encoder: MiniLmEncoder | None = None
        self._dirty = False
        if path.is_file():
            with np.load(path) as data:
                keys = [str(k) for k in data["keys"]]
                vecs = data["vectors"]
            self._vectors = {k: vecs[i] for i, k in enumerate(keys)}

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = sorted({t for t in texts if text_key(t) not in self._vectors}, key=len)
        if missing:
            if self._encoder is None:
                self._encoder = MiniLmEncoder(threads=1)
            t0 = time.monotonic()
            for start in range(0, len(missing), BATCH):
                chunk = missing[start : start + BATCH]
                for text, vec in zip(chunk, self._encoder.encode(chunk), strict=True):
                    self._vectors[text_key(text)] = vec
                if start and start % (BATCH * 50) == 0:
                    log.info("embedded %d/%d texts (%.0f s)", start, len(missing), time.monotonic() - t0)
                    self.save()
            self._dirty = True
            self.save()
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([self._vectors[text_key(t)] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if not self._dirty and self.path.is_file():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U40")
        vecs = np.stack(list(self._vectors.values())) if self._vectors else np.zeros((0, EMBEDDING_DIM), np.float32)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vecs)
        tmp.replace(self.path)
        self._dirty = False


def main() -> int:
    from training import datasets as ds

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cache = EmbeddingCache()
    crisis = [
        *ds.written_crisis_lines(),
        *ds.counsel_chat_questions(),
        *ds.suicide_tweets(),
        *ds.dreaddit_negatives(),
        *ds.esconv_seekers(),
    ]
    acts = [*ds.written_act_lines(), *ds.esconv_supporters()]
    texts = [e.text for e in crisis] + [e.text for e in acts] + [e.previous for e in acts]
    cache.embed(texts)
    print(f"{len(set(texts))} texts embedded in {cache.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
