"""The real and written data sets behind the text-cue heads, with fixed splits and license flags.

Real sets are read from a data folder (default: the ATTUNE_TEXT_DATA environment variable, else
/work/shared/data/text); they are not copied into the repository because most of them may not be
redistributed (see training/data/SOURCE.md). Sets written for this project and the MIT-licensed
counsel_chat subset live in training/data/ and are the only data the shipped heads are trained on.

Splits: every example gets `train`, `dev` or `test` from a salted SHA-256 of a grouping key (the text
for posts, so duplicates share a split; the question id for counsel_chat; blocks of 40 consecutive rows
for ESConv, so most of a conversation stays in one split). `python -m training.text_cues --write-splits`
stores the resulting ids in training/data/splits.json, and the training run checks them against it.
Test parts are scored once, at the end, by the benchmarks; tuning only ever reads train and dev.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analysis.text_model import MENTIONS_SUICIDE

REPO = Path(__file__).resolve().parents[1]
OWN_DATA = REPO / "training" / "data"
PROJECT_CRISIS = REPO / "tests" / "data" / "crisis"
SPLIT_SALT = "attune-text-cues-v1"
DEV_SHARE = 0.2
TEST_SHARE = 0.2
ESCONV_BLOCK = 40
SHORT_POST_CHARS = 300

ACTS = ("open_question", "closed_question", "reflection", "other")


def data_dir() -> Path:
    return Path(os.environ.get("ATTUNE_TEXT_DATA", "/work/shared/data/text"))


def split_of(key: str) -> str:
    h = int(hashlib.sha256(f"{SPLIT_SALT}|{key}".encode()).hexdigest()[:12], 16) / float(1 << 48)
    if h < TEST_SHARE:
        return "test"
    return "dev" if h < TEST_SHARE + DEV_SHARE else "train"


def _norm_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


@dataclass(frozen=True, slots=True)
class CrisisExample:
    source: str
    id: str
    text: str
    intent: int  # 1: the writer's own current suicidal or self-harm thoughts, intent or danger; 0: not
    split: str
    shippable: bool  # may weights trained on it ship (license)
    short_mention: bool  # a short post (<= 300 chars) that mentions suicide, dying or self-harm


@dataclass(frozen=True, slots=True)
class ActExample:
    source: str
    id: str
    text: str
    previous: str  # the client's previous turn ("" when unknown)
    act: str  # one of ACTS, MI-like (see map_esconv_strategy): NOT expert MI coding
    split: str
    shippable: bool


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (set ATTUNE_TEXT_DATA to the folder with the public text sets)")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _short_mention(text: str) -> bool:
    return len(text) <= SHORT_POST_CHARS and bool(MENTIONS_SUICIDE.search(text))


# --- crisis -----------------------------------------------------------------------------------------


def suicide_tweets(folder: Path | None = None) -> list[CrisisExample]:
    """RezwanM/Suicide_Tweets (no license stated: measure and research only). Exact duplicates dropped."""
    rows = _read_csv((folder or data_dir()) / "suicide_tweets_rezwan.csv")
    seen: set[str] = set()
    out: list[CrisisExample] = []
    for i, r in enumerate(rows):
        text = r["text"].strip()
        key = _norm_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(
            CrisisExample("tweets", f"tweets:{i}", text, int(r["label"]), split_of(key), False, _short_mention(text))
        )
    return out


def _all_zero(source: str, filename: str, folder: Path | None, shippable: bool) -> list[CrisisExample]:
    rows = _read_csv((folder or data_dir()) / filename)
    out: list[CrisisExample] = []
    for i, r in enumerate(rows):
        text = r["text"].strip()
        if not text:
            continue
        key = f"{i // ESCONV_BLOCK}" if source == "esconv_seekers" else _norm_key(text)
        out.append(CrisisExample(source, f"{source}:{i}", text, 0, split_of(f"{source}|{key}"), shippable, False))
    return out


def dreaddit_negatives(folder: Path | None = None) -> list[CrisisExample]:
    """dreaddit train split, non-crisis stress posts (no license stated: measure only)."""
    return _all_zero("dreaddit", "dreaddit_train_negatives.csv", folder, False)


def esconv_seekers(folder: Path | None = None) -> list[CrisisExample]:
    """ESConv help-seekers' turns, suicide mentions removed upstream (CC BY-NC 4.0: not shipped)."""
    return _all_zero("esconv_seekers", "esconv_seeker_turns.csv", folder, False)


def counsel_chat_questions(folder: Path | None = None) -> list[CrisisExample]:
    """counsel_chat questions from the public (MIT). Intent labels: training/data/counsel_chat_intent.tsv,
    labelled by hand for this project (every question the rules flag or that mentions suicide, dying or
    self-harm was read; the rest are 0)."""
    path = OWN_DATA / "counsel_chat_questions.tsv"
    rows = _read_tsv(path) if path.is_file() and folder is None else _counsel_questions_from_csv(folder)
    labels = {r["question_id"]: int(r["intent"]) for r in _read_tsv(OWN_DATA / "counsel_chat_intent.tsv")}
    out: list[CrisisExample] = []
    for r in rows:
        qid = r["question_id"]
        text = r["text"]
        out.append(
            CrisisExample(
                "counsel_chat", f"counsel_chat:{qid}", text, labels.get(qid, 0), split_of(f"cc|{qid}"), True,
                _short_mention(text),
            )
        )
    return out


def _counsel_questions_from_csv(folder: Path | None) -> list[dict[str, str]]:
    rows = _read_csv((folder or data_dir()) / "counsel_chat.csv")
    seen: dict[str, dict[str, str]] = {}
    for r in rows:
        qid = r["questionID"]
        if qid in seen:
            continue
        title = r["questionTitle"].strip()
        body = re.sub(r"\s+", " ", r["questionText"]).strip()
        text = title if not body else (f"{title} {body}" if title and not body.startswith(title) else body)
        seen[qid] = {"question_id": qid, "text": text}
    return list(seen.values())


def written_crisis_lines() -> list[CrisisExample]:
    """Lines written for this project: training/data/crisis_lines.tsv (intent 0/1) and the rules' labelled
    lines in tests/data/crisis (urgent -> 1, none -> 0; notice lines are left out: they mix softer
    first-person signs with third parties). All train: written lines are never used to report figures."""
    out: list[CrisisExample] = []
    for i, r in enumerate(_read_tsv(OWN_DATA / "crisis_lines.tsv")):
        out.append(CrisisExample("written", f"written:{i}", r["text"], int(r["intent"]), "train", True, False))
    for name in ("lines.tsv", "heldout.tsv"):
        for i, r in enumerate(_read_tsv(PROJECT_CRISIS / name)):
            if r["label"] == "notice":
                continue
            intent = 1 if r["label"] == "urgent" else 0
            out.append(CrisisExample("rules_lines", f"{name}:{i}", r["text"], intent, "train", True, False))
    return out


# --- counselor acts ---------------------------------------------------------------------------------

_QUESTION_FILLER = re.compile(r"^(?:(?:so|and|but|okay|ok|well|hi|hello|hey|oh|alright|yeah|yes|i see|hmm+)\b[ ,!.]*)+")
_OPEN_START = re.compile(
    r"^(?:what|how|why|in what|tell me|describe|could you (?:tell|describe|share)|can you (?:tell|describe|share)|"
    r"would you (?:tell|describe|share)|would you like to (?:tell|share|talk))\b"
)
_CLOSED_HOW = re.compile(r"^(?:how (?:many|much|long|often|old|far|soon)|what (?:time|day|year|age|date))\b")


def question_rule(text: str) -> str:
    """The documented rule for ESConv 'Questions' in the train part: the last sentence with a question
    mark (else the whole turn), fillers dropped; open when it starts with what/how/why/tell me/describe
    (but not "how many/much/long/often/old", "what time/day/..."), closed otherwise. Dev and test
    questions were labelled by hand instead (training/data/esconv_question_labels.tsv)."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]
    questions = [p for p in parts if p.endswith("?")]
    s = _QUESTION_FILLER.sub("", (questions[-1] if questions else text).lower()).strip()
    if _CLOSED_HOW.match(s):
        return "closed_question"
    return "open_question" if _OPEN_START.match(s) else "closed_question"


def map_esconv_strategy(strategy: str, text: str, hand_label: str | None) -> str:
    """ESConv supporter strategy -> an MI-like code. This is NOT MI coding: supporters are trained peers,
    and a strategy names the turn's main purpose, not an utterance code."""
    if strategy == "Questions":
        return hand_label or question_rule(text)
    if strategy in ("Restatement or Paraphrasing", "Reflection of feelings"):
        return "reflection"
    return "other"


def esconv_supporters(folder: Path | None = None) -> list[ActExample]:
    """ESConv supporters' turns (CC BY-NC 4.0: used to measure and for the all-data heads, never shipped)."""
    rows = _read_csv((folder or data_dir()) / "esconv_supporter_turns.csv")
    seekers = {r["text"] for r in _read_csv((folder or data_dir()) / "esconv_seeker_turns.csv")}
    hand = {r["id"]: r["act"] for r in _read_tsv(OWN_DATA / "esconv_question_labels.tsv")}
    out: list[ActExample] = []
    client_before: list[str] = []
    for i, r in enumerate(rows):
        prev = r["previous_turn"]
        # The file's previous turn is sometimes the supporter's own last turn: walk back to the client's.
        if i > 0 and prev == rows[i - 1]["text"] and prev not in seekers:
            client = client_before[i - 1]
        else:
            client = prev
        client_before.append(client)
        ex_id = f"esconv:{i}"
        text = r["text"].strip()
        act = map_esconv_strategy(r["strategy"], text, hand.get(ex_id))
        out.append(ActExample("esconv", ex_id, text, client, act, split_of(f"esconv|{i // ESCONV_BLOCK}"), False))
    return out


def written_act_lines() -> list[ActExample]:
    """Counselor lines written for this project with the client turn before them (training/data/act_lines.tsv),
    coded by MITI 4.2 definitions by their writer. All train."""
    out: list[ActExample] = []
    for i, r in enumerate(_read_tsv(OWN_DATA / "act_lines.tsv")):
        if r["act"] not in ACTS:
            raise ValueError(f"act_lines.tsv row {i + 2}: unknown act {r['act']!r}")
        out.append(ActExample("written", f"written_acts:{i}", r["text"], r["client"], r["act"], "train", True))
    return out


def by_split(examples: Iterable[CrisisExample | ActExample], split: str) -> list[CrisisExample | ActExample]:
    return [e for e in examples if e.split == split]


def esconv_mi_sample(folder: Path | None = None) -> list[ActExample]:
    """150 dev and 150 test ESConv supporter turns (a seeded random sample) coded by hand for this project
    with MITI 4.2-style definitions (training/data/esconv_mi_sample.tsv), independent of the strategy
    labels: a closer, still small and single-coder, stand-in for expert MI coding. Measure only."""
    by_id = {e.id: e for e in esconv_supporters(folder)}
    out: list[ActExample] = []
    for r in _read_tsv(OWN_DATA / "esconv_mi_sample.tsv"):
        e = by_id[r["id"]]
        if e.split != r["split"]:
            raise ValueError(f"{r['id']} is in {e.split}, but the MI sample file says {r['split']}")
        out.append(ActExample("esconv_mi", e.id, e.text, e.previous, r["act"], e.split, False))
    return out


def counsel_chat_answer_acts() -> list[ActExample]:
    """240 sentences of licensed therapists' answers on counsel_chat (MIT), from questions in the train
    split, coded by hand MITI-style for this project (training/data/counsel_chat_answer_acts.tsv); the
    question is the client's turn before it. Written answers, not talk: mostly information and advice."""
    questions = {r["question_id"]: r["text"] for r in _read_tsv(OWN_DATA / "counsel_chat_questions.tsv")}
    out: list[ActExample] = []
    for r in _read_tsv(OWN_DATA / "counsel_chat_answer_acts.tsv"):
        if r["act"] not in ACTS:
            raise ValueError(f"counsel_chat_answer_acts.tsv: unknown act {r['act']!r}")
        if split_of(f"cc|{r['question_id']}") != "train":
            raise ValueError(f"counsel_chat answer row {r['row']} belongs to a question outside the train split")
        ex_id = f"counsel_chat_answers:{r['row']}.{r['sentence']}"
        client = questions[r["question_id"]]
        out.append(ActExample("counsel_chat_answers", ex_id, r["text"], client, r["act"], "train", True))
    return out
