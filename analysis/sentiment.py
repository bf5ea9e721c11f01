"""Tone of each final caption line (VADER, offline) and shifts against a participant's own baseline.

A participant's baseline is the mean compound score of their lines *before* the recent window, so a
person who speaks flatly all session is compared with themselves, not with a population norm. A shift
is reported when the recent window's mean moves past a threshold from that baseline; the cue then stays
quiet for that participant and direction until the tone has come back toward baseline (re-armed) and a
cooldown has passed, so one bad stretch gives one cue, not one per line.

Pure code: time is passed in, nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analysis.events import Cue, Severity


@dataclass(frozen=True, slots=True)
class SentimentSettings:
    window_s: float = 120.0  # "the last 2 minutes"
    min_window_lines: int = 3
    min_baseline_lines: int = 5
    shift_threshold: float = 0.35  # on VADER's -1..1 compound scale
    rearm_fraction: float = 0.5  # the shift must fall below this share of the threshold to re-arm
    cooldown_s: float = 180.0
    max_evidence_lines: int = 6


@dataclass(frozen=True, slots=True)
class SentimentPoint:
    at_s: float
    compound: float
    text: str


def score_text(analyzer: SentimentIntensityAnalyzer, text: str) -> float:
    return float(analyzer.polarity_scores(text)["compound"])


class _Participant:
    __slots__ = ("armed", "last_cue_at", "points", "role")

    def __init__(self, role: str) -> None:
        self.role = role
        self.points: list[SentimentPoint] = []
        self.armed: dict[str, bool] = {"negative": True, "positive": True}
        self.last_cue_at: dict[str, float] = {}


class SentimentTracker:
    """Scores lines, keeps each participant's series and emits `words.sentiment_shift` cues."""

    def __init__(self, settings: SentimentSettings | None = None) -> None:
        self.settings = settings or SentimentSettings()
        self._analyzer = SentimentIntensityAnalyzer()
        self._participants: dict[str, _Participant] = {}

    def score(self, text: str) -> float:
        return score_text(self._analyzer, text)

    def feed(self, participant_id: str, role: str, text: str, at_s: float) -> list[Cue]:
        compound = self.score(text)
        return self.add(participant_id, role, text, at_s, compound)

    def add(self, participant_id: str, role: str, text: str, at_s: float, compound: float) -> list[Cue]:
        """Record an already-scored line (lets a caller score once and share the number)."""
        person = self._participants.get(participant_id)
        if person is None:
            person = self._participants[participant_id] = _Participant(role)
        person.points.append(SentimentPoint(at_s, compound, text))
        return self._check_shift(participant_id, person, at_s)

    def series(self, participant_id: str) -> list[tuple[float, float]]:
        """(at_s, compound) for every line of the participant, oldest first, for the panel's chart."""
        person = self._participants.get(participant_id)
        return [] if person is None else [(p.at_s, p.compound) for p in person.points]

    def participants(self) -> list[str]:
        return list(self._participants)

    def _check_shift(self, participant_id: str, person: _Participant, now_s: float) -> list[Cue]:
        s = self.settings
        window_start = now_s - s.window_s
        recent = [p for p in person.points if p.at_s > window_start]
        before = [p for p in person.points if p.at_s <= window_start]
        if len(recent) < s.min_window_lines or len(before) < s.min_baseline_lines:
            return []
        recent_mean = fmean(p.compound for p in recent)
        baseline_mean = fmean(p.compound for p in before)
        delta = recent_mean - baseline_mean
        cues: list[Cue] = []
        for direction, magnitude in (("negative", -delta), ("positive", delta)):
            if magnitude < s.rearm_fraction * s.shift_threshold:
                person.armed[direction] = True
            if magnitude < s.shift_threshold or not person.armed[direction]:
                continue
            last = person.last_cue_at.get(direction)
            if last is not None and now_s - last < s.cooldown_s:
                continue
            person.armed[direction] = False
            person.last_cue_at[direction] = now_s
            cues.append(self._cue(participant_id, person, direction, now_s, recent, recent_mean, before, baseline_mean))
        return cues

    def _cue(
        self,
        participant_id: str,
        person: _Participant,
        direction: str,
        now_s: float,
        recent: list[SentimentPoint],
        recent_mean: float,
        before: list[SentimentPoint],
        baseline_mean: float,
    ) -> Cue:
        s = self.settings
        minutes = s.window_s / 60.0
        span = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
        who = person.role.capitalize() if person.role else "Participant"
        adjective = "more negative" if direction == "negative" else "more positive"
        # The lines that pulled the mean most in this direction, in spoken order.
        sign = -1.0 if direction == "negative" else 1.0
        strongest = sorted(recent, key=lambda p: sign * p.compound, reverse=True)[: s.max_evidence_lines]
        shown = [p for p in recent if p in strongest]
        return Cue(
            at_s=now_s,
            participant_id=participant_id,
            kind="words.sentiment_shift",
            severity=Severity.NOTICE if direction == "negative" else Severity.INFO,
            sentence=f"{who}'s tone has turned {adjective} over the last {span}",
            evidence={
                "direction": direction,
                "window_s": s.window_s,
                "recent_mean": round(recent_mean, 3),
                "recent_lines": len(recent),
                "baseline_mean": round(baseline_mean, 3),
                "baseline_lines": len(before),
                "delta": round(recent_mean - baseline_mean, 3),
                "threshold": s.shift_threshold,
                "lines": [{"at_s": p.at_s, "compound": round(p.compound, 3), "text": p.text} for p in shown],
            },
        )
