"""Conversation dynamics from who is speaking when: talk share, interruptions, latencies, silences.

Input is speech on/off edges per participant (:class:`analysis.voice.VoiceActivity`), all on one
session clock (the caller maps each stream's clock onto it). Edges may arrive in batches; each batch is
processed in time order. Output is counselor-only cues plus :meth:`ConversationAnalyzer.summary` for
the panel.

Definitions (after common practice in conversation analysis):
- an *overlap* starts when someone starts speaking while another is speaking;
- it is an *interruption* of B by A when A started over B (not within ``simultaneous_start_s`` of B's
  start) and B stopped while A went on (A took the floor); if A stops first it is a *backchannel*
  when A's speech was shorter than ``backchannel_s`` ("mm-hm"), otherwise an unsuccessful overlap;
- a client's *response latency* is the silence between the counselor's last speech and the first
  client speech after it, when nobody else spoke in between and both were in the call (and heard by the
  analysis) all along: :meth:`ConversationAnalyzer.presence_changed` marks arrivals, rejoins and
  departures, and a counselor turn that ended before one of the two arrived (or while one was away) is
  not something the client answers, so time in a waiting room, an admission or a rejoin never counts;
- a *transition* A -> B is a change of who holds the floor.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from analysis.events import Cue, Severity
from analysis.voice import VoiceActivity

logger = logging.getLogger(__name__)

SESSION_ID = "session"
_MAD_TO_SIGMA = 1.4826


class Role(StrEnum):
    COUNSELOR = "counselor"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class ConversationSettings:
    backchannel_s: float = 1.0
    # Two people starting within this of each other is a simultaneous start, not an interruption.
    simultaneous_start_s: float = 0.3
    long_silence_s: float = 12.0
    # A client's answer is "slow" past this absolute floor, and past their own usual latency.
    latency_floor_s: float = 4.0
    latency_z: float = 3.0
    latency_baseline_n: int = 5
    share_window_s: float = 300.0
    share_min_speech_s: float = 60.0
    counselor_share_limit: float = 0.65
    share_rearm_margin: float = 0.1
    silent_client_s: float = 300.0
    silent_min_others_speech_s: float = 60.0
    interruption_window_s: float = 120.0
    interruption_count: int = 3


@dataclass(frozen=True, slots=True)
class ParticipantSummary:
    participant_id: str
    role: Role
    speech_s: float
    share: float
    recent_share: float
    turns: int
    median_response_latency_s: float | None
    last_spoke_s: float | None


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    at_s: float
    participants: tuple[ParticipantSummary, ...]
    # interrupter -> interrupted -> count
    interruptions: dict[str, dict[str, int]]
    backchannels: int
    overlaps: int
    overlap_s: float
    # previous floor holder -> next floor holder -> count
    transitions: dict[str, dict[str, int]]
    silent_participant_ids: tuple[str, ...]
    longest_silence_s: float


@dataclass(slots=True)
class _Speaker:
    role: Role
    speaking_since: float | None = None
    last_end_s: float | None = None
    speech_s: float = 0.0
    turns: int = 0
    segments: deque[tuple[float, float]] = field(default_factory=deque)
    latencies: list[float] = field(default_factory=list)
    # who this speaker started over, and when, while that overlap is unresolved
    started_over: tuple[str, float, bool] | None = None
    silent_cued: bool = False


class ConversationAnalyzer:
    """Pure conversation-dynamics engine; time is passed in."""

    def __init__(self, roles: dict[str, Role] | None = None,
                 settings: ConversationSettings | None = None) -> None:
        self.settings = settings or ConversationSettings()
        self._speakers: dict[str, _Speaker] = {}
        for participant_id, role in (roles or {}).items():
            self.add_participant(participant_id, role)
        self._floor: str | None = None
        self._last_counselor_end_s: float | None = None
        self._last_counselor_id: str | None = None
        # When each participant last arrived in the call, came back or went away (session seconds).
        self._presence_changed_s: dict[str, float] = {}
        self._counselor_end_pending = False
        self._silence_since: float | None = None
        self._silence_cued = False
        self._longest_silence_s = 0.0
        self._interruptions: dict[str, dict[str, int]] = {}
        self._recent_interruptions: deque[tuple[float, str, str]] = deque()
        self._interruption_cued_at: dict[str, float] = {}
        self._transitions: dict[str, dict[str, int]] = {}
        self._backchannels = 0
        self._overlaps = 0
        self._overlap_s = 0.0
        self._share_cued = False
        self._now_s = 0.0

    def add_participant(self, participant_id: str, role: Role) -> None:
        if participant_id not in self._speakers:
            self._speakers[participant_id] = _Speaker(role=role)

    def presence_changed(self, participant_id: str, at_s: float) -> None:
        """``participant_id`` arrived in the call, came back after a drop, or went away (their audio started
        or stopped reaching the analysis) at ``at_s``. Order does not matter: it is compared by time."""
        previous = self._presence_changed_s.get(participant_id, -math.inf)
        self._presence_changed_s[participant_id] = max(previous, at_s)

    def _both_present_since(self, client_id: str, counselor_id: str | None, since_s: float) -> bool:
        """True when neither the client nor the counselor arrived or left after ``since_s``."""
        changed = [self._presence_changed_s.get(client_id, -math.inf)]
        if counselor_id is not None:
            changed.append(self._presence_changed_s.get(counselor_id, -math.inf))
        return max(changed) <= since_s

    def feed(self, activity: Sequence[VoiceActivity], now_s: float) -> list[Cue]:
        cues: list[Cue] = []
        for edge in sorted(activity, key=lambda e: e.at_s):
            if edge.participant_id not in self._speakers:
                logger.debug("unknown participant in activity, treated as client")
                self.add_participant(edge.participant_id, Role.CLIENT)
            cues.extend(self._on_start(edge) if edge.speaking else self._on_end(edge))
        self._now_s = max(self._now_s, now_s)
        cues.extend(self._check_time(self._now_s))
        return cues

    # -- edges ------------------------------------------------------------------------------------

    def _speaking_ids(self) -> list[str]:
        return [pid for pid, sp in self._speakers.items() if sp.speaking_since is not None]

    def _on_start(self, edge: VoiceActivity) -> list[Cue]:
        pid, t = edge.participant_id, edge.at_s
        speaker = self._speakers[pid]
        if speaker.speaking_since is not None:
            return []
        cues: list[Cue] = []
        others = [o for o in self._speaking_ids() if o != pid]
        speaker.speaking_since = t
        if others:
            # The one who has held the floor longest is the one being talked over.
            since: dict[str, float] = {}
            for other_id in others:
                other_since = self._speakers[other_id].speaking_since
                since[other_id] = t if other_since is None else other_since
            held = min(others, key=since.__getitem__)
            simultaneous = t - since[held] < self.settings.simultaneous_start_s
            speaker.started_over = (held, t, simultaneous)
            self._overlaps += 1
            return cues
        if self._silence_since is not None:
            self._longest_silence_s = max(self._longest_silence_s, t - self._silence_since)
        self._silence_since = None
        self._silence_cued = False
        previous = self._floor
        if previous is not None and previous != pid:
            self._count_transition(previous, pid)
        if (
            speaker.role is Role.CLIENT
            and self._counselor_end_pending
            and self._last_counselor_end_s is not None
            and self._both_present_since(pid, self._last_counselor_id, self._last_counselor_end_s)
        ):
            latency = t - self._last_counselor_end_s
            cue = self._latency_cue(pid, speaker, latency, t)
            speaker.latencies.append(latency)
            if cue is not None:
                cues.append(cue)
        self._counselor_end_pending = False
        self._floor = pid
        speaker.turns += 1 if previous != pid else 0
        return cues

    def _on_end(self, edge: VoiceActivity) -> list[Cue]:
        pid, t = edge.participant_id, edge.at_s
        speaker = self._speakers[pid]
        if speaker.speaking_since is None:
            return []
        start = speaker.speaking_since
        speaker.speaking_since = None
        speaker.last_end_s = t
        speaker.speech_s += max(0.0, t - start)
        speaker.segments.append((start, t))
        cues: list[Cue] = []
        if speaker.started_over is not None:
            held, since, _ = speaker.started_over
            speaker.started_over = None
            other = self._speakers[held]
            if other.speaking_since is not None:
                self._overlap_s += t - since
                if t - start < self.settings.backchannel_s:
                    self._backchannels += 1
        # Whoever started over this speaker and is still talking has taken the floor.
        for other_id, other in self._speakers.items():
            if other.started_over is not None and other.started_over[0] == pid and other.speaking_since is not None:
                _, since, simultaneous = other.started_over
                other.started_over = None
                self._overlap_s += t - since
                if not simultaneous:
                    cues.extend(self._record_interruption(other_id, pid, t))
                self._count_transition(pid, other_id)
                self._floor = other_id
                other.turns += 1
        if not self._speaking_ids():
            self._silence_since = t
            self._silence_cued = False
            if speaker.role is Role.COUNSELOR:
                self._last_counselor_end_s = t
                self._last_counselor_id = pid
                self._counselor_end_pending = True
        return cues

    def _count_transition(self, source: str, target: str) -> None:
        row = self._transitions.setdefault(source, {})
        row[target] = row.get(target, 0) + 1

    def _record_interruption(self, interrupter: str, interrupted: str, t: float) -> list[Cue]:
        s = self.settings
        row = self._interruptions.setdefault(interrupter, {})
        row[interrupted] = row.get(interrupted, 0) + 1
        self._recent_interruptions.append((t, interrupter, interrupted))
        while self._recent_interruptions and self._recent_interruptions[0][0] < t - s.interruption_window_s:
            self._recent_interruptions.popleft()
        recent = [(a, b) for _, a, b in self._recent_interruptions if a == interrupter]
        last_cue = self._interruption_cued_at.get(interrupter)
        if len(recent) < s.interruption_count or (last_cue is not None and t - last_cue < s.interruption_window_s):
            return []
        self._interruption_cued_at[interrupter] = t
        counts: dict[str, int] = {}
        for _, b in recent:
            counts[b] = counts.get(b, 0) + 1
        minutes = s.interruption_window_s / 60.0
        return [Cue(
            at_s=t,
            participant_id=interrupter,
            kind="conversation.interruptions",
            severity=Severity.INFO,
            sentence=f"Interrupted others {len(recent)} times in the last {minutes:g} minutes.",
            evidence={"interrupted": counts, "window_s": s.interruption_window_s,
                      "session_total": sum(row.values())},
        )]

    def _latency_cue(self, pid: str, speaker: _Speaker, latency: float, t: float) -> Cue | None:
        s = self.settings
        usual: float | None = None
        limit = s.latency_floor_s
        if len(speaker.latencies) >= s.latency_baseline_n:
            usual = statistics.median(speaker.latencies)
            mad = statistics.median(abs(x - usual) for x in speaker.latencies)
            limit = max(limit, usual + s.latency_z * max(_MAD_TO_SIGMA * mad, 0.25))
        if latency < limit:
            return None
        sentence = f"Long pause ({latency:.1f} s) before answering"
        sentence += f"; usually {usual:.1f} s." if usual is not None else "."
        return Cue(
            at_s=t,
            participant_id=pid,
            kind="conversation.response_latency",
            severity=Severity.INFO,
            sentence=sentence,
            evidence={"latency_s": round(latency, 2), "usual_latency_s": None if usual is None else round(usual, 2),
                      "answers_so_far": len(speaker.latencies), "threshold_s": round(limit, 2),
                      "counselor_stopped_at_s": round(t - latency, 2)},
        )

    # -- time-driven checks -----------------------------------------------------------------------

    def _check_time(self, now: float) -> list[Cue]:
        cues: list[Cue] = []
        s = self.settings
        if self._silence_since is not None and not self._silence_cued:
            silence = now - self._silence_since
            if silence >= s.long_silence_s:
                self._silence_cued = True
                cues.append(Cue(
                    at_s=now, participant_id=SESSION_ID, kind="conversation.long_silence",
                    severity=Severity.INFO, sentence=f"No one has spoken for {silence:.0f} s.",
                    evidence={"silence_s": round(silence, 1), "since_s": round(self._silence_since, 2),
                              "last_speaker": self._floor},
                ))
        cues.extend(self._check_share(now))
        cues.extend(self._check_silent_clients(now))
        return cues

    def _speech_between(self, speaker: _Speaker, start: float, end: float) -> float:
        total = 0.0
        while speaker.segments and speaker.segments[0][1] < end - max(self.settings.share_window_s,
                                                                       self.settings.silent_client_s):
            speaker.segments.popleft()
        for a, b in speaker.segments:
            total += max(0.0, min(b, end) - max(a, start))
        if speaker.speaking_since is not None:
            total += max(0.0, end - max(speaker.speaking_since, start))
        return total

    def _recent_speech(self, now: float) -> dict[str, float]:
        start = now - self.settings.share_window_s
        return {pid: self._speech_between(sp, start, now) for pid, sp in self._speakers.items()}

    def _check_share(self, now: float) -> list[Cue]:
        s = self.settings
        recent = self._recent_speech(now)
        total = sum(recent.values())
        counselors = [pid for pid, sp in self._speakers.items() if sp.role is Role.COUNSELOR]
        if total < s.share_min_speech_s or not counselors:
            return []
        share = sum(recent[c] for c in counselors) / total
        if self._share_cued:
            if share < s.counselor_share_limit - s.share_rearm_margin:
                self._share_cued = False
            return []
        if share < s.counselor_share_limit:
            return []
        self._share_cued = True
        minutes = s.share_window_s / 60.0
        return [Cue(
            at_s=now, participant_id=counselors[0], kind="conversation.talk_share",
            severity=Severity.NOTICE,
            sentence=f"You have spoken {share:.0%} of the last {minutes:g} minutes.",
            evidence={"share": round(share, 3), "window_s": s.share_window_s,
                      "speech_s": {pid: round(v, 1) for pid, v in recent.items()},
                      "limit": s.counselor_share_limit},
        )]

    def _check_silent_clients(self, now: float) -> list[Cue]:
        s = self.settings
        clients = [pid for pid, sp in self._speakers.items() if sp.role is Role.CLIENT]
        if len(clients) < 2:
            return []
        start = now - s.silent_client_s
        cues: list[Cue] = []
        for pid in clients:
            speaker = self._speakers[pid]
            own = self._speech_between(speaker, start, now)
            if own > 0:
                speaker.silent_cued = False
                continue
            others = sum(self._speech_between(sp, start, now) for o, sp in self._speakers.items() if o != pid)
            if speaker.silent_cued or others < s.silent_min_others_speech_s:
                continue
            speaker.silent_cued = True
            minutes = s.silent_client_s / 60.0
            cues.append(Cue(
                at_s=now, participant_id=pid, kind="conversation.silent_participant",
                severity=Severity.INFO,
                sentence=f"Has not spoken in the last {minutes:g} minutes while others talked.",
                evidence={"window_s": s.silent_client_s, "others_speech_s": round(others, 1),
                          "last_spoke_s": None if speaker.last_end_s is None else round(speaker.last_end_s, 2)},
            ))
        return cues

    # -- panel ------------------------------------------------------------------------------------

    def summary(self, now_s: float | None = None) -> ConversationSummary:
        now = self._now_s if now_s is None else now_s
        recent = self._recent_speech(now)
        recent_total = sum(recent.values())
        totals = {pid: sp.speech_s + (now - sp.speaking_since if sp.speaking_since is not None else 0.0)
                  for pid, sp in self._speakers.items()}
        grand = sum(totals.values())
        participants = tuple(
            ParticipantSummary(
                participant_id=pid,
                role=sp.role,
                speech_s=round(totals[pid], 2),
                share=totals[pid] / grand if grand else 0.0,
                recent_share=recent[pid] / recent_total if recent_total else 0.0,
                turns=sp.turns,
                median_response_latency_s=statistics.median(sp.latencies) if sp.latencies else None,
                last_spoke_s=now if sp.speaking_since is not None else sp.last_end_s,
            )
            for pid, sp in self._speakers.items()
        )
        quiet_start = now - self.settings.silent_client_s
        quiet = {pid: self._speech_between(sp, quiet_start, now) for pid, sp in self._speakers.items()}
        silent = tuple(p.participant_id for p in participants
                       if p.role is Role.CLIENT and quiet[p.participant_id] == 0.0 and sum(quiet.values()) > 0)
        longest = self._longest_silence_s
        if self._silence_since is not None:
            longest = max(longest, now - self._silence_since)
        return ConversationSummary(
            at_s=now,
            participants=participants,
            interruptions={a: dict(row) for a, row in self._interruptions.items()},
            backchannels=self._backchannels,
            overlaps=self._overlaps,
            overlap_s=round(self._overlap_s, 2),
            transitions={a: dict(row) for a, row in self._transitions.items()},
            silent_participant_ids=silent,
            longest_silence_s=round(longest, 2),
        )
