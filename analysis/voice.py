"""Voice cues for one speaker: pitch, loudness, pace and pauses against the speaker's own baseline.

Audio arrives as 16 kHz mono chunks. Each 40 ms frame (20 ms hop) gets a level in dBFS, a speech flag
(energy above an adaptive noise floor) and an F0 from a batched YIN (cumulative mean normalised
difference, FFT autocorrelation); librosa's pyin is ~15x slower and parselmouth is GPL, so neither is
used. Every ``hop_speech_s`` of new speech, the last ``window_speech_s`` of speech is summarised into
:class:`VoiceFeatures`. Windows from the first ``baseline_speech_s`` of the speaker's speech form the
baseline (median and MAD per feature); later windows are compared with it, and a cue is raised when a
feature has moved both by a robust z-score and by a minimum effect size for ``persist_windows`` windows
in a row. A cue is raised once when a deviation starts; it may be raised again only after the feature
has come back towards the baseline.

Besides cues, the analyser reports speech on/off edges (:class:`VoiceActivity`) for conversation
analysis, via :meth:`VoiceAnalyzer.take_activity`.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from analysis.events import CaptionFinal, Cue, Severity

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
_MAD_TO_SIGMA = 1.4826
_PITCH_REF_HZ = 100.0
_DB_FLOOR = -100.0


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    sample_rate: int = 16_000
    frame_s: float = 0.040
    hop_s: float = 0.020
    f0_min_hz: float = 65.0
    f0_max_hz: float = 400.0
    # YIN's aperiodicity threshold: frames whose best dip is above it are treated as unvoiced.
    yin_threshold: float = 0.2
    # Speech = frame level this far above the noise floor. The floor is capped so that a stream that
    # starts with speech (no silence yet to measure) is still segmented.
    speech_margin_db: float = 12.0
    noise_floor_cap_dbfs: float = -50.0
    noise_floor_memory_s: float = 30.0
    # ...and never below this: with browser noise suppression the floor can be digital silence, and
    # breath and room tails at -70 dBFS are not speech.
    min_speech_dbfs: float = -55.0
    # Frames are analysed in batches of at least this much audio: numpy's per-call overhead dominates
    # when a live stream arrives in 20 ms chunks. Costs at most this much delay on activity edges.
    min_batch_s: float = 0.2
    min_onset_s: float = 0.06
    min_pause_s: float = 0.3
    # Silences longer than this end a turn; they are a conversation matter, not a voice feature.
    turn_gap_s: float = 2.0
    window_speech_s: float = 20.0
    hop_speech_s: float = 2.0
    baseline_speech_s: float = 60.0
    min_baseline_windows: int = 5
    z_threshold: float = 3.0
    persist_windows: int = 2
    # Minimum effect sizes: changes smaller than these are not worth a counselor's attention even if
    # the baseline was very steady.
    min_pace_change: float = 0.20  # relative change in syllables per second of speech
    min_loudness_change_db: float = 4.0
    min_pitch_change_st: float = 3.0
    min_spread_change: float = 0.40  # relative change in pitch spread (semitones)
    min_pause_share_change: float = 0.12  # absolute change in the share of in-turn time spent paused
    min_voiced_s: float = 2.0  # a window needs this much voiced speech to judge pitch


@dataclass(frozen=True, slots=True)
class VoiceActivity:
    """A speech on/off edge for one participant, at a time on the stream clock."""

    participant_id: str
    at_s: float
    speaking: bool


@dataclass(frozen=True, slots=True)
class VoiceFeatures:
    """One analysis window, for the panel and for comparison with the baseline."""

    at_s: float
    window_start_s: float
    speech_s: float
    loudness_dbfs: float
    pitch_hz: float | None
    pitch_spread_st: float | None
    syllables_per_s: float | None
    pause_share: float | None
    words_per_s: float | None


@dataclass(frozen=True, slots=True)
class BaselineStat:
    median: float
    mad: float
    n: int


@dataclass(frozen=True, slots=True)
class _Metric:
    name: str
    kind: str
    unit: str
    relative: bool
    higher_words: str
    lower_words: str


_METRICS: tuple[_Metric, ...] = (
    _Metric("syllables_per_s", "voice.pace", "syllables/s", True, "speaking faster", "speaking slower"),
    _Metric("words_per_s", "voice.pace_words", "words/s", True, "speaking faster", "speaking slower"),
    _Metric("loudness_dbfs", "voice.loudness", "dBFS", False, "speaking louder", "speaking more quietly"),
    _Metric("pitch_st", "voice.pitch", "semitones re 100 Hz", False, "voice higher", "voice lower"),
    _Metric("pitch_spread_st", "voice.flatness", "semitones", True, "voice more animated",
            "voice flatter"),
    _Metric("pause_share", "voice.pauses", "share of turn time", False, "pausing more", "pausing less"),
)


def _min_effect(settings: VoiceSettings, name: str) -> float:
    return {
        "syllables_per_s": settings.min_pace_change,
        "words_per_s": settings.min_pace_change,
        "loudness_dbfs": settings.min_loudness_change_db,
        "pitch_st": settings.min_pitch_change_st,
        "pitch_spread_st": settings.min_spread_change,
        "pause_share": settings.min_pause_share_change,
    }[name]


def _to_float(samples: NDArray[np.generic]) -> FloatArray:
    if samples.dtype == np.int16:
        return samples.astype(np.float64) / 32768.0
    return samples.astype(np.float64)


def frame_levels_dbfs(frames: FloatArray) -> FloatArray:
    """RMS level of each row in dBFS (full-scale sine = -3 dBFS)."""
    power = np.mean(frames * frames, axis=1)
    return np.asarray(10.0 * np.log10(np.maximum(power, 10.0 ** (_DB_FLOOR / 10.0))), dtype=np.float64)


def yin_f0(frames: FloatArray, sample_rate: int, f0_min_hz: float, f0_max_hz: float,
           threshold: float) -> FloatArray:
    """F0 in Hz for each row (NaN where unvoiced), YIN (de Cheveigné & Kawahara 2002), batched.

    Each row must be longer than twice the longest period; the integration window is the row length
    minus the longest lag.
    """
    n_frames, width = frames.shape
    tau_min = max(2, int(sample_rate / f0_max_hz))
    tau_max = math.ceil(sample_rate / f0_min_hz)
    integration = width - tau_max - 1
    if integration <= tau_max // 2:
        raise ValueError("frame too short for the lowest F0")
    if n_frames == 0:
        return np.empty(0, dtype=np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    # Only non-negative lags up to tau_max + 1 are read, and head index + lag < width, so a circular
    # correlation of length >= width has no wrap-around where it is read.
    n_fft = 1 << (width - 1).bit_length()
    spectrum_full = np.fft.rfft(frames, n_fft, axis=1)
    spectrum_head = np.fft.rfft(frames[:, :integration], n_fft, axis=1)
    # cross[t, tau] = sum_j x[j] x[j + tau] for j < integration
    cross = np.fft.irfft(np.conj(spectrum_head) * spectrum_full, n_fft, axis=1)[:, : tau_max + 2]
    squares = np.concatenate([np.zeros((n_frames, 1)), np.cumsum(frames * frames, axis=1)], axis=1)
    lags = np.arange(tau_max + 2)
    energy_head = squares[:, integration][:, None]
    energy_lagged = squares[:, lags + integration] - squares[:, lags]
    diff = np.maximum(energy_head + energy_lagged - 2.0 * cross, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(cumulative, 1e-12)
    inner = cmnd[:, tau_min : tau_max + 1]
    before = cmnd[:, tau_min - 1 : tau_max]
    after = cmnd[:, tau_min + 1 : tau_max + 2]
    dips = (inner < threshold) & (inner <= before) & (inner < after)
    voiced = dips.any(axis=1)
    first = np.argmax(dips, axis=1)
    tau = first + tau_min
    rows = np.arange(n_frames)
    left, mid, right = cmnd[rows, tau - 1], cmnd[rows, tau], cmnd[rows, tau + 1]
    curvature = left - 2.0 * mid + right
    shift = np.where(np.abs(curvature) > 1e-12, 0.5 * (left - right) / np.where(curvature == 0, 1, curvature),
                     0.0)
    period = tau + np.clip(shift, -1.0, 1.0)
    return np.where(voiced, sample_rate / period, np.nan)


def _runs(flags: NDArray[np.bool_]) -> list[tuple[bool, int, int]]:
    """Run-length encoding: (value, start, end_exclusive)."""
    if flags.size == 0:
        return []
    edges = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [flags.size]])
    return [(bool(flags[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def count_syllable_nuclei(levels_db: FloatArray, speech: NDArray[np.bool_], voiced: NDArray[np.bool_],
                          min_dip_db: float = 3.0) -> int:
    """Syllable nuclei as intensity peaks in voiced speech separated by dips (de Jong & Wempe 2009)."""
    if levels_db.size < 3:
        return 0
    smooth = np.convolve(levels_db, np.ones(3) / 3.0, mode="same")
    speech_levels = smooth[speech]
    if speech_levels.size == 0:
        return 0
    # Peaks must stand out from the quiet parts of the speaker's own speech in this window.
    floor = float(np.median(speech_levels)) - 10.0
    is_peak = np.zeros(smooth.size, dtype=bool)
    is_peak[1:-1] = (smooth[1:-1] > smooth[:-2]) & (smooth[1:-1] >= smooth[2:])
    candidates = np.flatnonzero(is_peak & voiced & speech & (smooth > floor))
    count = 0
    last_peak_level = -math.inf
    last_peak_index = -1
    for index in candidates:
        level = float(smooth[index])
        if last_peak_index < 0:
            count, last_peak_index, last_peak_level = 1, int(index), level
            continue
        dip = float(np.min(smooth[last_peak_index : index + 1]))
        if last_peak_level - dip >= min_dip_db and level - dip >= min_dip_db:
            count += 1
            last_peak_index, last_peak_level = int(index), level
        elif level > last_peak_level:
            last_peak_index, last_peak_level = int(index), level
    return count


@dataclass(slots=True)
class _MetricState:
    baseline_values: list[float] = field(default_factory=list)
    baseline: BaselineStat | None = None
    streak: int = 0
    streak_direction: int = 0
    active_direction: int = 0
    calm_streak: int = 0


class VoiceAnalyzer:
    """Voice features and cues for one participant's audio stream. Pure: time is passed in."""

    def __init__(self, participant_id: str, settings: VoiceSettings | None = None) -> None:
        self.participant_id = participant_id
        self.settings = settings or VoiceSettings()
        s = self.settings
        self._frame = round(s.frame_s * s.sample_rate)
        self._hop = round(s.hop_s * s.sample_rate)
        self._env_window = min(round(0.025 * s.sample_rate), self._frame - self._hop // 2)
        longest_period = math.ceil(s.sample_rate / s.f0_min_hz)
        if self._frame - longest_period <= longest_period // 2:
            raise ValueError("frame_s too short for f0_min_hz")
        self._buffer = np.empty(0, dtype=np.float64)
        self._buffer_start_s: float | None = None
        history = int(max(s.noise_floor_memory_s, 4 * s.window_speech_s) / s.hop_s)
        self._times: deque[float] = deque(maxlen=history)
        self._levels: deque[float] = deque(maxlen=history)
        self._envelope: deque[tuple[float, float]] = deque(maxlen=history)
        self._f0: deque[float] = deque(maxlen=history)
        self._speech: deque[bool] = deque(maxlen=history)
        self._floor_levels: deque[float] = deque(maxlen=int(s.noise_floor_memory_s / s.hop_s))
        self._noise_floor_dbfs = s.noise_floor_cap_dbfs
        self._frames_seen = 0
        self._speech_total_s = 0.0
        self._speech_since_eval_s = 0.0
        self._speaking = False
        self._onset_frames = 0
        self._onset_time = 0.0
        self._last_speech_end_s = 0.0
        self._activity: list[VoiceActivity] = []
        self._words: deque[tuple[float, float, int]] = deque(maxlen=200)
        self._metrics = {m.name: _MetricState() for m in _METRICS}
        self._features: VoiceFeatures | None = None
        self._baseline_done = False

    # -- public API -------------------------------------------------------------------------------

    @property
    def features(self) -> VoiceFeatures | None:
        """The latest analysis window, or None before the first one."""
        return self._features

    @property
    def baseline(self) -> dict[str, BaselineStat]:
        """The frozen baseline per feature (empty while it is still being collected)."""
        return {name: st.baseline for name, st in self._metrics.items() if st.baseline is not None}

    @property
    def baseline_ready(self) -> bool:
        return self._baseline_done

    @property
    def speech_total_s(self) -> float:
        return self._speech_total_s

    @property
    def speaking(self) -> bool:
        return self._speaking

    def take_activity(self) -> list[VoiceActivity]:
        """Speech on/off edges since the last call."""
        edges, self._activity = self._activity, []
        return edges

    def feed_caption(self, line: CaptionFinal) -> None:
        """Word count and span of a final caption line, for a words-per-second pace measure."""
        words = len(line.text.split())
        if words and line.end_s > line.start_s:
            self._words.append((line.start_s, line.end_s, words))

    def feed(self, samples: NDArray[np.int16] | NDArray[np.float32] | NDArray[np.float64],
             at_s: float) -> list[Cue]:
        """Add a chunk of 16 kHz mono audio whose first sample is at ``at_s`` on the stream clock."""
        s = self.settings
        chunk = _to_float(samples.reshape(-1))
        if self._buffer_start_s is None:
            self._buffer_start_s = at_s
        else:
            expected = self._buffer_start_s + self._buffer.size / s.sample_rate
            if abs(at_s - expected) > s.hop_s:
                # A gap or a jump in the stream: frames cannot straddle it.
                logger.debug("voice stream %s jumped by %.3f s", self.participant_id, at_s - expected)
                self._close_segment()
                self._buffer = np.empty(0, dtype=np.float64)
                self._buffer_start_s = at_s
        self._buffer = np.concatenate([self._buffer, chunk]) if self._buffer.size else chunk
        n_frames = max(0, (self._buffer.size - self._frame) // self._hop + 1)
        if n_frames == 0 or n_frames * s.hop_s < s.min_batch_s:
            return []
        view = np.lib.stride_tricks.sliding_window_view(self._buffer, self._frame)[:: self._hop][:n_frames]
        frames = np.array(view)
        start_s = self._buffer_start_s
        self._buffer = self._buffer[n_frames * self._hop :]
        self._buffer_start_s = start_s + n_frames * self._hop / s.sample_rate
        times = start_s + (np.arange(n_frames) * self._hop + self._frame / 2) / s.sample_rate
        levels = frame_levels_dbfs(frames)
        # Syllable nuclei need a finer intensity envelope than the pitch frames give: two 25 ms
        # windows per frame, centred a quarter hop either side of the frame centre.
        quarter = self._hop // 4
        half_env = self._env_window // 2
        centre = self._frame // 2
        envelope = np.stack([
            frame_levels_dbfs(frames[:, centre - quarter - half_env : centre - quarter + half_env]),
            frame_levels_dbfs(frames[:, centre + quarter - half_env : centre + quarter + half_env]),
        ], axis=1)
        f0 = yin_f0(frames, s.sample_rate, s.f0_min_hz, s.f0_max_hz, s.yin_threshold)
        return self._ingest(times, levels, envelope, f0)

    # -- internals --------------------------------------------------------------------------------

    def _ingest(self, times: FloatArray, levels: FloatArray, envelope: FloatArray,
                f0: FloatArray) -> list[Cue]:
        s = self.settings
        cues: list[Cue] = []
        onset_frames = max(1, round(s.min_onset_s / s.hop_s))
        floor_every = max(1, round(1.0 / s.hop_s))
        for t, level, pair, pitch in zip(times, levels, envelope, f0, strict=True):
            self._floor_levels.append(float(level))
            self._frames_seen += 1
            if self._frames_seen % floor_every == 0 or self._frames_seen < floor_every:
                # The floor moves slowly; once a second is plenty. Updating on the frame count (not per
                # call) keeps results independent of how the caller chunks the stream.
                floor = float(np.percentile(np.fromiter(self._floor_levels, dtype=np.float64), 5))
                self._noise_floor_dbfs = min(floor, s.noise_floor_cap_dbfs)
            is_speech = bool(level > max(self._noise_floor_dbfs + s.speech_margin_db, s.min_speech_dbfs))
            if not is_speech:
                pitch = np.nan
            self._times.append(float(t))
            self._levels.append(float(level))
            self._envelope.append((float(pair[0]), float(pair[1])))
            self._f0.append(float(pitch))
            self._speech.append(bool(is_speech))
            self._track_segment(float(t), is_speech, onset_frames)
            if is_speech:
                self._speech_total_s += s.hop_s
                self._speech_since_eval_s += s.hop_s
                if self._speech_since_eval_s >= s.hop_speech_s and self._speech_total_s >= s.window_speech_s:
                    self._speech_since_eval_s = 0.0
                    cues.extend(self._evaluate(float(t)))
        return cues

    def _track_segment(self, t: float, is_speech: bool, onset_frames: int) -> None:
        s = self.settings
        if self._speaking:
            if is_speech:
                self._last_speech_end_s = t + s.hop_s / 2
            elif t - self._last_speech_end_s >= s.min_pause_s:
                self._close_segment()
            return
        if is_speech:
            if self._onset_frames == 0:
                self._onset_time = t - s.hop_s / 2
            self._onset_frames += 1
            if self._onset_frames >= onset_frames:
                self._speaking = True
                self._last_speech_end_s = t + s.hop_s / 2
                self._activity.append(VoiceActivity(self.participant_id, self._onset_time, True))
        else:
            self._onset_frames = 0

    def _close_segment(self) -> None:
        if self._speaking:
            self._speaking = False
            self._activity.append(VoiceActivity(self.participant_id, self._last_speech_end_s, False))
        self._onset_frames = 0

    def _window(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
        s = self.settings
        speech = np.fromiter(self._speech, dtype=bool)
        need = round(s.window_speech_s / s.hop_s)
        cumulative = np.cumsum(speech[::-1])
        reach = int(np.searchsorted(cumulative, need)) + 1
        start = max(0, speech.size - reach)
        times = np.fromiter(self._times, dtype=np.float64)[start:]
        levels = np.fromiter(self._levels, dtype=np.float64)[start:]
        f0 = np.fromiter(self._f0, dtype=np.float64)[start:]
        envelope = np.asarray(list(self._envelope), dtype=np.float64)[start:].reshape(-1)
        return times, levels, envelope, f0, speech[start:]

    def _measure(self, at_s: float) -> VoiceFeatures:
        s = self.settings
        times, levels, envelope, f0, speech = self._window()
        speech_s = float(speech.sum()) * s.hop_s
        loudness = float(10.0 * np.log10(np.mean(10.0 ** (levels[speech] / 10.0))))
        voiced = np.isfinite(f0)
        pitch_hz: float | None = None
        spread: float | None = None
        if voiced.sum() * s.hop_s >= s.min_voiced_s:
            semitones = 12.0 * np.log2(f0[voiced] / _PITCH_REF_HZ)
            centre = float(np.median(semitones))
            # Octave errors of the tracker would dominate a plain standard deviation.
            q75, q25 = np.percentile(semitones, [75, 25])
            spread = float(q75 - q25) / 1.349
            pitch_hz = _PITCH_REF_HZ * 2.0 ** (centre / 12.0)
        # Voicing at the pitch-frame rate is coarse; a peak next to a voiced frame counts as voiced.
        near_voiced = voiced.copy()
        near_voiced[1:] |= voiced[:-1]
        near_voiced[:-1] |= voiced[1:]
        nuclei = count_syllable_nuclei(envelope, np.repeat(speech, 2), np.repeat(near_voiced, 2))
        syllable_rate = nuclei / speech_s if speech_s > 0 else None
        pause_s = 0.0
        runs = _runs(speech)
        for index, (is_speech, first, end) in enumerate(runs):
            gap_s = (end - first) * s.hop_s
            inner = 0 < index < len(runs) - 1
            if not is_speech and inner and s.min_pause_s <= gap_s < s.turn_gap_s:
                pause_s += gap_s
        pause_share = pause_s / (pause_s + speech_s) if speech_s > 0 else None
        words_per_s = self._words_rate(float(times[0]), at_s)
        return VoiceFeatures(
            at_s=at_s,
            window_start_s=float(times[0]),
            speech_s=speech_s,
            loudness_dbfs=loudness,
            pitch_hz=pitch_hz,
            pitch_spread_st=spread,
            syllables_per_s=syllable_rate,
            pause_share=pause_share,
            words_per_s=words_per_s,
        )

    def _words_rate(self, start_s: float, end_s: float) -> float | None:
        spans = [(a, b, n) for a, b, n in self._words if b > start_s and a < end_s]
        seconds = sum(b - a for a, b, _ in spans)
        if seconds < self.settings.window_speech_s / 2:
            return None
        return sum(n for _, _, n in spans) / seconds

    @staticmethod
    def _values(features: VoiceFeatures) -> dict[str, float | None]:
        pitch_st = None if features.pitch_hz is None else 12.0 * math.log2(features.pitch_hz / _PITCH_REF_HZ)
        return {
            "syllables_per_s": features.syllables_per_s,
            "words_per_s": features.words_per_s,
            "loudness_dbfs": features.loudness_dbfs,
            "pitch_st": pitch_st,
            "pitch_spread_st": features.pitch_spread_st,
            "pause_share": features.pause_share,
        }

    def _evaluate(self, at_s: float) -> list[Cue]:
        s = self.settings
        features = self._measure(at_s)
        self._features = features
        values = self._values(features)
        if not self._baseline_done:
            for name, value in values.items():
                if value is not None:
                    self._metrics[name].baseline_values.append(value)
            if self._speech_total_s >= s.baseline_speech_s:
                self._freeze_baseline()
            return []
        cues: list[Cue] = []
        for metric in _METRICS:
            value = values[metric.name]
            state = self._metrics[metric.name]
            if value is None or state.baseline is None:
                continue
            cue = self._compare(metric, state, state.baseline, value, features)
            if cue is not None:
                cues.append(cue)
        return cues

    def _freeze_baseline(self) -> None:
        self._baseline_done = True
        for state in self._metrics.values():
            if len(state.baseline_values) >= self.settings.min_baseline_windows:
                values = np.asarray(state.baseline_values)
                median = float(np.median(values))
                mad = float(np.median(np.abs(values - median)))
                state.baseline = BaselineStat(median, mad, int(values.size))
            state.baseline_values = []
        logger.debug("voice baseline ready for %s", self.participant_id)

    def _compare(self, metric: _Metric, state: _MetricState, base: BaselineStat, value: float,
                 features: VoiceFeatures) -> Cue | None:
        s = self.settings
        min_effect = _min_effect(s, metric.name)
        if metric.relative:
            if base.median <= 0:
                return None
            effect = value / base.median - 1.0
            scale = max(_MAD_TO_SIGMA * base.mad / base.median, min_effect / s.z_threshold)
        else:
            effect = value - base.median
            scale = max(_MAD_TO_SIGMA * base.mad, min_effect / s.z_threshold)
        z = effect / scale
        direction = int(np.sign(effect)) if abs(effect) >= min_effect and abs(z) >= s.z_threshold else 0
        if direction != 0 and direction == state.streak_direction:
            state.streak += 1
        else:
            state.streak_direction, state.streak = direction, (1 if direction else 0)
        if state.active_direction:
            # Hysteresis: the deviation ends once the feature is back within half the minimum effect.
            if abs(effect) < min_effect / 2 or np.sign(effect) != state.active_direction:
                state.calm_streak += 1
                if state.calm_streak >= s.persist_windows:
                    state.active_direction, state.calm_streak = 0, 0
            else:
                state.calm_streak = 0
            return None
        if direction == 0 or state.streak < s.persist_windows:
            return None
        state.active_direction, state.calm_streak = direction, 0
        return self._cue(metric, base, value, effect, z, direction, features)

    def _cue(self, metric: _Metric, base: BaselineStat, value: float, effect: float, z: float,
             direction: int, features: VoiceFeatures) -> Cue:
        words = metric.higher_words if direction > 0 else metric.lower_words
        evidence: dict[str, object] = {
            "feature": metric.name,
            "unit": metric.unit,
            "value": round(value, 3),
            "baseline_median": round(base.median, 3),
            "baseline_mad": round(base.mad, 3),
            "baseline_windows": base.n,
            "change": round(effect, 3),
            "change_kind": "relative" if metric.relative else "absolute",
            "z": round(z, 2),
            "window_start_s": round(features.window_start_s, 2),
            "window_end_s": round(features.at_s, 2),
            "window_speech_s": round(features.speech_s, 2),
        }
        if metric.name == "pitch_st":
            evidence["value_hz"] = round(_PITCH_REF_HZ * 2.0 ** (value / 12.0), 1)
            evidence["baseline_hz"] = round(_PITCH_REF_HZ * 2.0 ** (base.median / 12.0), 1)
        sentence = f"{words.capitalize()} than earlier in the session."
        logger.debug("voice cue %s for %s", metric.kind, self.participant_id)
        return Cue(
            at_s=features.at_s,
            participant_id=self.participant_id,
            kind=metric.kind,
            severity=Severity.INFO,
            sentence=sentence,
            evidence=evidence,
        )
