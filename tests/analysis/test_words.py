"""Tone shifts, risk cues and counselor acts through `WordCues` (real VADER, time passed in)."""

from __future__ import annotations

import pytest

from analysis.counselor_acts import CounselorAct, ListeningCounter, classify_counselor_act
from analysis.events import Severity
from analysis.sentiment import SentimentSettings, SentimentTracker
from analysis.words import WordCues

CALM = [
    "I had a good weekend with my sister.",
    "Work was fine, nothing special.",
    "I went for a walk and it was nice.",
    "We cooked dinner together, that was fun.",
    "I'm looking forward to the holidays.",
    "Sleep has been okay.",
]
LOW = [
    "Everything feels awful and pointless.",
    "I'm so angry and hurt, I hate how this is going.",
    "I feel terrible, lonely and worthless.",
    "It's all just miserable.",
]


def feed_all(cues: WordCues, lines: list[str], start_s: float, step_s: float, who: str = "c1") -> list:
    out = []
    for i, text in enumerate(lines):
        out.extend(cues.feed(who, "client", text, start_s + i * step_s))
    return out


def test_negative_turn_against_own_baseline_gives_one_notice_with_evidence() -> None:
    cues = WordCues()
    assert feed_all(cues, CALM, 0.0, 30.0) == []  # a baseline is being built: nothing to say yet
    got = feed_all(cues, LOW[:3], 400.0, 20.0)
    shifts = [c for c in got if c.kind == "words.sentiment_shift"]
    assert len(shifts) == 1
    cue = shifts[0]
    assert cue.severity is Severity.NOTICE
    assert cue.sentence == "Client's tone has turned more negative over the last 2 minutes"
    ev = cue.evidence
    assert ev["baseline_lines"] == len(CALM) and ev["recent_lines"] == 3
    assert ev["baseline_mean"] > 0.2 and ev["recent_mean"] < -0.5
    assert ev["delta"] <= -SentimentSettings().shift_threshold
    assert {line["text"] for line in ev["lines"]} == set(LOW[:3])
    # still low a moment later: the same stretch is not announced twice
    assert [c for c in cues.feed("c1", "client", LOW[3], 460.0) if c.kind == "words.sentiment_shift"] == []


def test_positive_turn_is_info_and_participants_are_separate() -> None:
    tracker = SentimentTracker()
    for i, text in enumerate(LOW * 2):
        assert tracker.feed("a", "client", text, i * 20.0) == []
        tracker.feed("b", "client", CALM[i % len(CALM)], i * 20.0)
    got = []
    for i, text in enumerate(["This is wonderful, I'm really happy!", "I love it, great news.", "Amazing!"]):
        got += tracker.feed("a", "client", text, 400.0 + i * 10)
    assert [(c.participant_id, c.severity) for c in got] == [("a", Severity.INFO)]
    assert "more positive" in got[0].sentence
    series = tracker.series("a")
    assert len(series) == 11 and series[0][0] == 0.0 and series[0][1] < -0.4 and series[-1][1] > 0.4
    assert tracker.series("nobody") == []


def test_no_shift_when_tone_stays_level() -> None:
    cues = WordCues()
    assert feed_all(cues, CALM * 3, 0.0, 25.0) == []


def test_urgent_risk_cue_at_once_quoting_the_line() -> None:
    cues = WordCues()
    line = "Honestly, everyone would be better off without me."
    got = cues.feed("c1", "client", line, 12.5)
    assert len(got) == 1
    cue = got[0]
    assert cue.kind == "words.risk" and cue.severity is Severity.URGENT and cue.at_s == 12.5
    assert line in cue.sentence
    assert cue.evidence["phrase"] == "better off without me"
    assert cue.evidence["category"] == "suicide" and cue.evidence["frame"] == "first_person"
    # every urgent line alerts, even a repeat
    assert [c.severity for c in cues.feed("c1", "client", line, 20.0)] == [Severity.URGENT]


OPENING = "I have been so tired lately, and honestly, I just want to"


def early(cues: WordCues, settled: str, tentative: str = "", heard_before: str = "") -> Severity | None:
    cue = cues.assess_open_sentence("c1", "client", settled, 7.0, tentative=tentative, heard_before=heard_before)
    if cue is None:
        return None
    assert cue.evidence["heard_as"] == ("tentative" if tentative else "settled")
    return cue.severity


def test_an_open_sentence_alerts_once_its_settled_phrase_is_complete() -> None:
    cues = WordCues()
    assert early(cues, f"{OPENING} end it all") is None  # "... end it all, said nobody" is still possible
    assert early(cues, f"{OPENING} end it all, and I") is None  # punctuation is not a word
    assert early(cues, f"{OPENING} end it all, and I don't know") is Severity.URGENT
    assert early(cues, f"{OPENING} end it all.") is Severity.URGENT  # its sentence ends with it


def test_tentative_words_alert_once_two_partials_in_a_row_heard_the_phrase() -> None:
    cues = WordCues()
    whole_before = f"{OPENING} end it all, and"
    assert early(cues, OPENING, "end it all, and I don't", heard_before=whole_before) is Severity.URGENT
    # Heard once only (the previous partial had other words there): it may still change.
    assert early(cues, OPENING, "end it all, and I don't", heard_before=f"{OPENING} and it all") is None
    assert early(cues, OPENING, "end it all, and I don't") is None
    # Heard twice, but too few words after it yet: a negation may follow.
    assert early(cues, "", "Hurting myself is not", heard_before="Hurting myself is") is None
    assert early(cues, "", "Hurting myself is not something", heard_before="Hurting myself is not") is None
    # The settled opening and the tentative tail are judged together: the denial holds across them.
    denial = "Sometimes I feel really low, but I would never want to"
    assert early(cues, denial, "hurt myself. My kids", heard_before=f"{denial} hurt myself.") is None
    # Counselors ask screening questions; they are never assessed.
    assert cues.assess_open_sentence("k", "counselor", "", 7.0, tentative="do you want to end it all, or",
                                     heard_before="do you want to end it all, or") is None


def test_notice_is_not_repeated_within_five_minutes() -> None:
    cues = WordCues()
    assert [c.severity for c in cues.feed("c1", "client", "I feel so hopeless.", 0.0)] == [Severity.NOTICE]
    assert cues.feed("c1", "client", "I feel hopeless about it.", 60.0) == []
    assert [c.severity for c in cues.feed("c1", "client", "I still feel hopeless.", 400.0)] == [Severity.NOTICE]


def test_counselor_screening_questions_raise_no_alarm() -> None:
    cues = WordCues()
    analysis, got = cues.feed_line("k", "counselor", "Have you had thoughts of killing yourself?", 5.0)
    assert got == [] and analysis.risk is None
    assert analysis.counselor_act is CounselorAct.CLOSED_QUESTION
    client, got = cues.feed_line("c1", "client", "Yes, I have a plan to kill myself.", 9.0)
    assert client.risk is not None and client.counselor_act is None
    assert [c.severity for c in got] == [Severity.URGENT]


def test_previous_line_frames_a_film() -> None:
    cues = WordCues()
    cues.feed("c1", "client", "We watched that new series on Netflix.", 0.0)
    assert cues.feed("c1", "client", "In the end she kills herself.", 8.0) == []
    # another client's line does not borrow the frame
    assert [c.severity for c in cues.feed("c2", "client", "In the end she kills herself.", 9.0)] == [Severity.NOTICE]


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("What brings you in today?", CounselorAct.OPEN_QUESTION),
        ("How have things been at home?", CounselorAct.OPEN_QUESTION),
        ("Tell me about your week.", CounselorAct.OPEN_QUESTION),
        ("Could you say more about that?", CounselorAct.OPEN_QUESTION),
        ("Do you have a plan?", CounselorAct.CLOSED_QUESTION),
        ("Did you take your medication?", CounselorAct.CLOSED_QUESTION),
        ("Are you safe at home?", CounselorAct.CLOSED_QUESTION),
        ("How many hours did you sleep?", CounselorAct.CLOSED_QUESTION),
        ("Is that right?", CounselorAct.CLOSED_QUESTION),
        ("It sounds like you feel trapped.", CounselorAct.REFLECTION),
        ("You feel like nobody listens to you.", CounselorAct.REFLECTION),
        ("So you're saying the job is the main stress.", CounselorAct.REFLECTION),
        ("You're angry?", CounselorAct.REFLECTION),
        ("You've been carrying a lot on your own.", CounselorAct.REFLECTION),
        ("You should try to go to bed earlier.", CounselorAct.OTHER),
        ("Thanks for coming in today.", CounselorAct.OTHER),
        ("Okay.", CounselorAct.OTHER),
        ("It sounds hard. What helped last time?", CounselorAct.OPEN_QUESTION),
    ],
)
def test_counselor_acts(text: str, act: CounselorAct) -> None:
    assert classify_counselor_act(text) is act


def test_act_tally_and_ratios() -> None:
    counter = ListeningCounter()
    for text in [
        "What happened next?",
        "Did you call her?",
        "It sounds like you were scared.",
        "You wanted her to listen.",
        "Okay.",
    ]:
        counter.add("k", classify_counselor_act(text))
    counter.add("k2", classify_counselor_act("How are you feeling?"))
    mine = counter.tally("k")
    assert (mine.open_question, mine.closed_question, mine.reflection, mine.other) == (1, 1, 2, 1)
    assert mine.reflection_to_question == 1.0 and mine.percent_open == 50.0
    everyone = counter.tally()
    assert everyone.open_question == 2 and everyone.questions == 3
    assert counter.tally("unknown").questions == 0 and counter.tally("unknown").percent_open is None
