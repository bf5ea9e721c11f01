"""Hint policy between the cue engines and the counselor's panel.

Cue engines say everything they notice; this decides what the counselor is shown, so the panel stays
quiet enough to glance at during a session:
- exact repeats (same participant, kind and sentence within ``duplicate_window_s``) are dropped;
- a (participant, kind) pair is shown at most once per ``cooldown_s``;
- at most ``max_per_minute`` non-urgent cues are shown in any 60 s;
- the counselor may mute a kind for the rest of the session.
URGENT cues bypass all of it: never muted, capped, cooled down or delayed.
Suppressed cues are dropped, not queued: a cue shown late would describe a moment that has passed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from analysis.events import Cue, Severity

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HintSettings:
    cooldown_s: float = 120.0
    max_per_minute: int = 3
    duplicate_window_s: float = 600.0


@dataclass(frozen=True, slots=True)
class HintStats:
    shown: int
    muted: int
    cooled_down: int
    capped: int
    duplicates: int


class HintPolicy:
    """Pure filter: ``feed(cues, now_s)`` returns the cues to show now."""

    def __init__(self, settings: HintSettings | None = None) -> None:
        self.settings = settings or HintSettings()
        self._muted: set[str] = set()
        self._last_shown: dict[tuple[str, str], float] = {}
        self._last_sentence: dict[tuple[str, str, str], float] = {}
        self._shown_times: deque[float] = deque()
        self._counts = {"shown": 0, "muted": 0, "cooled_down": 0, "capped": 0, "duplicates": 0}

    @property
    def muted_kinds(self) -> frozenset[str]:
        return frozenset(self._muted)

    @property
    def stats(self) -> HintStats:
        return HintStats(**self._counts)

    def mute(self, kind: str) -> None:
        self._muted.add(kind)

    def unmute(self, kind: str) -> None:
        self._muted.discard(kind)

    def feed(self, cues: Sequence[Cue], now_s: float) -> list[Cue]:
        shown: list[Cue] = []
        # Urgent first, so that a storm of minor cues in the same batch cannot crowd them out.
        ordered = sorted(cues, key=lambda c: (c.severity is not Severity.URGENT, c.at_s))
        for cue in ordered:
            reason = None if cue.severity is Severity.URGENT else self._reason_to_hold(cue, now_s)
            if reason is not None:
                self._counts[reason] += 1
                logger.debug("hint %s for %s suppressed: %s", cue.kind, cue.participant_id, reason)
                continue
            self._counts["shown"] += 1
            shown.append(cue)
            self._last_shown[(cue.participant_id, cue.kind)] = now_s
            self._last_sentence[(cue.participant_id, cue.kind, cue.sentence)] = now_s
            if cue.severity is not Severity.URGENT:
                self._shown_times.append(now_s)
        return shown

    def _reason_to_hold(self, cue: Cue, now_s: float) -> str | None:
        s = self.settings
        if cue.kind in self._muted:
            return "muted"
        seen = self._last_sentence.get((cue.participant_id, cue.kind, cue.sentence))
        if seen is not None and now_s - seen < s.duplicate_window_s:
            return "duplicates"
        last = self._last_shown.get((cue.participant_id, cue.kind))
        if last is not None and now_s - last < s.cooldown_s:
            return "cooled_down"
        while self._shown_times and self._shown_times[0] <= now_s - 60.0:
            self._shown_times.popleft()
        if len(self._shown_times) >= s.max_per_minute:
            return "capped"
        return None
