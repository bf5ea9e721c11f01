"""Record the shipped heads' decisions on a few real counsel_chat lines for tests/model/test_text_cues_recorded.py.

    python -m training.record_decisions     # after python -m training.text_cues changed the shipped heads
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from server.live.text_encoder import make_text_cue_judge

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "data" / "text" / "counsel_chat_recorded.tsv"

CLIENT_LINES = (  # (question id, a sentence of that question)
    ("67", "I think I'm ugly, and sometimes I just want to die."),
    ("72", "I sometimes think of killing myself and that my family deserve someone better than me."),
    ("0", "I've never tried or contemplated suicide."),
    ("74", "When I'm sad and alone, I want to cut myself."),
    ("251", "She wanted to come home at midnight and cried screamed said she said she hated her grandma and that she "
            "wanted to kill herself!"),
    ("738", "She is the one I want for my life, and this is killing me."),
    ("394", "I recently lost a friend to suicide."),
    ("317", "I feel pathetic, stupid, and worthless. I just can't take this anymore."),
    ("87", "I have twin toddlers."),
    ("28", "I can't even bring myself to care if I live or die anymore."),
)
COUNSELOR_LINES = (  # (question id, a sentence of a therapist's answer to it)
    ("20", "It sounds like you have a lot of weight on your shoulders."),
    ("117", "It sounds like you are feeling like things are hopeless and out of control and you're not sure what to "
            "do about it."),
    ("412", "What you are going though sounds overwhelming and exhausting."),
    ("156", "What are you afraid will happen while you are away?"),
    ("198", "Have you spoken to him about your fears?"),
    ("258", "How old is your daughter?"),
    ("83", "You are not alone, many people fear opening up to family members about the topic of depression or "
           "mental illness."),
    ("461", "What do you do in response to these feelings?"),
)


def main() -> int:
    with (REPO / "training" / "data" / "counsel_chat_questions.tsv").open(newline="", encoding="utf-8") as f:
        questions = {r["question_id"]: r["text"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    for qid, text in CLIENT_LINES:
        if text not in questions[qid]:
            raise SystemExit(f"question {qid} does not contain {text!r}")
    judge = make_text_cue_judge()
    rows = ["kind\tquestion_id\ttext\tverdict\tlevel\tact\tprobability"]
    for qid, text in CLIENT_LINES:
        judge.clear_context()
        j = judge.assess_client_line(text)
        level = "" if j.finding is None else j.finding.level.value
        rows.append(f"client\t{qid}\t{text}\t{j.verdict.value}\t{level}\t\t{j.probability:.4f}")
    for qid, text in COUNSELOR_LINES:
        judge.clear_context()
        judge.note_client_line(questions[qid])
        d = judge.code_counselor_line(text)
        rows.append(f"counselor\t{qid}\t{text}\t\t\t{d.act.value}\t{d.probabilities[d.act.value]:.4f}")
    OUT.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
