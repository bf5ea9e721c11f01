"""The pure parts of the text-cue model: heads as numpy math, the crisis vote, act decisions, ratios."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from analysis.counselor_acts import BalanceRating, CounselorAct, ListeningCounter, ListeningTally
from analysis.events import Severity
from analysis.risk import Frame, RiskCategory, RiskDetector, RiskFinding
from analysis.text_model import (
    ACT_SURFACE_FEATURES,
    CRISIS_RULE_FEATURES,
    CrisisThresholds,
    FloatArray,
    MlpHead,
    TextCueJudge,
    TextCueModel,
    Verdict,
    act_features,
    act_surface_features,
    crisis_features,
    crisis_rule_features,
    decide_act,
    judge_crisis,
)
from analysis.words import CLIENT, COUNSELOR, WordCues

DIM = 8
ACTS = tuple(a.value for a in CounselorAct)
T = CrisisThresholds(urgent=0.7, set_aside=0.2, mention_set_aside=0.05, model_notice=0.9, mention_notice=0.6)


class HashEncoder:
    """A stand-in encoder: a fixed unit vector per text (CRC32-seeded), and a record of what was encoded."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def encode(self, texts: Sequence[str]) -> FloatArray:
        self.calls.extend(texts)
        rows = []
        for t in texts:
            v = np.random.default_rng(zlib.crc32(t.encode())).normal(size=DIM).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def finding(level: Severity, rule: str = "want_to_die") -> RiskFinding:
    return RiskFinding(level, RiskCategory.SUICIDE, "want to die", rule, Frame.FIRST_PERSON)


def linear_head(w: FloatArray, b: FloatArray, classes: tuple[str, ...]) -> MlpHead:
    n = w.shape[0]
    return MlpHead(np.zeros(n, np.float32), np.ones(n, np.float32), (w,), (b,), classes)


def constant_crisis_head(p: float) -> MlpHead:
    n = DIM + CRISIS_RULE_FEATURES
    logit = np.log(p / (1 - p))
    return linear_head(np.zeros((n, 1), np.float32), np.array([logit], np.float32), ("0", "1"))


def cosine_acts_head() -> MlpHead:
    """Reflection when the line is like the client's last turn (cosine feature), else other."""
    n = DIM + 1 + ACT_SURFACE_FEATURES
    w = np.zeros((n, 4), np.float32)
    w[DIM, ACTS.index("reflection")] = 10.0
    b = np.zeros(4, np.float32)
    b[ACTS.index("other")] = 5.0
    return linear_head(w, b, ACTS)


def model(p: float = 0.5) -> TextCueModel:
    return TextCueModel(constant_crisis_head(p), cosine_acts_head(), T, np.zeros(4, np.float32), "test")


# --- heads ------------------------------------------------------------------------------------------


def test_mlp_head_is_standardise_relu_softmax() -> None:
    rng = np.random.default_rng(0)
    mean, scale = rng.normal(size=3).astype(np.float32), rng.uniform(0.5, 2, size=3).astype(np.float32)
    w0, b0 = rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    w1, b1 = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    head = MlpHead(mean, scale, (w0, w1), (b0, b1), ACTS)
    x = rng.normal(size=(2, 3)).astype(np.float32)
    h = np.maximum((x - mean) / scale @ w0 + b0, 0) @ w1 + b1
    expected = np.exp(h) / np.exp(h).sum(axis=1, keepdims=True)
    assert np.allclose(head.predict_proba(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="expects 3 features"):
        head.predict_proba(np.zeros((1, 4), np.float32))


def test_one_output_head_is_logistic() -> None:
    head = linear_head(np.array([[2.0]], np.float32), np.array([-1.0], np.float32), ("0", "1"))
    p = head.predict_proba(np.array([[1.0]], np.float32))[0]
    assert p[1] == pytest.approx(1 / (1 + np.exp(-1.0)), abs=1e-6) and p.sum() == pytest.approx(1.0)


def test_model_round_trips_through_arrays_and_rejects_bad_files() -> None:
    m = model(0.3)
    back = TextCueModel.from_arrays(m.to_arrays())
    assert back.thresholds == T and back.description == "test"
    x = np.ones((1, DIM + CRISIS_RULE_FEATURES), np.float32)
    assert np.allclose(back.crisis.predict_proba(x), m.crisis.predict_proba(x))
    arrays = m.to_arrays()
    del arrays["acts.W0"]
    with pytest.raises(ValueError, match=r"acts\.W0"):
        TextCueModel.from_arrays(arrays)
    arrays = m.to_arrays()
    arrays["thresholds"] = arrays["thresholds"][:5]  # a file from an older vote
    with pytest.raises(ValueError, match="5 vote thresholds"):
        TextCueModel.from_arrays(arrays)
    arrays = m.to_arrays()
    arrays["crisis.classes"] = np.array(["no", "yes"])
    with pytest.raises(ValueError, match="crisis head classes"):
        TextCueModel.from_arrays(arrays)


# --- features ---------------------------------------------------------------------------------------


def test_crisis_rule_features_encode_the_rules_verdict() -> None:
    none = crisis_rule_features("nice weather", None)
    hit = crisis_rule_features("I want to die", finding(Severity.URGENT))
    assert none.shape == hit.shape == (CRISIS_RULE_FEATURES,)
    assert none[0] == 1 and hit[0] == 0 and hit[2] == 1  # "no finding" vs the URGENT slot
    assert none[-2] == 0 and hit[-2] == 1  # mentions dying
    assert crisis_features(np.zeros(DIM, np.float32), "x", None).shape == (DIM + CRISIS_RULE_FEATURES,)


def test_act_surface_features_see_questions_starts_and_restated_words() -> None:
    client = "I keep losing money at the casino and lying to my husband."
    refl = act_surface_features("You're lying to your husband about the casino.", client, CounselorAct.REFLECTION)
    quest = act_surface_features("So what brings you in today?", client, CounselorAct.OPEN_QUESTION)
    assert refl.shape == (ACT_SURFACE_FEATURES,)
    assert refl[2] == 1 and quest[0] == 1  # the rules' code, one-hot
    assert quest[4] == 1 and refl[4] == 0  # ends with a question mark
    assert quest[6] == 1 and quest[10] == 1  # a wh-start after the filler, and "so ..."
    assert refl[8] == 1  # starts with "you"
    assert refl[14] > 0.5 and quest[14] == 0  # share of the line's content words taken from the client
    line = np.ones(DIM, np.float32) / np.sqrt(DIM)
    with_prev = act_features(line, line, "a", "b", CounselorAct.OTHER)
    without = act_features(line, None, "a", "", CounselorAct.OTHER)
    assert with_prev[DIM] == pytest.approx(1.0) and without[DIM] == 0.0


# --- the crisis vote --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rules", "p", "verdict", "level"),
    [
        ("I want to die", finding(Severity.URGENT), 0.8, Verdict.URGENT, Severity.URGENT),
        ("I want to die", finding(Severity.URGENT), 0.5, Verdict.DEMOTED, Severity.NOTICE),
        ("I want to die", finding(Severity.URGENT), 0.04, Verdict.SET_ASIDE, Severity.INFO),
        ("I want to die", finding(Severity.URGENT), 0.1, Verdict.DEMOTED, Severity.NOTICE),  # names dying: stricter
        ("he hit me", finding(Severity.URGENT), 0.1, Verdict.SET_ASIDE, Severity.INFO),  # no mention: 0.2
        ("I feel trapped", finding(Severity.NOTICE), 0.3, Verdict.NOTICE, Severity.NOTICE),
        ("I feel trapped", finding(Severity.NOTICE), 0.95, Verdict.NOTICE, Severity.NOTICE),  # never promoted
        ("I don't see the point of anything", None, 0.95, Verdict.MODEL_NOTICE, Severity.NOTICE),
        ("I don't see the point of anything", None, 0.8, Verdict.NONE, None),
        ("ready to die honestly", None, 0.7, Verdict.MODEL_NOTICE, Severity.NOTICE),  # mention: 0.6
        ("ready to die honestly", None, 0.5, Verdict.NONE, None),
    ],
)
def test_vote(text: str, rules: RiskFinding | None, p: float, verdict: Verdict, level: Severity | None) -> None:
    j = judge_crisis(text, rules, p, T)
    assert j.verdict is verdict
    assert j.level is level
    assert j.rules is rules and j.probability == pytest.approx(p)
    if verdict is Verdict.SET_ASIDE:
        assert j.alert is None and j.finding is not None and j.finding.rule == "want_to_die"
        assert "want_to_die" in j.reason and "%" in j.reason  # never dropped without a reason shown
    if verdict is Verdict.MODEL_NOTICE:
        assert j.finding is not None and j.finding.rule == "model" and j.finding.phrase == text


def test_the_model_never_raises_an_urgent_alert_alone() -> None:
    for p in (0.0, 0.5, 0.99, 1.0):
        assert judge_crisis("everything is pointless and I'm done", None, p, T).level is not Severity.URGENT


# --- acts -------------------------------------------------------------------------------------------


def test_decide_act_applies_the_bias_to_log_probabilities() -> None:
    probs = np.array([0.4, 0.1, 0.35, 0.15], np.float32)
    assert decide_act(probs, ACTS, np.zeros(4, np.float32)) is CounselorAct.OPEN_QUESTION
    bias = np.array([0, 0, 0.2, 0], np.float32)
    assert decide_act(probs, ACTS, bias) is CounselorAct.REFLECTION


def test_judge_codes_a_counselor_line_against_the_last_client_turn() -> None:
    encoder = HashEncoder()
    judge = TextCueJudge(encoder, model())
    client = "I'm worried I'll lose my license."
    judge.assess_client_line(client)
    # the stand-in vectors of unrelated texts are nearly orthogonal: other; the same words: reflection
    assert judge.code_counselor_line("What time is it?").act is CounselorAct.OTHER
    decision = judge.code_counselor_line(client)
    assert decision.act is CounselorAct.REFLECTION and decision.probabilities["reflection"] > 0.9
    assert encoder.calls.count(client) == 2  # the client turn is encoded once, then remembered
    judge.clear_context()
    assert judge.code_counselor_line(client).act is CounselorAct.OTHER


def test_judge_runs_the_rules_and_votes() -> None:
    judge = TextCueJudge(HashEncoder(), model(0.95), RiskDetector())
    j = judge.assess_client_line("I've been thinking about killing myself.")
    assert j.verdict is Verdict.URGENT and j.rules is not None and j.rules.rule == "kill_self"
    low = TextCueJudge(HashEncoder(), model(0.01)).assess_client_line("I've been thinking about killing myself.")
    assert low.verdict is Verdict.SET_ASIDE


# --- listening balance ------------------------------------------------------------------------------


def test_listening_ratio_and_rating() -> None:
    assert ListeningTally().rating is None and ListeningTally().open_share is None
    assert ListeningTally(reflection=3).rating is BalanceRating.GOOD  # reflections and no question yet
    assert ListeningTally(open_question=1, closed_question=1, reflection=1).rating is BalanceRating.BELOW_FAIR
    fair = ListeningTally(open_question=1, closed_question=1, reflection=2)
    assert fair.reflection_to_question == 1.0 and fair.rating is BalanceRating.FAIR
    good = ListeningTally(open_question=3, closed_question=1, reflection=8)
    assert good.rating is BalanceRating.GOOD and good.open_share == 0.75 and good.percent_open == 75.0
    counter = ListeningCounter()
    for act in (CounselorAct.OPEN_QUESTION, CounselorAct.REFLECTION, CounselorAct.REFLECTION):
        counter.add("c1", act)
    counter.add("c2", CounselorAct.CLOSED_QUESTION)
    assert counter.tally("c1").reflection_to_question == 2.0
    assert counter.tally().questions == 2 and counter.tally("nobody").questions == 0


# --- WordCues with a judge --------------------------------------------------------------------------


def test_word_cues_report_a_set_aside_rule_hit_with_its_reason() -> None:
    cues = WordCues(judge=TextCueJudge(HashEncoder(), model(0.01)))
    analysis, out = cues.feed_line("p1", CLIENT, "I want to kill myself lol this game is so laggy", 10.0)
    assert analysis.risk is None and analysis.judgement is not None
    assert analysis.judgement.verdict is Verdict.SET_ASIDE
    (cue,) = [c for c in out if c.kind.startswith("words.risk")]
    assert cue.kind == "words.risk_set_aside" and cue.severity is Severity.INFO
    assert cue.evidence["rule"] == "kill_self" and cue.evidence["verdict"] == "set_aside"
    assert "kill_self" in cue.sentence


def test_word_cues_demote_and_notice_with_the_vote_in_the_evidence() -> None:
    cues = WordCues(judge=TextCueJudge(HashEncoder(), model(0.5)))
    analysis, out = cues.feed_line("p1", CLIENT, "I want to kill myself.", 10.0)
    assert analysis.risk is not None and analysis.risk.level is Severity.NOTICE
    (cue,) = [c for c in out if c.kind == "words.risk"]
    assert cue.severity is Severity.NOTICE and cue.evidence["verdict"] == "demoted"
    assert cue.evidence["rules_level"] == "urgent" and cue.evidence["model_probability"] == 0.5
    confident = WordCues(judge=TextCueJudge(HashEncoder(), model(0.97)))
    analysis, out = confident.feed_line("p1", CLIENT, "Everyone would be fine without me around, honestly.", 5.0)
    assert analysis.risk is not None and analysis.judgement is not None


def test_word_cues_count_model_acts_for_the_ratio() -> None:
    cues = WordCues(judge=TextCueJudge(HashEncoder(), model()))
    cues.feed_line("p1", CLIENT, "My sister never helps with our mom.", 1.0)
    analysis, _ = cues.feed_line("c1", COUNSELOR, "My sister never helps with our mom.", 2.0)
    assert analysis.counselor_act is CounselorAct.REFLECTION and analysis.act_decision is not None
    assert analysis.act_decision.rules_act is not CounselorAct.REFLECTION  # the model, not the rules, decided
    cues.feed_line("c1", COUNSELOR, "What time is it?", 3.0)
    tally = cues.act_tally("c1")
    assert tally.reflection == 1 and tally.other == 1 and tally.rating is BalanceRating.GOOD


class CountingDetector(RiskDetector):
    """The real rules, counting the texts they read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def assess(self, text: str, context: Sequence[str] = ()) -> RiskFinding | None:
        self.read.append(text)
        return super().assess(text, context)


def test_the_early_check_of_an_open_sentence_reads_the_rules_once_and_sets_no_context() -> None:
    detector = CountingDetector()
    cues = WordCues(judge=TextCueJudge(HashEncoder(), model(0.95), detector))
    cues.feed_line("p1", CLIENT, "My sister never helps with our mom.", 1.0)
    detector.read.clear()
    open_words = "I have been thinking about killing myself every night since the move"
    cue = cues.assess_open_sentence("p1", CLIENT, open_words, 4.0)
    assert cue is not None and cue.severity is Severity.URGENT
    assert detector.read == [open_words]  # the vote reused the rules' finding (it read them a second time)
    # The counselor's next line is coded against the client's last finished sentence, not the open one.
    analysis, _ = cues.feed_line("c1", COUNSELOR, "My sister never helps with our mom.", 5.0)
    assert analysis.counselor_act is CounselorAct.REFLECTION
