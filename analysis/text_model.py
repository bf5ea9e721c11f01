"""Text cues from rules plus a sentence-embedding model: the crisis vote and the counselor-act decision.

The rules stay the explainers. For crisis language the rules (`analysis.risk`) find the phrase and the
frame; a small head on the line's sentence embedding (plus the rules' output) gives the probability
that the writer speaks of their own current suicidal or self-harm thoughts, intent or danger. They vote:

- a rule URGENT hit stays URGENT only when the model agrees (p >= `urgent`); otherwise it becomes a
  NOTICE ("demoted"), and when the model finds it very unlikely (p < `set_aside`, e.g. a joke, a quote,
  a news story, a negation or a third party) it is set aside: reported with its reason at INFO, never
  silently dropped. A line that names suicide, dying or self-harm outright is set aside only below the
  stricter `mention_set_aside`: there a miss costs most;
- a rule NOTICE stays a NOTICE unless the model finds it very unlikely (p < `notice_set_aside`, a lower
  bar than for urgent hits, since a notice does not interrupt): then it is set aside, with the reason;
- a line the rules do not flag becomes a NOTICE when the model is confident (p >= `model_notice`):
  a paraphrase the rules have no pattern for; a line that speaks of suicide, dying or self-harm at all
  needs less confidence (p >= `mention_notice`), because such a line is worth a look more often. The
  model never raises an URGENT alert on its own: an interrupting alert must show the phrase and rule.

For counselor acts a small head on the line's embedding, its similarity and word overlap with the
client's previous turn, a few surface features and the rules' own code picks open question, closed
question, reflection or other (reflections restate the client, so the previous client turn matters).

Everything here is numpy on given arrays: the encoder is reached through the `SentenceEncoder`
protocol (implemented in server/live/text_encoder.py with onnxruntime) and the head weights arrive as a
mapping of arrays (the server reads analysis/models/text_cues.npz). Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from analysis.counselor_acts import CounselorAct, classify_counselor_act
from analysis.events import Severity
from analysis.risk import Frame, RiskCategory, RiskDetector, RiskFinding

FloatArray = NDArray[np.float32]

# Lines that speak of suicide, dying or self-harm at all (a feature, and how the real sets are sliced).
MENTIONS_SUICIDE = re.compile(
    r"suicid|kill(?:ing|ed|s)? (?:my|your|him|her|them|our)sel|\bkms\b|end(?:ing)? (?:my|it|ur|this|their|his|her)\b|"
    r"\bdie\b|\bdying\b|\bdead\b|\bdeath\b|self ?harm|cut(?:ting)? myself|overdos|hang myself|want to live|"
    r"wanna die|take my (?:own )?life|\bod\b",
    re.IGNORECASE,
)


class SentenceEncoder(Protocol):
    """Unit-length sentence vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> FloatArray: ...


# --- features ---------------------------------------------------------------------------------------

_LEVELS = (Severity.NOTICE, Severity.URGENT)
_CATEGORIES = tuple(RiskCategory)
_FRAMES = tuple(Frame)
CRISIS_RULE_FEATURES = 1 + len(_LEVELS) + len(_CATEGORIES) + len(_FRAMES) + 2


def crisis_rule_features(text: str, finding: RiskFinding | None) -> FloatArray:
    """The rules' verdict as numbers: none/level, category and frame one-hot, a topic mention, length."""
    v = np.zeros(CRISIS_RULE_FEATURES, dtype=np.float32)
    if finding is None:
        v[0] = 1.0
    else:
        v[1 + _LEVELS.index(finding.level)] = 1.0
        v[1 + len(_LEVELS) + _CATEGORIES.index(finding.category)] = 1.0
        v[1 + len(_LEVELS) + len(_CATEGORIES) + _FRAMES.index(finding.frame)] = 1.0
    v[-2] = 1.0 if MENTIONS_SUICIDE.search(text) else 0.0
    v[-1] = math.log1p(len(text.split())) / 5.0
    return v


def crisis_features(embedding: FloatArray, text: str, finding: RiskFinding | None) -> FloatArray:
    return np.concatenate([embedding.astype(np.float32), crisis_rule_features(text, finding)])


_ACTS = tuple(CounselorAct)
_WORD_RE = re.compile(r"[a-z']+")
_STOPWORDS = frozenset(
    """a an the and or but so to of in on at for with from by about as is am are was were be been being it its
    this that these those i me my mine we us our you your yours he him his she her they them their there here
    what how why when where who which do does did have has had will would can could should may might just
    really very not no yes yeah okay ok um uh like know think mean get got go going one thing things""".split()
)
_FILLER_START = re.compile(r"^(?:(?:so|and|okay|ok|well|um+|uh+|mm+|hmm+|right|now|alright|yeah|oh)\b[ ,.]*)+")
_AUX_START = re.compile(r"(?:do|does|did|is|are|was|were|have|has|had|can|could|would|will|should|any)\b")
_REFLECTIVE_START = re.compile(r"(?:it )?(?:sounds|seems|feels) (?:like|as)|i hear|i'm hearing|what i'm hearing")
ACT_SURFACE_FEATURES = 18


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2}


def act_surface_features(text: str, previous: str, rules_act: CounselorAct) -> FloatArray:
    """What the words look like: the rules' code, question marks, how the line starts, length, pronouns,
    and the share of the client's content words the line takes up (reflections restate them)."""
    low = text.lower().strip()
    start = _FILLER_START.sub("", low)
    words = _WORD_RE.findall(low)
    n = max(len(words), 1)
    mine = _content_words(text)
    theirs = _content_words(previous)
    v = np.zeros(ACT_SURFACE_FEATURES, dtype=np.float32)
    v[_ACTS.index(rules_act)] = 1.0
    v[4] = 1.0 if low.endswith("?") else 0.0
    v[5] = min(low.count("?"), 3) / 3.0
    v[6] = 1.0 if re.match(r"(?:what|how|why)\b", start) else 0.0
    v[7] = 1.0 if _AUX_START.match(start) else 0.0
    v[8] = 1.0 if re.match(r"(?:you|your)\b", start) else 0.0
    v[9] = 1.0 if _REFLECTIVE_START.match(start) else 0.0
    v[10] = 1.0 if low.startswith(("so ", "so,")) else 0.0
    v[11] = math.log1p(len(words)) / 4.0
    v[12] = sum(w in ("you", "your", "you're", "yourself") for w in words) / n
    v[13] = sum(w in ("i", "me", "my", "i'm", "i've", "myself") for w in words) / n
    v[14] = len(mine & theirs) / max(len(mine), 1) if mine else 0.0
    v[15] = len(mine & theirs) / max(len(theirs), 1) if theirs else 0.0
    v[16] = 1.0 if previous.strip() else 0.0
    v[17] = 1.0 if len(words) <= 2 else 0.0
    return v


def act_features(
    line_embedding: FloatArray,
    previous_embedding: FloatArray | None,
    text: str,
    previous: str,
    rules_act: CounselorAct,
) -> FloatArray:
    """[line embedding, cosine to the client's previous turn, surface features]. The previous turn's own
    vector was tried as input too and made the head worse on development data (it learns topics, not acts);
    its similarity to the line is what tells a restatement."""
    line = line_embedding.astype(np.float32)
    cosine = 0.0 if previous_embedding is None else float(line @ previous_embedding.astype(np.float32))
    return np.concatenate(
        [line, np.array([cosine], dtype=np.float32), act_surface_features(text, previous, rules_act)]
    )


# --- heads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MlpHead:
    """Standardise, then dense layers with ReLU between them; logistic (one output) or softmax output."""

    mean: FloatArray
    scale: FloatArray
    weights: tuple[FloatArray, ...]
    biases: tuple[FloatArray, ...]
    classes: tuple[str, ...]

    @property
    def n_inputs(self) -> int:
        return int(self.mean.shape[0])

    def predict_proba(self, features: FloatArray) -> FloatArray:
        """(n, n_inputs) -> (n, len(classes)) probabilities."""
        x: FloatArray = np.atleast_2d(features).astype(np.float32)
        if x.shape[1] != self.n_inputs:
            raise ValueError(f"head expects {self.n_inputs} features, got {x.shape[1]}")
        h: FloatArray = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, np.float32(0.0))
        out: FloatArray
        if h.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-np.clip(h[:, 0], -30.0, 30.0)))
            out = np.stack([1.0 - p, p], axis=1).astype(np.float32)
        else:
            e = np.exp(h - h.max(axis=1, keepdims=True))
            out = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return out


def head_to_arrays(prefix: str, head: MlpHead) -> dict[str, NDArray[np.generic]]:
    out: dict[str, NDArray[np.generic]] = {
        f"{prefix}.mean": head.mean,
        f"{prefix}.scale": head.scale,
        f"{prefix}.classes": np.array(head.classes),
        f"{prefix}.layers": np.array(len(head.weights)),
    }
    for i, (w, b) in enumerate(zip(head.weights, head.biases, strict=True)):
        out[f"{prefix}.W{i}"] = w
        out[f"{prefix}.b{i}"] = b
    return out


def head_from_arrays(prefix: str, arrays: Mapping[str, NDArray[np.generic]]) -> MlpHead:
    try:
        layers = int(arrays[f"{prefix}.layers"])
        return MlpHead(
            mean=np.asarray(arrays[f"{prefix}.mean"], dtype=np.float32),
            scale=np.asarray(arrays[f"{prefix}.scale"], dtype=np.float32),
            weights=tuple(np.asarray(arrays[f"{prefix}.W{i}"], dtype=np.float32) for i in range(layers)),
            biases=tuple(np.asarray(arrays[f"{prefix}.b{i}"], dtype=np.float32) for i in range(layers)),
            classes=tuple(str(c) for c in np.asarray(arrays[f"{prefix}.classes"]).tolist()),
        )
    except KeyError as exc:
        raise ValueError(f"text-cue model file lacks {exc.args[0]}") from None


@dataclass(frozen=True, slots=True)
class CrisisThresholds:
    urgent: float = 0.5  # a rule URGENT hit stays urgent at or above this
    set_aside: float = 0.05  # a rule URGENT hit below this is set aside (INFO, with its reason)
    mention_set_aside: float = 0.0  # any rule hit below this when the line speaks of suicide, dying or self-harm
    notice_set_aside: float = 0.0  # a rule NOTICE hit below this (a notice never interrupts: a lower bar)
    model_notice: float = 0.9  # a line the rules miss becomes a NOTICE at or above this
    mention_notice: float = 0.5  # ... or at or above this when it speaks of suicide, dying or self-harm


@dataclass(frozen=True)
class TextCueModel:
    crisis: MlpHead
    acts: MlpHead
    thresholds: CrisisThresholds
    act_bias: FloatArray  # added to the acts head's log-probabilities (tuned on development data)
    description: str = ""  # what it was trained on

    def to_arrays(self) -> dict[str, NDArray[np.generic]]:
        t = self.thresholds
        return {
            **head_to_arrays("crisis", self.crisis),
            **head_to_arrays("acts", self.acts),
            "thresholds": np.array(
                [t.urgent, t.set_aside, t.model_notice, t.mention_notice, t.mention_set_aside, t.notice_set_aside],
                dtype=np.float64,
            ),
            "act_bias": self.act_bias.astype(np.float32),
            "description": np.array(self.description),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[np.generic]]) -> TextCueModel:
        crisis = head_from_arrays("crisis", arrays)
        acts = head_from_arrays("acts", arrays)
        if crisis.classes != ("0", "1"):
            raise ValueError(f"crisis head classes must be ('0', '1'), got {crisis.classes}")
        if set(acts.classes) != {a.value for a in CounselorAct}:
            raise ValueError(f"acts head classes must be the four counselor acts, got {acts.classes}")
        try:
            values = [float(x) for x in np.asarray(arrays["thresholds"]).reshape(-1).tolist()]
            if len(values) != 6:
                raise ValueError(f"text-cue model file has {len(values)} vote thresholds, expected 6 (retrain it)")
            urgent, set_aside, model_notice, mention_notice, mention_set_aside, notice_set_aside = values
            bias = np.asarray(arrays["act_bias"], dtype=np.float32)
            description = str(np.asarray(arrays.get("description", np.array(""))))
        except KeyError as exc:
            raise ValueError(f"text-cue model file lacks {exc.args[0]}") from None
        if bias.shape != (len(acts.classes),):
            raise ValueError("act_bias must have one value per act")
        thresholds = CrisisThresholds(
            urgent=urgent,
            set_aside=set_aside,
            mention_set_aside=mention_set_aside,
            notice_set_aside=notice_set_aside,
            model_notice=model_notice,
            mention_notice=mention_notice,
        )
        return cls(crisis, acts, thresholds, bias, description)


# --- decisions --------------------------------------------------------------------------------------


class Verdict(StrEnum):
    URGENT = "urgent"  # rules and model agree
    DEMOTED = "demoted"  # rule urgent hit the model finds unlikely: shown as a notice
    NOTICE = "notice"  # rule notice, kept
    MODEL_NOTICE = "model_notice"  # no rule matched; the model is confident
    SET_ASIDE = "set_aside"  # rule hit the model finds very unlikely: INFO, with the reason
    NONE = "none"


@dataclass(frozen=True, slots=True)
class CrisisJudgement:
    verdict: Verdict
    probability: float  # the model's probability of first-person current crisis language
    rules: RiskFinding | None  # what the rules found (the evidence), before the vote
    finding: RiskFinding | None  # what is reported: level URGENT/NOTICE, INFO when set aside, else None
    reason: str

    @property
    def level(self) -> Severity | None:
        return None if self.finding is None else self.finding.level

    @property
    def alert(self) -> RiskFinding | None:
        """The finding when it is an alert (URGENT or NOTICE); None when nothing or set aside."""
        return self.finding if self.finding is not None and self.finding.level is not Severity.INFO else None


MODEL_RULE = "model"
WINDOW_WORDS_BEFORE = 10
WINDOW_WORDS_AFTER = 6
_SEVERAL_SENTENCES = re.compile(r"[.?!…]+[\"')\]]*\s+\S")
_VERDICT_RANK = {
    Verdict.NONE: 0, Verdict.SET_ASIDE: 1, Verdict.MODEL_NOTICE: 2, Verdict.NOTICE: 2, Verdict.DEMOTED: 2,
    Verdict.URGENT: 3,
}


def phrase_window(text: str, phrase: str, context: Sequence[str] = ()) -> str | None:
    """The words around a rule's phrase: up to ten before it (reaching back into the speaker's previous
    sentence when the phrase opens this one: "I just want to." "End it all.") and six after. None when
    that is the whole sentence anyway, and None for text of several sentences (a post, a paragraph):
    the window is for one spoken sentence, and on written posts it was measured to raise false urgent
    alerts on stress posts (0.2 % to 2.4 % on the development part)."""
    if _SEVERAL_SENTENCES.search(text.strip()):
        return None
    at = text.lower().rfind(phrase.lower()) if phrase else -1
    if at < 0:
        return None
    before = text[:at].split()
    after = text[at + len(phrase):].split()
    if len(before) <= WINDOW_WORDS_BEFORE and len(after) <= WINDOW_WORDS_AFTER:
        if len(before) >= WINDOW_WORDS_BEFORE // 2 or not context:
            return None
    head = before[-WINDOW_WORDS_BEFORE:]
    if len(head) < WINDOW_WORDS_BEFORE and context:
        head = context[-1].split()[-(WINDOW_WORDS_BEFORE - len(head)):] + head
    tail_end = at + len(phrase)
    for n, word in enumerate(re.finditer(r"\S+", text[tail_end:])):
        if n == WINDOW_WORDS_AFTER:
            break
        tail_end = at + len(phrase) + word.end()
    return " ".join([*head, text[at:tail_end]])


def judge_crisis(
    text: str, rules: RiskFinding | None, probability: float, thresholds: CrisisThresholds
) -> CrisisJudgement:
    p = float(probability)
    pct = f"{100.0 * p:.0f}%"
    mentions = bool(MENTIONS_SUICIDE.search(text))
    if rules is None:
        if p >= (thresholds.mention_notice if mentions else thresholds.model_notice):
            phrase = text.strip()
            finding = RiskFinding(Severity.NOTICE, RiskCategory.SUICIDE, phrase, MODEL_RULE, Frame.FIRST_PERSON)
            reason = f"no rule matched; the model rates it {pct} likely to be crisis language"
            return CrisisJudgement(Verdict.MODEL_NOTICE, p, None, finding, reason)
        return CrisisJudgement(Verdict.NONE, p, None, None, "")
    if mentions:
        cut = thresholds.mention_set_aside
    else:
        cut = thresholds.set_aside if rules.level is Severity.URGENT else thresholds.notice_set_aside
    if p < cut:
        finding = RiskFinding(Severity.INFO, rules.category, rules.phrase, rules.rule, rules.frame)
        reason = (
            f"rule {rules.rule} matched \u201c{rules.phrase}\u201d, but the model rates it only {pct} likely to be "
            "the speaker's own current crisis (a joke, quote, story, denial or someone else)"
        )
        return CrisisJudgement(Verdict.SET_ASIDE, p, rules, finding, reason)
    if rules.level is Severity.URGENT:
        if p >= thresholds.urgent:
            return CrisisJudgement(Verdict.URGENT, p, rules, rules, f"rule {rules.rule}; the model agrees ({pct})")
        finding = RiskFinding(Severity.NOTICE, rules.category, rules.phrase, rules.rule, rules.frame)
        reason = f"rule {rules.rule} matched, but the model rates it {pct}: shown as a notice, not an alarm"
        return CrisisJudgement(Verdict.DEMOTED, p, rules, finding, reason)
    return CrisisJudgement(Verdict.NOTICE, p, rules, rules, f"rule {rules.rule} ({pct})")


def decide_act(probabilities: FloatArray, classes: Sequence[str], bias: FloatArray) -> CounselorAct:
    scores = np.log(np.maximum(probabilities.astype(np.float64), 1e-9)) + bias.astype(np.float64)
    return CounselorAct(classes[int(np.argmax(scores))])


@dataclass(frozen=True, slots=True)
class ActDecision:
    act: CounselorAct
    rules_act: CounselorAct
    probabilities: dict[str, float]


class TextCueJudge:
    """Rules plus model for one session's lines. Not thread-safe; one instance per session.

    Remembers each client's last turn and its embedding, so a counselor line is coded in the context of
    the client turn before it without encoding that turn twice.
    """

    def __init__(self, encoder: SentenceEncoder, model: TextCueModel, detector: RiskDetector | None = None) -> None:
        self.encoder = encoder
        self.model = model
        self.detector = detector or RiskDetector()
        self._last_client: tuple[str, FloatArray] | None = None

    def assess_client_line(
        self, text: str, context: Sequence[str] = (), *, rules: RiskFinding | None = None, open_sentence: bool = False,
    ) -> CrisisJudgement:
        """The vote on a client's sentence, and, when a rule matched inside a long sentence, on the words
        around the match too (``phrase_window``): the heads were fitted on lines of post length, and in a
        40-word spoken sentence the words far from the phrase dilute what the model sees. The more
        serious of the two stands.

        ``rules``: the detector's finding on ``text`` in ``context`` when the caller already has it (the
        early check of an open sentence runs the rules first and votes only on a hit). ``open_sentence``:
        the words of a sentence still being spoken; they do not become the client turn the next counselor
        line is coded against (the finished sentence will)."""
        if rules is None:
            rules = self.detector.assess(text, context)
        embedding = self.encoder.encode([text])[0]
        if not open_sentence:
            self._last_client = (text, embedding)
        p = float(self.model.crisis.predict_proba(crisis_features(embedding, text, rules))[0, 1])
        judgement = judge_crisis(text, rules, p, self.model.thresholds)
        if rules is None or judgement.verdict is Verdict.URGENT:
            return judgement
        window = phrase_window(text, rules.phrase, context)
        if window is None:
            return judgement
        window_rules = self.detector.assess(window, context)
        if window_rules is None:
            return judgement
        window_embedding = self.encoder.encode([window])[0]
        pw = float(self.model.crisis.predict_proba(crisis_features(window_embedding, window, window_rules))[0, 1])
        in_window = judge_crisis(window, window_rules, pw, self.model.thresholds)
        if _VERDICT_RANK[in_window.verdict] > _VERDICT_RANK[judgement.verdict]:
            return dataclasses.replace(in_window, reason=f"{in_window.reason}, in the words around it")
        return judgement

    def note_client_line(self, text: str, embedding: FloatArray | None = None) -> None:
        """Remember a client turn that was not assessed (e.g. an empty one) as the context for the next act."""
        self._last_client = (text, self.encoder.encode([text])[0] if embedding is None else embedding)

    def clear_context(self) -> None:
        """Forget the last client turn (a new session, or a counselor line with no client turn before it)."""
        self._last_client = None

    def code_counselor_line(self, text: str) -> ActDecision:
        rules_act = classify_counselor_act(text)
        embedding = self.encoder.encode([text])[0]
        previous, previous_embedding = self._last_client if self._last_client else ("", None)
        x = act_features(embedding, previous_embedding, text, previous, rules_act)
        probs = self.model.acts.predict_proba(x)[0]
        act = decide_act(probs, self.model.acts.classes, self.model.act_bias)
        return ActDecision(act, rules_act, {c: float(p) for c, p in zip(self.model.acts.classes, probs, strict=True)})
