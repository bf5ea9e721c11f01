"""Live captions benchmark through the real path.

    python -m bench.captions [--manifest tests/data/speech/manifest.tsv] [--split dev|test|all] [--concurrency N]
                             [--model M] --json OUT.json
    python -m bench.captions ... --direct     # skip WebRTC: feed CaptionStream + AsrPool at real-time pace

Default path: the server app runs in-process (aiohttp AppRunner on 127.0.0.1); each stream is a
counselor of its own session that joins over the WebSocket, consents, and sends the manifest audio at
real-time pace from an aiortc peer (``uplink_offer``); ``caption`` messages are read back. With
``--concurrency N`` there are N such streams at once, started ``--stagger`` seconds apart, the manifest
dealt round-robin between them. Each utterance is sent with 0.5 s of silence before and 1.5 s after.

Reported per source and overall (JSON keys exactly as named): ``wer_offline`` (same model, whole file
at once), ``wer_streaming`` (final lines), ``partial_latency_s`` / ``final_latency_s`` median and p95
(from the end of each spoken word, timed by the offline run's word timestamps, to its first appearance
in any caption / in a final line), ``real_time_factor`` (ASR busy seconds per audio second),
``cpu_s_per_audio_s`` (process CPU per audio second streamed), ``peak_memory_mb`` (process peak RSS,
which includes the offline model), ``dropped_audio_s``. WER is computed after ``normalize_text``.

The stored record is made of sentences, not caption finals: each lane's finals (as the client received
them) are fed through ``analysis.sentences.SentenceAssembler`` as the server will, and the report adds
``words_per_final`` / ``words_per_sentence`` (medians), ``sentences`` (count) and ``wer_sentences`` (the
sentences of the first pass against the reference); on the WebRTC path also ``wer_stored``: the
counselor's transcript as the server stored it, after the second pass over each finished turn.
Over the WebSocket a final carries its span but not its word
times, so the bench spreads a final's words evenly over its span (pauses between finals are exact).

Clips follow each other ``SPEAKER_CHANGE_S`` apart (each is another speaker, and a speaker's turn ends at a
4 s pause). The offline pass seeds CTranslate2's sampling (``--seed``) so that it repeats. The JSON keeps
every finished turn's first-pass sentences and second-pass words (``second_passes``) for
``python -m bench.revision_replay``.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import logging
import os
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import numpy.typing as npt

from analysis.captions import SAMPLE_RATE
from analysis.events import CaptionEvent, CaptionFinal
from analysis.sentences import Sentence, SentenceAssembler
from bench.captions_sim import (
    PAD_AFTER_S,
    PAD_BEFORE_S,
    ManifestItem,
    RefWord,
    TimedEvent,
    load_audio,
    load_manifest,
    offline_words,
    print_table,
    summarize,
    word_latencies,
)
from bench.server import BENCH_EMAIL, BENCH_PASSWORD, serve_in_process
from server.live.asr import AsrPool, AsrSettings, WhisperTranscriber
from server.settings import AsrConfig

log = logging.getLogger(__name__)

FRAME = 320  # 20 ms at 16 kHz
OPUS_RATE, OPUS_SAMPLES_PER_FRAME = 48000, 960  # the RTP clock of aiortc's Opus packets, 20 ms of it
TAIL_S = 4.0  # silence after the last utterance, for the last finals
# Silence added between two clips of a lane: each clip is another speaker, and in a session another speaker
# is another stream, which ends the turn; on one stream only a pause longer than the turn pause (4 s) does.
SPEAKER_CHANGE_S = 3.5


@dataclass(slots=True)
class Prepared:
    item: ManifestItem
    audio: npt.NDArray[np.float32]  # padded, 16 kHz float32
    offline_text: str
    ref_words: list[RefWord]  # word ends relative to the padded clip start


@dataclass(slots=True)
class LaneLog:
    """What one stream sent and saw, on one clock (seconds)."""

    sent_at: list[float] = field(default_factory=list)  # clock time each clip's first sample was sent
    # (arrival, kind, start_s, text, end_s, utterance_id); times on the session clock
    events: list[tuple[float, str, float, str, float, int]] = field(default_factory=list)
    audio_s: float = 0.0
    dropped_s: float = 0.0
    starts_s: list[float] = field(default_factory=list)  # where each clip starts in the lane's audio
    # the counselor's transcript as the server stored it (second pass included): line id -> (start_s, text)
    stored: dict[int, tuple[float, str]] = field(default_factory=dict)


def prepare(items: list[ManifestItem], transcriber: WhisperTranscriber) -> list[Prepared]:
    out = []
    for item in items:
        clip = load_audio(item.path)
        offline = transcriber.transcribe(clip)
        padded = np.concatenate(
            [np.zeros(int(PAD_BEFORE_S * SAMPLE_RATE), np.float32), clip,
             np.zeros(int(PAD_AFTER_S * SAMPLE_RATE), np.float32)]
        )
        out.append(Prepared(item, padded, offline.text, offline_words(offline, PAD_BEFORE_S)))
    return out


def lane_audio(clips: list[Prepared]) -> tuple[npt.NDArray[np.float32], list[int]]:
    starts: list[int] = []
    parts: list[npt.NDArray[np.float32]] = []
    n = 0
    gap = np.zeros(int(SPEAKER_CHANGE_S * SAMPLE_RATE), np.float32)
    for i, clip in enumerate(clips):
        if i:
            parts.append(gap)
            n += len(gap)
        starts.append(n)
        parts.append(clip.audio)
        n += len(clip.audio)
    parts.append(np.zeros(int(TAIL_S * SAMPLE_RATE), np.float32))
    return np.concatenate(parts).astype(np.float32), starts


def to_int16(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    out: npt.NDArray[np.int16] = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    return out


def opus_payloads(audio: npt.NDArray[np.float32]) -> list[bytes]:
    """The Opus payloads aiortc's sender makes of ``audio`` (16 kHz) sent in 20 ms frames, one per frame
    (the encoder's first frame fills its resampler, so the list may be one shorter)."""
    from aiortc.codecs.opus import OpusEncoder

    encoder = OpusEncoder()
    samples = to_int16(audio)
    payloads: list[bytes] = []
    for pos in range(0, len(samples), FRAME):
        payloads += encoder.encode(pcm_frame(samples, pos))[0]
    return payloads


def pcm_frame(samples: npt.NDArray[np.int16], pos: int) -> Any:
    """The 20 ms ``av.AudioFrame`` of ``samples`` (16 kHz) from sample ``pos``, zero-padded at the end."""
    import av

    chunk = samples[pos : pos + FRAME]
    if len(chunk) < FRAME:
        chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), np.int16)])
    frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pos
    frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
    return frame


# ------------------------------------------------------------------------------------------ direct path
@dataclass
class Run:
    """What one run of the lanes gave: each lane's log, the pool's figures, and (through the server) every
    finished turn's two passes for ``bench.revision_replay``."""

    logs: list[LaneLog]
    metrics: dict[str, float]
    second_passes: list[dict[str, Any]] = field(default_factory=list)


async def run_direct(lanes: list[list[Prepared]], settings: AsrSettings, stagger_s: float) -> Run:
    from server.live.caption_stream import CaptionStream

    pool = AsrPool(settings)
    await pool.start()
    t0 = time.monotonic()

    def clock() -> float:
        return time.monotonic() - t0

    async def one_lane(index: int, clips: list[Prepared]) -> LaneLog:
        await asyncio.sleep(index * stagger_s)
        lane = LaneLog()
        audio, starts = lane_audio(clips)
        lane.starts_s = [k / SAMPLE_RATE for k in starts]
        offset = clock()

        def on_event(ev: CaptionEvent) -> None:
            final = isinstance(ev, CaptionFinal)
            end_s = ev.end_s if isinstance(ev, CaptionFinal) else ev.at_s
            lane.events.append((clock(), "final" if final else "partial", ev.start_s, ev.text, end_s,
                                ev.utterance_id))

        stream = CaptionStream(pool, f"lane-{index}", on_event, time_offset_s=offset)
        begin = time.monotonic()
        next_start = 0
        for k in range(0, len(audio), FRAME):
            delay = begin + k / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if next_start < len(starts) and k >= starts[next_start]:
                lane.sent_at.append(clock())
                next_start += 1
            stream.feed(to_int16(audio[k : k + FRAME]))
        await stream.close(flush=True)
        lane.audio_s = len(audio) / SAMPLE_RATE
        lane.dropped_s = stream.dropped_s
        return lane

    logs = await asyncio.gather(*(one_lane(i, clips) for i, clips in enumerate(lanes)))
    metrics = pool.snapshot()
    await pool.close()
    return Run(list(logs), metrics)


# ------------------------------------------------------------------------------------------ WebRTC path
class ClipTrack:
    """An aiortc audio track playing 16 kHz float audio at real-time pace; notes when clips start.

    ``payloads``: the audio's Opus payloads (``opus_payloads``), encoded before the run. The track then
    hands aiortc those packets, which it sends as they are, instead of frames that it resamples and
    encodes during the run: a client's encoding is its own device's work, and bench.load's senders share
    the server's two cores (each 12 ms of CPU per second of audio on the AMD EPYC machine, at 96 kbit/s
    stereo, on the default thread pool, one executor call per 20 ms frame)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:  # built lazily so --direct needs no aiortc import
        from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

        class _Track(AudioStreamTrack):
            def __init__(self, audio: npt.NDArray[np.float32], starts: list[int], clock: Callable[[], float],
                         lane: LaneLog, payloads: Sequence[bytes] | None = None) -> None:
                super().__init__()
                self._audio = to_int16(audio)
                self._payloads = payloads
                self._starts = starts
                self._clock = clock
                self._lane = lane
                self._pos = 0
                self._next_clip = 0
                self._begin: float | None = None
                self.finished = asyncio.Event()

            async def recv(self) -> Any:
                import av

                if self.readyState != "live":
                    raise MediaStreamError
                if self._begin is None:
                    self._begin = time.monotonic()
                delay = self._begin + self._pos / SAMPLE_RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._next_clip < len(self._starts) and self._pos >= self._starts[self._next_clip]:
                    self._lane.sent_at.append(self._clock())
                    self._next_clip += 1
                if self._pos + FRAME > len(self._audio):
                    self.finished.set()
                if self._payloads is not None:
                    index = self._pos // FRAME
                    # past the end: the last payload again (the lane ends in seconds of silence)
                    packet = av.Packet(self._payloads[min(index, len(self._payloads) - 1)])
                    packet.pts = index * OPUS_SAMPLES_PER_FRAME
                    packet.time_base = fractions.Fraction(1, OPUS_RATE)
                    self._pos += FRAME
                    return packet
                frame = pcm_frame(self._audio, self._pos)
                self._pos += FRAME
                return frame

        return _Track(*args, **kwargs)


async def run_webrtc(lanes: list[list[Prepared]], asr: AsrSettings, stagger_s: float) -> Run:
    import aiohttp
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from server.live.engine import LIVE
    from server.session.registry import SESSIONS
    from server.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="attune-bench-"))
    settings = Settings(
        host="127.0.0.1", port=0, data_dir=data_dir, max_participants=8,
        caption_shed_when_behind=False,  # this bench measures the caption engine, not admission (bench.load)
        asr=AsrConfig(model=asr.model or "default", device=asr.device, compute_type=asr.compute_type,
                      cpu_threads=asr.cpu_threads, num_workers=asr.num_workers,
                      language=asr.language or "en", beam_size=asr.beam_size),
    )
    email, password = BENCH_EMAIL, BENCH_PASSWORD
    app, runner, base = await serve_in_process(settings, email, password)
    registry = app[SESSIONS]
    turns_seen = record_second_passes(app[LIVE])

    async def one_lane(index: int, clips: list[Prepared], http: aiohttp.ClientSession) -> LaneLog:
        await asyncio.sleep(index * stagger_s)
        lane = LaneLog()
        async with http.post(f"{base}/api/login", json={"email": email, "password": password}) as resp:
            resp.raise_for_status()
            csrf = (await resp.json())["csrf_token"]
        async with http.post(f"{base}/api/sessions", headers={"X-CSRF-Token": csrf}) as resp:
            resp.raise_for_status()
            created = await resp.json()
        token = created["counselor_url"].rstrip("/").rsplit("/", 1)[-1]
        session = registry.sessions[created["session_id"]]

        def clock() -> float:  # the session clock that caption times are on
            return float(session.clock())

        audio, starts = lane_audio(clips)
        lane.starts_s = [k / SAMPLE_RATE for k in starts]
        pc = RTCPeerConnection()
        track = ClipTrack(audio, starts, clock, lane)
        async with http.ws_connect(f"{base}/ws") as ws:
            await ws.send_json({"type": "join", "token": token, "name": f"Bench {index}"})
            welcome = await _expect(ws, "welcome")
            participant = session.participants[welcome["you"]["participant_id"]]
            await ws.send_json({"type": "consent", "granted": True, "version": welcome["consent"]["version"]})
            await _expect(ws, "consent_recorded")
            pc.addTrack(track)
            await pc.setLocalDescription(await pc.createOffer())
            await ws.send_json({"type": "uplink_offer", "sdp": pc.localDescription.sdp})
            answer = await _expect(ws, "uplink_answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

            async def read() -> None:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("type") == "caption":
                        lane.events.append((clock(), data["kind"], float(data["start_s"]), data["text"],
                                            float(data["end_s"]), int(data["utterance_id"])))
                    elif data.get("type") == "counselor" and data["event"]["kind"] == "transcript_line":
                        line = data["event"]
                        lane.stored[int(line["line_id"])] = (float(line["start_s"]), str(line["text"]))

            reader = asyncio.create_task(read())
            await track.finished.wait()
            stream = app[LIVE].streams.get((session.id, participant.id))
            caption_dropped = stream.dropped_s if stream is not None else 0.0
            await ws.send_json({"type": "uplink_stop"})
            # the server flushes the stream on stop: wait until it is gone, then for its last messages
            async with asyncio.timeout(900):  # a loaded machine may leave decodes queued
                while (session.id, participant.id) in app[LIVE].streams:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                transcript = app[LIVE].transcripts.get(session.id)
                if transcript is not None:  # the last turn's second pass
                    await asyncio.sleep(0.6)
                    await transcript.revisions_done()
            await asyncio.sleep(0.5)
            reader.cancel()
        await pc.close()
        lane.audio_s = len(audio) / SAMPLE_RATE
        lane.dropped_s = caption_dropped + participant.media.audio_dropped_seconds
        return lane

    try:
        async def lane_with_own_login(i: int, clips: list[Prepared]) -> LaneLog:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                return await one_lane(i, clips, http)

        logs = await asyncio.gather(*(lane_with_own_login(i, c) for i, c in enumerate(lanes)))
        pool = app[LIVE].pool
        metrics: dict[str, float] = pool.snapshot() if pool is not None else {}
        turns = app[LIVE].revisions
        metrics.update({f"turns_{k}": float(getattr(turns, k)) for k in ("revised", "unchanged", "refused", "skipped")})
    finally:
        await runner.cleanup()
    return Run(list(logs), metrics, turns_seen)


def record_second_passes(engine: Any) -> list[dict[str, Any]]:
    """Wraps the engine's second pass so that each finished turn's first-pass sentences and second-pass
    words are kept (``bench.revision_replay`` judges other gates on them without another run)."""
    seen: list[dict[str, Any]] = []
    second_pass = engine._revise_turn

    async def recorded(turn: Any) -> Any:
        new = await second_pass(turn)
        sentences = [
            {"line_id": stored.line_id, "words": [[w.text, w.start_s, w.end_s] for w in stored.words]}
            for transcript in engine.transcripts.values() for sid in turn.sentence_ids
            if (stored := transcript._finished_words.get((turn.stream_id, sid))) is not None
        ]
        seen.append({"sentences": sentences,
                     "new": None if new is None else [[w.text, w.start_s, w.end_s, w.glued] for w in new]})
        return new

    engine._revise_turn = recorded
    return seen


async def _expect(ws: Any, kind: str, timeout: float = 30.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg = await ws.receive_json()
            if msg.get("type") == kind:
                return dict(msg)
            if msg.get("type") == "error":
                raise RuntimeError(f"server refused: {msg}")


# ------------------------------------------------------------------------------------------ scoring
def lane_sentences(lane_id: str, log_: LaneLog) -> tuple[list[Sentence], list[int]]:
    """The stored-sentence view of one lane: its finals, in arrival order, through the assembler.

    Returns the sentences and the word count of every final."""
    assembler = SentenceAssembler()
    sentences: list[Sentence] = []
    final_words: list[int] = []
    for at, kind, start_s, text, end_s, utterance_id in sorted(log_.events, key=lambda e: e[0]):
        if kind != "final" or not text.strip():
            continue
        final_words.append(len(text.split()))
        # no advance(): pauses are read from the gap between one final's words and the next's, which is
        # exact; a time-based close would cut sentences whenever the captions lag (a loaded machine)
        final = CaptionFinal(lane_id, utterance_id, text, start_s, end_s, at)
        sentences += [e for e in assembler.feed(final) if isinstance(e, Sentence)]
    sentences += [e for e in assembler.end_stream(lane_id, float("inf")) if isinstance(e, Sentence)]
    return sentences, final_words


def score(lanes: list[list[Prepared]], logs: list[LaneLog]) -> list[dict[str, Any]]:
    """Per clip: streamed final text, stored sentences and word latencies.

    Captions are attributed to clips by their start time, which the server counts in samples from the
    first one it received: so clip windows are the first send time plus the clips' sample offsets
    (the sender may run late when the machine is busy). Latency counts from when each clip was
    actually sent."""
    rows = []
    for lane_index, (clips, log_) in enumerate(zip(lanes, logs, strict=True)):
        if not log_.sent_at:
            continue
        sentences, _ = lane_sentences(f"lane-{lane_index}", log_)
        bounds = [log_.sent_at[0] + s for s in log_.starts_s] + [float("inf")]
        for i, clip in enumerate(clips):
            if i >= len(log_.sent_at):
                break
            lo, hi = bounds[i], bounds[i + 1]
            mine = [e for e in log_.events if lo - 0.2 <= e[2] < hi - 0.2]
            stored = [st for st in sentences if lo - 0.2 <= st.start_s < hi - 0.2]
            server_rows = sorted(v for v in log_.stored.values() if lo - 0.2 <= v[0] < hi - 0.2)
            sent = log_.sent_at[i]
            timed = [TimedEvent(kind, 0, text, at - sent) for at, kind, _start, text, _end, _utt in mine]
            partial, final = word_latencies(timed, clip.ref_words)
            finals_text = [t.text for t in sorted(timed, key=lambda t: t.at_s) if t.kind == "final" and t.text]
            rows.append({
                "path": str(clip.item.path), "source": clip.item.source, "split": clip.item.split,
                "reference": clip.item.reference, "offline": clip.offline_text,
                "streaming": " ".join(finals_text), "sentences": [st.text for st in stored],
                "words_per_final": [len(t.split()) for t in finals_text],
                "words_per_sentence": [len(st.words) for st in stored],
                "stored": [text for _start, text in server_rows] if log_.stored else None,
                "partial": partial, "final": final, "audio_s": len(clip.audio) / SAMPLE_RATE,
            })
    return rows


def sentence_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from bench.captions_sim import median, wer

    per_final = [n for r in rows for n in r["words_per_final"]]
    per_sentence = [n for r in rows for n in r["words_per_sentence"]]
    # the server's own sentences (its assembler also sees the voice detector's bounds, which a caption
    # message does not carry, so it holds a full stop Whisper put at a breath; the lane's view cannot)
    per_stored = [len(text.split()) for r in rows for text in (r.get("stored") or [])]
    return {
        "finals": len(per_final),
        "sentences": len(per_sentence),
        "words_per_final": median(per_final),
        "words_per_sentence": median(per_sentence),
        "stored_lines": len(per_stored),
        "words_per_stored_line": median(per_stored),
        "wer_sentences": round(wer([r["reference"] for r in rows], [" ".join(r["sentences"]) for r in rows]), 2),
        # the server's stored transcript after the second pass over each turn (WebRTC path only)
        "wer_stored": (
            round(wer([r["reference"] for r in rows], [" ".join(r["stored"]) for r in rows]), 2)
            if rows and all(r.get("stored") is not None for r in rows) else None
        ),
    }


def policy_overrides(pairs: list[str]) -> dict[str, Any]:
    """``--set`` values applied to the policy of every caption stream the server creates."""
    import dataclasses

    import server.live.caption_stream
    from analysis.captions import CaptionPolicy, CaptionPolicySettings

    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, value = pair.split("=", 1)
        kind = type(getattr(CaptionPolicySettings(), name))
        overrides[name] = value if kind is str else kind(float(value))
    if overrides:
        class TunedPolicy(CaptionPolicy):
            def __init__(self, stream_id: str, settings: CaptionPolicySettings | None = None) -> None:
                super().__init__(stream_id, dataclasses.replace(settings or CaptionPolicySettings(), **overrides))

        setattr(server.live.caption_stream, "CaptionPolicy", TunedPolicy)  # noqa: B010 (a module global, patched for the run)
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=Path("tests/data/speech/manifest.tsv"))
    parser.add_argument("--split", default="dev", help="manifest split: dev, test or all (tune on dev only)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=AsrConfig().cpu_threads, help="threads per ASR worker")
    parser.add_argument("--workers", type=int, default=AsrConfig().num_workers, help="parallel ASR workers")
    parser.add_argument("--stagger", type=float, default=1.3, help="seconds between stream starts")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--direct", action="store_true", help="feed CaptionStream directly (no WebRTC)")
    parser.add_argument("--set", action="append", default=[],
                        help="caption policy setting NAME=VALUE for every stream (e.g. to measure the old defaults)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of CTranslate2's sampling (temperature fallback), so the offline pass repeats")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    ctranslate2.set_random_seed(args.seed)
    logging.basicConfig(level=logging.WARNING)
    overrides = policy_overrides(args.set)

    asr = AsrSettings(model=args.model, cpu_threads=args.threads, num_workers=args.workers)
    items = load_manifest(args.manifest, args.split)
    if args.limit:
        items = items[: args.limit]
    print(f"offline pass over {len(items)} clips ...", flush=True)
    prepared = prepare(items, WhisperTranscriber(asr))
    lanes = [prepared[i :: args.concurrency] for i in range(args.concurrency)]
    cpu0 = time.process_time()
    wall0 = time.monotonic()
    runner = run_direct if args.direct else run_webrtc
    run = asyncio.run(runner(lanes, asr, args.stagger))
    logs, metrics = run.logs, run.metrics
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    audio_s = sum(lg.audio_s for lg in logs)
    dropped = sum(lg.dropped_s for lg in logs) + metrics.get("dropped_audio_s", 0.0)
    rows = score(lanes, logs)
    busy = metrics.get("busy_s")

    summary: dict[str, dict[str, Any]] = {}
    for source in [*sorted({r["source"] for r in rows}), "overall"]:
        mine = [r for r in rows if source in ("overall", r["source"])]
        a = sum(r["audio_s"] for r in mine)
        s = summarize(mine, [x for r in mine for x in r["partial"]], [x for r in mine for x in r["final"]],
                      audio_s=a, decode_s=(busy or 0.0) * a / audio_s if audio_s else 0.0,
                      cpu_s=cpu * a / audio_s if audio_s else 0.0, dropped_s=dropped * a / audio_s)
        if busy is None:
            s["real_time_factor"] = None
        s.update(sentence_summary(mine))
        summary[source] = s
    path = "direct (CaptionStream + AsrPool)" if args.direct else "WebRTC uplink through the server"
    print_table(f"bench.captions: {path}, split {args.split}, concurrency {args.concurrency}, wall {wall:.0f} s",
                summary)
    print(f"\n{'source':<16}{'finals':>8}{'words/final':>13}{'sentences':>11}{'words/sent.':>13}{'WER sent.':>11}"
          f"{'stored':>8}{'words/stored':>14}{'WER stored':>12}")

    def shown(value: Any) -> Any:
        return "-" if value is None else value

    for name, s in summary.items():
        print(f"{name:<16}{s['finals']:>8}{shown(s['words_per_final']):>13}{s['sentences']:>11}"
              f"{shown(s['words_per_sentence']):>13}{s['wer_sentences']:>11}{s['stored_lines']:>8}"
              f"{shown(s['words_per_stored_line']):>14}{shown(s['wer_stored']):>12}")
    if "turns_revised" in metrics:
        print("second pass over finished turns: " + ", ".join(
            f"{k.removeprefix('turns_')} {int(v)}" for k, v in metrics.items() if k.startswith("turns_")))
    load = os.getloadavg()
    print(f"load average during the run (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    result = {
        "path": "direct" if args.direct else "webrtc",
        "manifest": str(args.manifest),
        "split": args.split,
        "policy_overrides": overrides,
        "load_average": [round(x, 2) for x in load],
        "concurrency": args.concurrency,
        "asr": {"model": args.model or "default", "cpu_threads": args.threads, "num_workers": args.workers},
        "wall_s": round(wall, 1),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pool": metrics,
        "sources": summary,
        "rows": [{k: v for k, v in r.items() if k not in ("partial", "final")} for r in rows],
        "lanes": [{"starts_s": lg.starts_s, "sent_at": lg.sent_at, "events": lg.events,
                   "stored": {str(k): v for k, v in lg.stored.items()}} for lg in logs],
        "second_passes": run.second_passes,
    }
    args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
