"""Whether the caption engine keeps up, and what gives way when it does not.

``PoolLoad`` is the ASR pool's view of its own load: how long decode jobs wait before a worker takes them
(finals and partials apart, over a sliding window of recent jobs), and per caption stream how far the
settled text trails the audio received (the decode lag). From these it answers these questions:

* ``tail_partials``: whether partial decodes cover only the audio after a stream's settled words (prompted
  with them) instead of the whole utterance buffer (``analysis.captions.CaptionPolicySettings.partial_tail``):
  cheaper partials once the partial interval has widened, before finals shorten their window.
* ``partial_step_s(base)``: how much new speech a stream needs before its next partial decode. It widens
  with the queue wait, so under load every stream gets fewer partial updates (the first thing that gives
  way) and the CPU goes to the decodes that settle text. A partial the wider interval holds back still
  starts when a worker is free and nothing is queued (``partials_fill_idle_workers``): the interval is
  there to leave workers to waiting decodes, and an idle worker helps no one.
* ``short_finals``: whether finals decode in a shorter window than Whisper's 30 s (about a third of the
  CPU): once the queue's pressure passes ``short_final_pressure_s``, when finals wait for a worker, or when
  they take long once they have one (the machine's CPU is taken).
  Until the pool has timed a recent final, ``AsrPool.short_finals`` also shortens a final while another
  stream's decode waits or runs (``LoadSettings.short_final_when_contended``): the figures here are recent
  means and lag a sudden load.
* ``saturated``: the pool is behind (finals wait too long, or settled text trails the audio by more than a
  bound). ``LiveAnalysis`` then starts new sessions without live captions (the second thing that gives
  way); sessions already captioned keep theirs, and finals are always decoded.

Everything here is aggregate: no figure names a stream when exported (``snapshot``).
"""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass
from typing import Literal

from analysis.captions import CaptionPolicySettings

__all__ = ["JobKind", "LoadSettings", "PoolLoad"]

JobKind = Literal["partial", "final"]


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """``capacity``: sessions with live captions at once on this server (``ATTUNE_CAPTION_CAPACITY``);
    ``saturation_lag_s``: mean decode lag over live streams beyond which the pool counts as saturated;
    ``saturation_final_wait_s``: mean queue wait of recent finals beyond which it does; ``window_s``: how far
    back job waits count; ``max_partial_step_s``: the widest partial interval (partials still come, so long
    utterances still settle words between their ends)."""

    capacity: int = 12
    saturation_lag_s: float = 6.0
    saturation_final_wait_s: float = 1.0
    window_s: float = 10.0
    max_partial_step_s: float = 2.0
    # A partial held back by the widened interval starts anyway when a worker is free and no decode waits:
    # at 12 sessions the workers were idle 28 % of the time (bench.load, README) while words waited for
    # partials the interval held back.
    partials_fill_idle_workers: bool = True
    # How much each second of queue wait widens the partial interval. A stream has one decode in flight,
    # so a partial that waited W seconds already spaces the next one by W: a weight of 1 would change
    # nothing. Partials are most of the decode work (one stream: about 90%, from the figures below), so
    # under load they are what must thin out; finals waiting is worse (their text is what gets stored) and
    # widens faster.
    partial_wait_weight: float = 2.0
    final_wait_weight: float = 4.0
    # Finals waiting longer than this (mean) decode in a shorter window (audio + 6 s, at least 10 s, instead
    # of Whisper's 30 s; ``CaptionPolicySettings.final_short_window``): on the dev split 0.43 s of CPU per
    # final instead of 1.35 s, for +0.9 WER points (test: -0.4; bench.final_window). Only when the pool is
    # well behind, with partials already spaced out, until finals' window is settled (README).
    short_final_wait_s: float = 0.5
    # Finals taking longer than this (mean wall time of recent ones) decode in the short window too. A final
    # that waits for no worker can still be slow when the machine's CPU is taken by others (in the failover
    # test, two browsers beside the instance made 30 s-window finals of 2 s of speech take 8-10 s, about six
    # times their CPU): settled text then trails by that much, and the queue never shows it. On an idle
    # 2 vCPU machine a 30 s-window final takes 1.3 s (p95 1.7 s; bench.final_window); on a GPU 0.1 s.
    short_final_busy_s: float = 2.5
    # The same for partials (in their short window an idle machine takes 0.1-0.4 s): what tells a starved
    # machine before its first final has run, as on an instance that has just taken sessions over.
    short_final_partial_busy_s: float = 1.5
    # Before the pool has timed any final in ``window_s``, finals decode in the short window while another
    # stream's decode waits or runs (one worker: the other stream's captions wait for this final, or its next
    # decode does). The figures above are means over recent jobs and lag a sudden load: an instance that has
    # just taken three sessions over had none when their first finals came, and in the failover test those
    # 30 s-window finals took 8-16 s under the two browsers while the other streams' first captions waited
    # behind them. Only then, because short windows cost accuracy (bench.final_window) and once a final is
    # timed the figures above tell the load.
    short_final_when_contended: bool = True
    # Pressure (``pressure_s``) above which partials decode only the audio after a stream's settled words,
    # prompted with them (``CaptionPolicySettings.partial_tail``): fewer tokens generated per partial, in the
    # shortest window. Measured in bench.captions_sim on the dev split (13 clips, single stream, partials
    # single-pass): CPU per audio second 0.646 -> 0.635 (that data's sentences are short: few partials get
    # a tail at all) but streaming WER 28.19 -> 32.18, so only well under load: 1.0 s of pressure is partials
    # waiting 0.5 s (their step already widened to 1.35 s) or finals waiting 0.25 s. None: never; negative:
    # always.
    tail_partial_pressure_s: float | None = 1.0
    # Pressure above which finals decode in the short window too (before tail partials: on the dev split the
    # short window costs finals +0.9 WER points (test: -0.4; bench.final_window), tail partials +4 in the
    # simulation). Queue waits grow with bursts long before finals wait 0.5 s on average: at 12 sessions on
    # the 2 vCPU Xeon finals waited 0.12 s and partials 0.27 s (pressure 1.0) while their 30 s-window decodes
    # took 0.7 s each, and clip-final words reached the counselor 2.05 s after they were said; with this
    # at 0.75, half the finals were short and those words came at 1.82 s (bench.load, README). None: never.
    short_final_pressure_s: float | None = 0.75


@dataclass(slots=True)
class _Progress:
    received_s: float = 0.0
    settled_s: float = 0.0

    @property
    def lag_s(self) -> float:
        return max(0.0, self.received_s - self.settled_s)


class PoolLoad:
    """Load figures of one ASR pool. Not thread-safe: used on the event loop only. Times are passed in
    (the pool's monotonic clock), so tests can drive it."""

    def __init__(self, settings: LoadSettings | None = None) -> None:
        self.settings = settings or LoadSettings()
        self._waits: dict[JobKind, collections.deque[tuple[float, float]]] = {
            "partial": collections.deque(), "final": collections.deque(),
        }
        self._busy: dict[JobKind, collections.deque[tuple[float, float]]] = {
            "partial": collections.deque(), "final": collections.deque(),
        }
        self._streams: dict[str, _Progress] = {}
        # Streams whose next partial the widened interval holds back, and since when (the pool's clock).
        self._held_since: dict[str, float] = {}
        self.partials_skipped = 0  # queued partials withdrawn because their stream's final was ready
        self.partials_deferred = 0  # partials not started because the widened interval had not passed
        self.partials_on_idle_workers = 0  # partials started inside the widened interval, on a free worker
        self.finals_short = 0  # finals decoded in a short window because the pool was under pressure
        self.partials_tail = 0  # partials decoded from the settled words on because the pool was under pressure
        self.audio_received_s = 0.0  # over all streams, closed ones included
        self.decode_s = 0.0  # worker seconds spent decoding, over all streams

    # ------------------------------------------------------------------ input
    def job_started(self, kind: JobKind, waited_s: float, now: float) -> None:
        waits = self._waits[kind]
        waits.append((now, waited_s))
        self._prune(now)

    def job_done(self, busy_s: float, kind: JobKind | None = None, now: float | None = None) -> None:
        """A decode finished after ``busy_s`` of a worker's wall time (at ``now``, the pool's clock); a
        caption decode's ``kind`` makes it count towards ``short_finals``."""
        self.decode_s += busy_s
        if kind is not None and now is not None:
            self._busy[kind].append((now, busy_s))
            self._prune(now)

    def progress(self, stream_id: str, received_s: float, settled_s: float) -> None:
        """A stream's audio received and settled so far (stream seconds)."""
        entry = self._streams.setdefault(stream_id, _Progress())
        self.audio_received_s += max(0.0, received_s - entry.received_s)
        entry.received_s = received_s
        entry.settled_s = settled_s

    def forget(self, stream_id: str) -> None:
        self._streams.pop(stream_id, None)
        self._held_since.pop(stream_id, None)

    def partial_held(self, stream_id: str, now: float) -> None:
        """This stream's next partial is due at the base step and held back by the widened one (counted
        once per hold in ``partials_deferred``)."""
        if stream_id not in self._held_since:
            self._held_since[stream_id] = now
            self.partials_deferred += 1

    def partial_released(self, stream_id: str) -> None:
        """This stream's partial is no longer held back (it started, or none is due)."""
        self._held_since.pop(stream_id, None)

    def first_held(self, now: float) -> str | None:
        """The stream whose partial has been held back longest (None: none is): the one an idle worker goes
        to. (A stream whose decode has just finished is first to see its worker free, and would otherwise
        take it again at once, ahead of streams that have waited longer.) A stream held back for longer than
        the widest interval has stopped sending audio (its partial would have started): it is passed over."""
        horizon = now - self.settings.max_partial_step_s - 0.5
        live = {sid: since for sid, since in self._held_since.items() if since >= horizon}
        return min(live, key=live.__getitem__, default=None)

    # ------------------------------------------------------------------ figures
    def mean_busy_s(self, kind: JobKind, now: float) -> float:
        """Mean wall time of the recent decodes of this kind."""
        return self._recent_mean(self._busy[kind], now)

    def timed_recently(self, kind: JobKind, now: float) -> bool:
        """Whether a decode of this kind finished within ``window_s``: the means above say something."""
        self._prune(now)
        return bool(self._busy[kind])

    def mean_wait_s(self, kind: JobKind, now: float) -> float:
        return self._recent_mean(self._waits[kind], now)

    def _recent_mean(self, samples: collections.deque[tuple[float, float]], now: float) -> float:
        self._prune(now)
        return sum(value for _, value in samples) / len(samples) if samples else 0.0

    def lag_s(self, stream_id: str) -> float:
        entry = self._streams.get(stream_id)
        return entry.lag_s if entry is not None else 0.0

    @property
    def lags_s(self) -> list[float]:
        return [p.lag_s for p in self._streams.values()]

    def pressure_s(self, now: float) -> float:
        """How far behind the queue runs, in seconds: recent partial waits plus finals' waits, weighted."""
        s = self.settings
        return (s.partial_wait_weight * self.mean_wait_s("partial", now)
                + s.final_wait_weight * self.mean_wait_s("final", now))

    def partial_step_s(self, base_s: float, now: float) -> float:
        step = base_s + self.pressure_s(now)
        return min(step, max(base_s, self.settings.max_partial_step_s))

    def tail_partials(self, now: float) -> bool:
        threshold = self.settings.tail_partial_pressure_s
        return threshold is not None and self.pressure_s(now) > threshold

    def short_finals(self, now: float) -> bool:
        s = self.settings
        if s.short_final_pressure_s is not None and self.pressure_s(now) > s.short_final_pressure_s:
            return True
        return (self.mean_wait_s("final", now) > s.short_final_wait_s
                or self.mean_busy_s("final", now) > s.short_final_busy_s
                or self.mean_busy_s("partial", now) > s.short_final_partial_busy_s)

    def saturated(self, now: float) -> bool:
        s = self.settings
        lags = self.lags_s
        if lags and statistics.fmean(lags) > s.saturation_lag_s:
            return True
        return self.mean_wait_s("final", now) > s.saturation_final_wait_s

    def snapshot(self, now: float) -> dict[str, float]:
        lags = self.lags_s
        return {
            "decode_lag_mean_seconds": statistics.fmean(lags) if lags else 0.0,
            "decode_lag_max_seconds": max(lags, default=0.0),
            "final_wait_seconds": self.mean_wait_s("final", now),
            "partial_wait_seconds": self.mean_wait_s("partial", now),
            "final_decode_seconds": self.mean_busy_s("final", now),
            "partial_decode_seconds": self.mean_busy_s("partial", now),
            "partial_step_seconds": self.partial_step_s(CaptionPolicySettings().partial_step_s, now),
            "partials_skipped": float(self.partials_skipped),
            "partials_deferred": float(self.partials_deferred),
            "partials_on_idle_workers": float(self.partials_on_idle_workers),
            "finals_short_window": float(self.finals_short),
            "partials_tail": float(self.partials_tail),
            "pressure_seconds": self.pressure_s(now),
            "audio_received_seconds": self.audio_received_s,
            "decode_seconds_per_audio_second": self.decode_s / self.audio_received_s if self.audio_received_s else 0.0,
            "saturated": float(self.saturated(now)),
        }

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.window_s
        for waits in (*self._waits.values(), *self._busy.values()):
            while waits and waits[0][0] < horizon:
                waits.popleft()
