"""`attune analyze-text` as a subprocess (`python -m server analyze-text`), on files and stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.crisis import load_labelled_lines

REPO = Path(__file__).resolve().parents[2]
CRISIS = REPO / "tests" / "data" / "crisis"

SESSION = [
    {"role": "counselor", "speaker": "Dr Lee", "text": "What brings you in today?"},
    {"role": "client", "speaker": "Sam", "text": "This traffic is killing me, sorry I'm late."},
    {"role": "counselor", "speaker": "Dr Lee", "text": "It sounds like a rough morning."},
    {"role": "client", "speaker": "Sam", "text": "Honestly I think everyone would be better off without me."},
    {"role": "counselor", "speaker": "Dr Lee", "text": "Have you had thoughts of killing yourself?"},
    {"role": "client", "speaker": "Sam", "text": "My friend said she wanted to die once."},
    {"role": "client", "speaker": "Sam", "text": "I had a lovely, happy weekend though!"},
]


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "analyze-text", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_file_gives_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_text(jsonl(SESSION), encoding="utf-8")
    proc = run_cli(str(path))
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [o["line"] for o in out] == list(range(1, len(SESSION) + 1))
    assert all(set(o) >= {"line", "sentiment", "risk", "counselor_act"} for o in out)
    assert all(-1.0 <= o["sentiment"] <= 1.0 for o in out)
    assert [o["counselor_act"] for o in out] == [
        "open_question",
        None,
        "reflection",
        None,
        "closed_question",
        None,
        None,
    ]
    risks = [o["risk"] for o in out]
    assert risks[0] is None and risks[1] is None  # counselor line; idiom
    assert risks[3]["level"] == "urgent" and risks[3]["phrase"] == "better off without me"
    assert risks[4] is None  # the counselor's screening question is not the client's risk
    assert risks[5]["level"] == "notice"
    assert out[6]["sentiment"] > 0.5 and out[1]["sentiment"] < 0


def test_stdin_and_blank_lines_keep_physical_numbers() -> None:
    text = "\n" + jsonl(SESSION[:2]) + "\n" + jsonl(SESSION[3:4])
    proc = run_cli("-", stdin=text)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [o["line"] for o in out] == [2, 3, 5]
    assert out[2]["risk"]["level"] == "urgent"


def test_bad_line_names_the_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl(SESSION[:2]) + '{"role": "client", "speaker": "Sam", "text": 5}\n', encoding="utf-8")
    proc = run_cli(str(path))
    assert proc.returncode == 2
    assert f"{path}:3" in proc.stderr and '"text"' in proc.stderr
    assert proc.stdout == ""  # no partial output
    proc = run_cli("-", stdin='{"role": "client", "speaker": "Sam", "text": "hi"}\nnot json\n')
    assert proc.returncode == 2 and "<stdin>:2" in proc.stderr and "JSON" in proc.stderr
    proc = run_cli("-", stdin='{"role": "admin", "speaker": "x", "text": "hi"}\n')
    assert proc.returncode == 2 and "<stdin>:1" in proc.stderr and "role" in proc.stderr
    proc = run_cli(str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 2 and "missing.jsonl" in proc.stderr


def test_labelled_crisis_set_through_the_command(tmp_path: Path) -> None:
    lines = load_labelled_lines(CRISIS / "lines.tsv") + load_labelled_lines(CRISIS / "heldout.tsv")
    # each line from its own speaker, so no line frames another
    rows = [{"role": "client", "speaker": f"s{i}", "text": ln.text} for i, ln in enumerate(lines)]
    path = tmp_path / "crisis.jsonl"
    path.write_text(jsonl(rows), encoding="utf-8")
    proc = run_cli(str(path), "--rules-only")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    predicted = ["none" if o["risk"] is None else o["risk"]["level"] for o in out]
    gold = [ln.label for ln in lines]
    tp = sum(g == p == "urgent" for g, p in zip(gold, predicted, strict=True))
    assert tp / gold.count("urgent") >= 0.97
    assert tp / predicted.count("urgent") >= 0.97
    assert sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) >= 0.95


def test_the_model_vote_keeps_every_rule_hit_visible(tmp_path: Path) -> None:
    """With the model (the default), a rule hit is an alert or is set aside with its reason, never silent;
    urgent alerts stay precise on the project's spoken lines (they are also training lines of the heads,
    so this guards behaviour, not accuracy: bench.crisis_real measures on real text)."""
    lines = load_labelled_lines(CRISIS / "lines.tsv") + load_labelled_lines(CRISIS / "heldout.tsv")
    rows = [{"role": "client", "speaker": f"s{i}", "text": ln.text} for i, ln in enumerate(lines)]
    path = tmp_path / "crisis.jsonl"
    path.write_text(jsonl(rows), encoding="utf-8")
    rules = [json.loads(x) for x in run_cli(str(path), "--rules-only").stdout.splitlines()]
    proc = run_cli(str(path))
    assert proc.returncode == 0, proc.stderr
    voted = [json.loads(x) for x in proc.stdout.splitlines()]
    for r, v in zip(rules, voted, strict=True):
        if r["risk"] is not None:
            shown = v["risk"] or v["set_aside"]
            assert shown is not None and shown["rule"] == r["risk"]["rule"], r
        if v["set_aside"] is not None:
            assert v["risk"] is None and "%" in v["set_aside"]["reason"]
        if v["risk"] is not None:
            assert v["risk"]["verdict"] in {"urgent", "demoted", "notice", "model_notice"}
            assert 0.0 <= v["risk"]["model_probability"] <= 1.0
    gold = [ln.label for ln in lines]
    predicted = ["none" if o["risk"] is None else o["risk"]["level"] for o in voted]
    tp = sum(g == p == "urgent" for g, p in zip(gold, predicted, strict=True))
    assert tp / predicted.count("urgent") >= 0.97
    assert tp / gold.count("urgent") >= 0.9
    assert any(o["set_aside"] for o in voted) and any(o["risk"] and o["risk"]["verdict"] == "demoted" for o in voted)
