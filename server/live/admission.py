"""Which live sessions have captions: admission when a session's first uplink starts, re-admission later.

A session whose first uplink starts while the caption engine is full (``capacity`` sessions captioned) or
behind (``PoolLoad.saturated``, once at least ``floor_sessions`` are captioned) is *shed*: it runs without
live captions. It waits for room, and is given captions as soon as there is some:

* room: fewer captioned sessions than ``capacity``;
* and, where being behind counts (``shed_when_behind`` and at least ``floor_sessions`` captioned), a calm
  pool: not seen saturated for ``calm_s``. A pool that has only just caught up is often about to fall behind
  again; admitting on the first calm reading would flap a session's captions on and off. After each such
  re-admission the pool must be calm for ``calm_s`` again, so the new stream's load shows before the next.

Shed sessions get captions oldest first, and a new session does not go before a waiting one. A session
that has captions keeps them for its life: under load it gets fewer partials and cheaper finals, never
none (``server.live.load``).

Pure bookkeeping: time and load come in through ``clock`` and ``load`` (the ASR pool's), so tests drive it
with fakes. Not thread-safe: used on the event loop only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

__all__ = ["AdmissionSettings", "CaptionAdmission", "Readmission", "ShedReason"]

ShedReason = Literal["capacity", "overloaded"]


class _Live(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def ended(self) -> bool: ...


class _Load(Protocol):
    def saturated(self, now: float) -> bool: ...


S = TypeVar("S", bound=_Live)


@dataclass(frozen=True, slots=True)
class AdmissionSettings:
    """``capacity``: sessions with live captions at once (``ATTUNE_CAPTION_CAPACITY``); ``shed_when_behind``:
    a saturated pool also keeps sessions out (``ATTUNE_CAPTION_SHED_WHEN_BEHIND``); ``floor_sessions``: below
    this many captioned sessions saturation does not count (a lone session that lags says more about the
    machine than about caption load); ``calm_s``: how long the pool must not be seen behind before a shed
    session is re-admitted."""

    capacity: int = 12
    shed_when_behind: bool = True
    floor_sessions: int = 2
    calm_s: float = 5.0


@dataclass(frozen=True, slots=True)
class _Shed(Generic[S]):
    session: S
    reason: ShedReason
    since: float


@dataclass(frozen=True, slots=True)
class Readmission(Generic[S]):
    """A shed session given captions: why it had been shed, and for how long (``clock`` seconds)."""

    session: S
    reason: ShedReason
    waited_s: float


class CaptionAdmission(Generic[S]):
    """The captioned sessions and the shed ones waiting for room, oldest first."""

    def __init__(self, settings: AdmissionSettings, load: _Load, clock: Callable[[], float]) -> None:
        self.settings = settings
        self._load = load
        self._clock = clock
        self._captioned: dict[str, S] = {}
        self._waiting: dict[str, _Shed[S]] = {}  # insertion order is shedding order: oldest first
        self._calm_since: float | None = None  # since when the pool has been seen not saturated, continuously
        self.shed_total = 0
        self.readmitted_total = 0

    # ------------------------------------------------------------------ queries
    @property
    def captioned(self) -> int:
        self._prune()
        return len(self._captioned)

    @property
    def waiting(self) -> list[S]:
        self._prune()
        return [shed.session for shed in self._waiting.values()]

    def has_captions(self, session_id: str) -> bool:
        return session_id in self._captioned

    def shed_reason(self, session_id: str) -> ShedReason | None:
        shed = self._waiting.get(session_id)
        return shed.reason if shed is not None else None

    # ------------------------------------------------------------------ decisions
    def admit(self, session: S) -> ShedReason | None:
        """A session's uplink starts: None when it has captions (already, or from now), otherwise why not.
        Call ``readmit`` first, so that sessions already waiting take the room before this one."""
        self._prune()
        if session.id in self._captioned:
            return None
        shed = self._waiting.get(session.id)
        if shed is not None:
            return shed.reason
        now = self._clock()
        count, capacity = len(self._captioned), self.settings.capacity
        behind = self._behind_counts(count) and self._load.saturated(now)
        if not self._waiting and count < capacity and not behind:
            self._captioned[session.id] = session
            return None
        # Behind sessions already waiting, the room they will take counts as taken.
        reason: ShedReason = "capacity" if count + len(self._waiting) >= capacity else "overloaded"
        if not self._waiting:
            self._calm_since = None  # nobody was watching the pool: calm is counted from now
        self._waiting[session.id] = _Shed(session, reason, now)
        self.shed_total += 1
        self._observe(now)
        return reason

    def readmit(self) -> list[Readmission[S]]:
        """Shed sessions that get captions now, oldest first (called about once a second while any wait)."""
        self._prune()
        if not self._waiting:
            return []
        now = self._clock()
        self._observe(now)
        admitted: list[Readmission[S]] = []
        while self._waiting:
            count = len(self._captioned)
            if count >= self.settings.capacity:
                break
            gated = self._behind_counts(count)
            if gated and not self._calm(now):
                break
            session_id = next(iter(self._waiting))
            shed = self._waiting.pop(session_id)
            self._captioned[session_id] = shed.session
            self.readmitted_total += 1
            admitted.append(Readmission(shed.session, shed.reason, now - shed.since))
            if gated:
                self._calm_since = now  # the new stream's load must show before the next one comes in
        if not self._waiting:
            self._calm_since = None
        return admitted

    # ------------------------------------------------------------------ internals
    def _behind_counts(self, captioned: int) -> bool:
        return self.settings.shed_when_behind and captioned >= self.settings.floor_sessions

    def _observe(self, now: float) -> None:
        if self._load.saturated(now):
            self._calm_since = None
        elif self._calm_since is None:
            self._calm_since = now

    def _calm(self, now: float) -> bool:
        return self._calm_since is not None and now - self._calm_since >= self.settings.calm_s

    def _prune(self) -> None:
        for sid in [sid for sid, s in self._captioned.items() if s.ended]:
            del self._captioned[sid]
        for sid in [sid for sid, shed in self._waiting.items() if shed.session.ended]:
            del self._waiting[sid]
