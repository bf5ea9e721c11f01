"""The training-time grid search scores the vote with array arithmetic; it must agree with the live vote."""

from __future__ import annotations

import numpy as np

from analysis.events import Severity
from analysis.risk import Frame, RiskCategory, RiskFinding
from analysis.text_model import CrisisThresholds, judge_crisis
from training.text_cues import fast_levels

TEXTS = ("I want to die", "he hit me again", "ok see you", "so done with everything")
LEVELS = (None, Severity.NOTICE, Severity.URGENT)


def test_fast_levels_equal_judge_crisis_on_a_grid() -> None:
    rng = np.random.default_rng(3)
    rows = [(text, level, float(p)) for text in TEXTS for level in LEVELS for p in rng.uniform(0, 1, 25)]
    rule_level = np.array([0 if lv is None else (2 if lv is Severity.URGENT else 1) for _, lv, _ in rows])
    mentions = np.array([text == "I want to die" for text, _, _ in rows])
    p = np.array([x for _, _, x in rows], dtype=np.float32)
    for t in (
        CrisisThresholds(),
        CrisisThresholds(urgent=0.8, set_aside=0.4, mention_set_aside=0.05, notice_set_aside=0.2,
                         model_notice=0.95, mention_notice=0.3),
        CrisisThresholds(urgent=0.3, set_aside=0.0, mention_set_aside=0.0, notice_set_aside=0.0,
                         model_notice=1.01, mention_notice=1.01),
    ):
        fast = fast_levels(rule_level, mentions, p, t)
        for (text, level, prob), got in zip(rows, fast, strict=True):
            rules = None if level is None else RiskFinding(level, RiskCategory.SUICIDE, "x", "r", Frame.FIRST_PERSON)
            j = judge_crisis(text, rules, float(np.float32(prob)), t)
            want = 0 if j.alert is None else (2 if j.alert.level is Severity.URGENT else 1)
            assert got == want, (text, level, prob, t)
