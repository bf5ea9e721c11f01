"""The shipped heads, with the real encoder, reproduce decisions recorded on real counsel_chat lines."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analysis.text_model import CrisisThresholds, TextCueJudge
from server.live.text_encoder import make_text_cue_judge

pytestmark = pytest.mark.model

DATA = Path(__file__).resolve().parents[1] / "data" / "text"
QUESTIONS = Path(__file__).resolve().parents[2] / "training" / "data" / "counsel_chat_questions.tsv"
TOLERANCE = 0.03  # int8 kernels may round differently on another CPU


def _rows() -> list[dict[str, str]]:
    with (DATA / "counsel_chat_recorded.tsv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _questions() -> dict[str, str]:
    with QUESTIONS.open(newline="", encoding="utf-8") as f:
        return {r["question_id"]: r["text"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}


def _near_a_threshold(p: float, t: CrisisThresholds) -> bool:
    cuts = (t.urgent, t.set_aside, t.mention_set_aside, t.model_notice, t.mention_notice)
    return any(abs(p - c) < TOLERANCE for c in cuts)


@pytest.fixture(scope="module")
def judge() -> TextCueJudge:
    return make_text_cue_judge()


@pytest.mark.parametrize("row", [r for r in _rows() if r["kind"] == "client"], ids=lambda r: r["question_id"])
def test_client_line_vote_is_as_recorded(judge: TextCueJudge, row: dict[str, str]) -> None:
    judge.clear_context()
    j = judge.assess_client_line(row["text"])
    assert j.probability == pytest.approx(float(row["probability"]), abs=TOLERANCE)
    if not _near_a_threshold(float(row["probability"]), judge.model.thresholds):
        assert j.verdict.value == row["verdict"]
        assert ("" if j.finding is None else j.finding.level.value) == row["level"]


@pytest.mark.parametrize("row", [r for r in _rows() if r["kind"] == "counselor"], ids=lambda r: r["question_id"])
def test_counselor_act_is_as_recorded(judge: TextCueJudge, row: dict[str, str]) -> None:
    judge.clear_context()
    judge.note_client_line(_questions()[row["question_id"]])
    decision = judge.code_counselor_line(row["text"])
    assert decision.act.value == row["act"]
    assert decision.probabilities[row["act"]] == pytest.approx(float(row["probability"]), abs=TOLERANCE)


def test_recorded_lines_cover_every_verdict_and_act() -> None:
    rows = _rows()
    assert {r["verdict"] for r in rows if r["kind"] == "client"} >= {"urgent", "demoted", "notice", "set_aside", "none",
                                                                      "model_notice"}
    assert {r["act"] for r in rows if r["kind"] == "counselor"} == {"open_question", "closed_question", "reflection",
                                                                    "other"}
