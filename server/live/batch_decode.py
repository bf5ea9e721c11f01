"""Several streams' partial decodes in one model call.

On a CPU, CTranslate2's Whisper ``generate`` costs much less per sequence in a batch (tiny.en int8, one
thread, a 5 s window: beam 5 169 ms for one sequence, 352 ms for four; greedy 128 / 180 ms), while the
encoder costs the same per window batched or not; a whole partial decode in a batch of four costs 60-70 %
of a separate one (``python -m bench.asr_batch``). Partials of different streams are independent decodes
of the same kind, so the pool can hand several queued ones to ``decode_first_pass`` at once
(``AsrSettings.max_batch``; off by default, see README).

faster-whisper's own batched pipeline batches the chunks of one recording under one prompt. Partials have
their own audio lengths, windows and prompts, so this runs faster-whisper's first pass over each audio (its
prompt, generate options, timestamp segments, no-speech skip and word alignment, as ``transcribe`` with
``word_timestamps=True`` and a single pass does) with the encoder and ``generate`` calls batched. Word
alignment runs per item: faster-whisper's word-time clean-up carries the previous item's last word time
into the next item, which is right for consecutive chunks of one recording and wrong here.

One difference remains: ``generate`` takes one length limit per batch, the widest of the items' token caps,
and an item that reaches its own cap (a decode looping "ask, ask, ask") is cut there afterwards but keeps
the score of its longer decode; its text and compression ratio are those of the cut.
"""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis.captions import SAMPLE_RATE, AsrSegment, AsrWord, TranscriptionResult

__all__ = ["FirstPassRequest", "decode_first_pass"]

AudioF32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FirstPassRequest:
    """One audio to decode once. ``frames``: encoder window in mel frames (at least the audio's);
    ``max_new_tokens``: the cap on generated tokens (a guard against loops in short windows)."""

    audio: AudioF32
    prompt: str
    frames: int
    max_new_tokens: int


@functools.cache
def _transcribe_defaults() -> dict[str, Any]:
    """faster-whisper's own ``transcribe`` defaults (read once), so batched decodes use the same options."""
    from faster_whisper import WhisperModel

    return {
        name: p.default for name, p in inspect.signature(WhisperModel.transcribe).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def decode_first_pass(
    model: Any, requests: Sequence[FirstPassRequest], *, beam_size: int, language: str,
) -> list[TranscriptionResult]:
    """Results in the order of ``requests``. ``model``: a faster-whisper ``WhisperModel``. Requests whose
    prompts tokenize to the same length share one encode and one ``generate`` (CTranslate2 needs the
    start-of-transcript token at the same position in every prompt of a batch)."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    defaults = _transcribe_defaults()
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    suppress = get_suppressed_tokens(tokenizer, list(defaults["suppress_tokens"]))
    prompts = [
        model.get_prompt(tokenizer, tokenizer.encode(" " + r.prompt.strip()) if r.prompt.strip() else [])
        for r in requests
    ]
    groups: dict[int, list[int]] = defaultdict(list)
    for i, prompt in enumerate(prompts):
        groups[len(prompt)].append(i)
    results: list[TranscriptionResult | None] = [None] * len(requests)
    for indices in groups.values():
        group = [requests[i] for i in indices]
        for i, result in zip(indices, _decode_group(
            model, tokenizer, group, [prompts[i] for i in indices], beam_size, suppress, defaults,
        ), strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def _decode_group(
    model: Any, tokenizer: Any, requests: list[FirstPassRequest], prompts: list[list[int]], beam_size: int,
    suppress: Any, defaults: dict[str, Any],
) -> list[TranscriptionResult]:
    from faster_whisper.transcribe import get_compression_ratio, get_ctranslate2_storage

    frames = max(r.frames for r in requests)
    features = [model.feature_extractor(r.audio) for r in requests]
    # as faster-whisper: the last frame is padding, the window is zero-padded past the audio
    sizes = [min(f.shape[-1] - 1, frames) for f in features]
    batch = np.zeros((len(requests), features[0].shape[0], frames), dtype=np.float32)
    for row, (f, size) in enumerate(zip(features, sizes, strict=True)):
        batch[row, :, :size] = f[:, :size]
    encoder_output = model.encode(batch)
    outputs = model.model.generate(
        encoder_output,
        prompts,
        beam_size=beam_size,
        patience=defaults["patience"],
        length_penalty=defaults["length_penalty"],
        repetition_penalty=defaults["repetition_penalty"],
        no_repeat_ngram_size=defaults["no_repeat_ngram_size"],
        max_length=len(prompts[0]) + max(r.max_new_tokens for r in requests),
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=defaults["suppress_blank"],
        suppress_tokens=suppress,
        max_initial_timestamp_index=round(defaults["max_initial_timestamp"] / model.time_precision),
    )
    per_item = np.asarray(encoder_output) if len(requests) > 1 else None
    results = []
    for row, (request, output, size) in enumerate(zip(requests, outputs, sizes, strict=True)):
        tokens = list(output.sequences_ids[0])[: request.max_new_tokens]
        avg_logprob = output.scores[0] * (len(tokens) ** defaults["length_penalty"]) / (len(tokens) + 1)
        segments: list[AsrSegment] = []
        skip = output.no_speech_prob > defaults["no_speech_threshold"] and not (
            avg_logprob > defaults["log_prob_threshold"])
        if not skip:
            ratio = get_compression_ratio(tokenizer.decode(tokens).strip())
            pieces, _seek, _single_ending = model._split_segments_by_timestamps(
                tokenizer=tokenizer, tokens=tokens, time_offset=0.0, segment_size=size,
                segment_duration=size * model.feature_extractor.time_per_frame, seek=0,
            )
            item_output = encoder_output
            if per_item is not None:
                item_output = get_ctranslate2_storage(np.ascontiguousarray(per_item[row : row + 1]))
            model.add_word_timestamps(
                [pieces], tokenizer, item_output, size, defaults["prepend_punctuations"],
                defaults["append_punctuations"], last_speech_timestamp=0.0,
            )
            for piece in pieces:
                text = tokenizer.decode(piece["tokens"])
                if piece["start"] == piece["end"] or not text.strip():
                    continue
                segments.append(AsrSegment(
                    text=text,
                    start_s=float(piece["start"]),
                    end_s=float(piece["end"]),
                    avg_logprob=float(avg_logprob),
                    no_speech_prob=float(output.no_speech_prob),
                    compression_ratio=float(ratio),
                    words=tuple(
                        AsrWord(w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
                        for w in piece.get("words") or ()
                    ),
                ))
        results.append(TranscriptionResult(
            segments=tuple(segments), language=str(tokenizer.language_code),
            duration_s=len(request.audio) / SAMPLE_RATE,
        ))
    return results
