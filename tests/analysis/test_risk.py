"""Crisis-language detector: the brief's examples, framing rules, and the labelled set."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from analysis.events import Severity
from analysis.risk import RULES, Frame, RiskCategory, RiskDetector
from analysis.risk.rules import Rule
from bench.crisis import evaluate, load_labelled_lines

CRISIS = Path(__file__).resolve().parents[1] / "data" / "crisis"
URGENT, NOTICE = Severity.URGENT, Severity.NOTICE


@pytest.fixture(scope="module")
def detector() -> RiskDetector:
    return RiskDetector()


def level(detector: RiskDetector, text: str, context: tuple[str, ...] = ()) -> Severity | None:
    finding = detector.assess(text, context)
    return None if finding is None else finding.level


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the brief's examples
        ("I want to end it all", URGENT),
        ("I would never hurt myself", None),
        ("that movie where he kills himself", None),
        ("my friend said she wanted to die", NOTICE),
        ("everyone would be better off without me", URGENT),
        ("I won't be a burden much longer", URGENT),
        ("I've been giving my things away", URGENT),
        ("I used to cut, not anymore", NOTICE),
        ("this traffic is killing me", None),
        ("I could just die of embarrassment", None),
        # negation scope
        ("I'm not going to kill myself.", None),
        ("I can't stop thinking about killing myself.", URGENT),
        ("I don't want to live anymore.", URGENT),
        ("I don't want to die anymore.", NOTICE),
        ("Killing myself isn't something I'd ever do.", None),
        ("I'm not saying I'd do it, but I want to die.", URGENT),
        # hypotheticals vs conditional threats
        ("If I ever wanted to hurt myself I would call you.", NOTICE),
        ("If she leaves me I'll kill myself.", URGENT),
        ("What if I just ended it all?", URGENT),
        # past vs recent
        ("I tried to kill myself when I was fifteen.", NOTICE),
        ("I used to cut but I relapsed last week.", URGENT),
        ("I tried to kill myself last night.", URGENT),
        # accidents and idioms
        ("I hurt myself at the gym yesterday.", None),
        ("I cut myself shaving.", None),
        ("My mom is going to kill me when she sees my grades.", None),
        ("I've been killing myself trying to finish this project.", None),
        # others, abuse, safety
        ("I'm going to kill him.", URGENT),
        ("I could kill him sometimes, he makes me so mad.", NOTICE),
        ("He threatened to kill me if I leave.", URGENT),
        ("My dad used to hit me when I was a kid.", NOTICE),
        ("I don't feel safe at home.", URGENT),
        ("I feel safe at home now.", None),
        # everyday words that look violent
        ("He hit me up on Instagram.", None),
        ("She beat me at chess again.", None),
        ("I was hit by a car when I was twelve.", None),
        ("I was hit by my husband.", URGENT),
        # behaviour and indirect phrasings from the warning-sign lists
        ("I took a bunch of pills last night.", URGENT),
        ("Sometimes I think about driving my car off the road.", URGENT),
        ("I have a gun at home and I think about using it on myself.", URGENT),
        ("I think about death a lot.", NOTICE),
        # a resolved behaviour, unless the speaker says it is back
        ("I stopped cutting.", NOTICE),
        ("I quit self-harming but I did it again last night.", URGENT),
        # an unrelated word elsewhere in the sentence changes nothing
        ("I quit my job and I want to die.", URGENT),
        ("I couldn't sleep and I want to kill him.", URGENT),
        # captions without apostrophes
        ("Honestly I dont want to be here anymore.", URGENT),
        ("Im not going to hurt myself", None),
        # scraped posts write the apostrophe as a space: "don t" is a negation like "don't"
        ("i don t want to die", None),
        ("i won t kill myself", None),
        ("i don t want to be here anymore", URGENT),
        ("i m going to kill myself", URGENT),
        ("I bought a t shirt to die for.", None),
        # shouted words are not names: the line is still about the speaker
        ("I DON'T want to live anymore", URGENT),
        ("I JUST WANT TO END IT ALL.", URGENT),
        ("My friend TOM wants to kill himself.", NOTICE),
        # a rule's words inside other words are not its words (its word boundaries hold for every alternative)
        ("That was a good one.", None),
        ("We always had food on the table.", None),
        ("I was scared I would od on my meds again.", URGENT),
    ],
)
def test_examples(detector: RiskDetector, text: str, expected: Severity | None) -> None:
    assert level(detector, text) is expected


def test_finding_quotes_the_spoken_words(detector: RiskDetector) -> None:
    finding = detector.assess("Honestly? I won't be a burden much longer.")
    assert finding is not None
    assert finding.phrase == "won't be a burden much longer"
    assert finding.category is RiskCategory.SUICIDE
    assert finding.frame is Frame.FIRST_PERSON


def test_frames_are_reported(detector: RiskDetector) -> None:
    third = detector.assess("My brother killed himself last year.")
    past = detector.assess("I used to self-harm in high school.")
    assert third is not None and third.frame is Frame.THIRD_PARTY and third.level is NOTICE
    assert past is not None and past.frame is Frame.PAST and past.category is RiskCategory.SELF_HARM


def test_previous_line_can_set_a_fiction_frame(detector: RiskDetector) -> None:
    line = "At the end he shoots himself."
    assert level(detector, line) is NOTICE  # a real person, as far as this line tells
    assert level(detector, line, ("We watched a really dark film last night.",)) is None
    # a fiction frame never hides the client's own words
    assert level(detector, "Honestly I want to kill myself.", ("That film was so dark.",)) is URGENT


def test_labelled_set_is_big_and_balanced() -> None:
    lines = load_labelled_lines(CRISIS / "lines.tsv")
    labels = [ln.label for ln in lines]
    assert len(lines) >= 150
    assert labels.count("urgent") >= 60 and labels.count("notice") >= 30 and labels.count("none") >= 60
    hard_negatives = {ln.category for ln in lines if ln.label == "none"}
    assert {"idiom", "fiction", "negated", "accident"} <= hard_negatives


@pytest.mark.parametrize(("name", "min_p", "min_r"), [("lines.tsv", 0.97, 0.97), ("heldout.tsv", 0.95, 0.95)])
def test_precision_and_recall_on_labelled_sets(name: str, min_p: float, min_r: float) -> None:
    result = evaluate(load_labelled_lines(CRISIS / name), timing_passes=1)
    urgent, any_risk = result["urgent"], result["any_risk"]
    assert isinstance(urgent, dict) and isinstance(any_risk, dict)
    assert urgent["precision"] >= min_p and urgent["recall"] >= min_r, result["errors"]
    assert any_risk["precision"] >= min_p and any_risk["recall"] >= min_r, result["errors"]
    # nothing labelled urgent may be dropped to "none": a miss must at least surface as a notice
    confusion = result["confusion"]
    assert isinstance(confusion, dict)
    assert confusion["urgent"]["none"] == 0


def test_cheap_enough_for_every_line(detector: RiskDetector) -> None:
    lines = load_labelled_lines(CRISIS / "lines.tsv")
    worst = 0.0
    for ln in lines:
        best = min(_timed(detector, ln.text) for _ in range(3))
        worst = max(worst, best)
    assert worst < 5.0, f"slowest line took {worst:.2f} ms"


def _timed(detector: RiskDetector, text: str) -> float:
    started = time.perf_counter()
    detector.assess(text)
    return (time.perf_counter() - started) * 1000.0


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_fires_on_its_own_examples(rule: Rule) -> None:
    assert rule.examples, f"{rule.name} has no example line"
    detector = RiskDetector()
    for example in rule.examples:
        fired = [f for f in detector.findings(example) if f.rule == rule.name]
        assert fired, f"{rule.name} does not fire on {example!r}"
        assert all(f.category is rule.category for f in fired)


def test_rule_names_are_unique_and_every_category_has_rules() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert {r.category for r in RULES} == set(RiskCategory)


def test_contractions_written_with_a_space_read_as_one_word() -> None:
    from analysis.risk.tokens import tokenise

    assert [t.norm for t in tokenise("i don t know, i m tired and it s late")] == [
        "i", "do", "not", "know", ",", "i", "am", "tired", "and", "it", "is", "late",
    ]
    don_t = tokenise("I DON T care")[1]
    assert (don_t.norm, don_t.start, don_t.end) == ("do", 2, 7)
    assert [t.norm for t in tokenise("a t shirt, plan b, the d train")] == [
        "a", "t", "shirt", ",", "plan", "b", ",", "the", "d", "train",
    ]
