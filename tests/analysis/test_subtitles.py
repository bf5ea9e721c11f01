"""Caption cues for the exports: two lines of 42 characters at most, one speaker each, timed to the words,
in order and never overlapping. Real sentences come from recorded tiny.en decodes (tests/data/asr, see its
SOURCE.md) replayed through the caption policy and the sentence assembler, as a live session stores them."""

from __future__ import annotations

import itertools

import pytest

from analysis.events import TimedWord
from analysis.sentences import SentenceAssembler
from analysis.subtitles import SpokenSentence, SubtitleCue, SubtitleSettings, layout_cues
from analysis.text_normalize import normalize_text
from tests.analysis.test_captions_policy import finals, replay
from tests.analysis.test_sentences import feed_all, sentences

LABELS = {"c": "Dr. Ada Marsh: ", "k": "Robin Quill: "}


def timed(speaker: str, text: str, start_s: float, step_s: float = 0.4) -> SpokenSentence:
    words = tuple(TimedWord(w, start_s + i * step_s, start_s + i * step_s + step_s * 0.8)
                  for i, w in enumerate(text.split()))
    return SpokenSentence(speaker, words[0].start_s, words[-1].end_s, text, words)


def recorded(name: str, speaker: str = "k") -> list[SpokenSentence]:
    events, _ = replay(name)
    lines = finals(events)
    assembler = SentenceAssembler()
    out = feed_all(assembler, lines)
    out += assembler.end_stream("s", lines[-1].at_s + 5)
    return [SpokenSentence(speaker, s.start_s, s.end_s, s.text, s.words) for s in sentences(out)]


def assert_caption_rules(cues: list[SubtitleCue], settings: SubtitleSettings | None = None) -> None:
    settings = settings or SubtitleSettings()
    assert cues
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2, cue
        assert all(0 < len(line) <= 42 for line in cue.text_lines), cue.text_lines
        assert all(line == line.strip() for line in cue.lines)
        assert cue.end_s > cue.start_s
        assert cue.end_s - cue.start_s <= settings.max_duration_s + 1e-9
    for a, b in itertools.pairwise(cues):
        assert a.end_s <= b.start_s, (a, b)  # never overlapping, in time order


def words_of(cues: list[SubtitleCue]) -> str:
    return normalize_text(" ".join(" ".join(c.lines) for c in cues))


@pytest.mark.parametrize("name", ["jfk", "LJ001-0001", "1089-134686-0000", "so2402", "ss01"])
@pytest.mark.parametrize("labels", [None, LABELS])
def test_recorded_sentences_become_cues_that_keep_the_caption_rules_and_every_word(
    name: str, labels: dict[str, str] | None
) -> None:
    spoken = recorded(name)
    cues = layout_cues(spoken, labels=labels)
    assert_caption_rules(cues)
    assert words_of(cues) == normalize_text(" ".join(s.text for s in spoken))
    # timed to the words: every cue starts at the start of a recognised word and ends at or after the end
    # of its last word (stretched to the minimum only when the next cue leaves room)
    starts = {round(w.start_s, 3) for s in spoken for w in s.words}
    assert all(c.start_s in starts for c in cues)
    assert cues[0].start_s == round(spoken[0].words[0].start_s, 3)
    assert cues[-1].end_s >= round(spoken[-1].words[-1].end_s, 3)
    if labels:
        assert all(c.text_lines[0].startswith("Robin Quill: ") for c in cues)


def test_a_sentence_longer_than_a_cue_is_cut_at_word_boundaries_with_times_from_its_words() -> None:
    text = ("Mostly the rent, and whether my sister will ever call me back, because I have not heard from her "
            "since the summer and I feel hopeless about it.")
    sentence = timed("k", text, 10.0, step_s=0.3)
    cues = layout_cues([sentence])
    assert len(cues) == 2
    assert_caption_rules(cues)
    words = [w.text for w in sentence.words]
    # each cue holds whole words, and its times are those of its first and last word
    at = 0
    for cue in cues:
        held = " ".join(cue.lines).split()
        assert held == words[at:at + len(held)]
        assert cue.start_s == round(sentence.words[at].start_s, 3)
        assert cue.end_s == round(sentence.words[at + len(held) - 1].end_s, 3)
        at += len(held)
    assert at == len(words)
    # cut where the grammar breaks: after the comma, before "because"
    assert cues[0].lines[-1].endswith("back,") and cues[1].lines[0].startswith("because")


def test_lines_break_after_punctuation_and_are_balanced() -> None:
    [cue] = layout_cues([timed("c", "That sounds exhausting. What goes through your mind at four?", 9.5, 0.2)])
    assert cue.lines == ("That sounds exhausting.", "What goes through your mind at four?")
    [cue] = layout_cues([timed("c", "I keep waking up at four in the morning and worrying about rent", 0, 0.2)])
    assert cue.lines[1].startswith("and ")  # before the conjunction, though the lines differ in length
    # with no grammar to follow, the lines come out about even
    [cue] = layout_cues([timed("c", "The long walks with my dog every morning help me feel much better", 0, 0.2)])
    first, second = cue.lines
    assert abs(len(first) - len(second)) <= 6, cue.lines
    # a short sentence stays on one line
    [cue] = layout_cues([timed("c", "Okay, thank you.", 0)])
    assert cue.lines == ("Okay, thank you.",)


def test_one_speaker_per_cue_and_overlapping_speech_never_overlaps() -> None:
    spoken = [timed("c", "So how was the week for you overall?", 1.0),
              timed("k", "Mostly fine.", 3.0),  # starts while the counselor still speaks
              timed("c", "Good.", 3.2),
              timed("k", "Yes.", 3.25)]
    cues = layout_cues(spoken, labels=LABELS)
    assert_caption_rules(cues)
    assert [c.speaker_id for c in cues] == ["c", "k", "c", "k"]
    for c in cues:
        assert c.text_lines[0].startswith(LABELS[c.speaker_id])
    assert [c.start_s for c in cues] == sorted(c.start_s for c in cues)


def test_short_sentences_of_one_speaker_share_a_cue_but_a_silence_starts_a_new_one() -> None:
    spoken = [timed("k", "Yes.", 1.0), timed("k", "I think so.", 1.5), timed("k", "Maybe later.", 5.0)]
    cues = layout_cues(spoken)
    assert [" ".join(c.lines) for c in cues] == ["Yes. I think so.", "Maybe later."]
    # a short cue is shown at least a second when the next one leaves room
    assert cues[1].end_s - cues[1].start_s == pytest.approx(1.0)
    assert cues[0].end_s == pytest.approx(spoken[1].words[-1].end_s, abs=1e-3)


def test_a_cue_lasts_at_most_seven_seconds_of_slow_speech() -> None:
    sentence = timed("k", "I I just do not know what to say about it", 0.0, step_s=1.2)
    cues = layout_cues([sentence], SubtitleSettings(silence_split_s=2.0))
    assert len(cues) >= 2
    assert_caption_rules(cues)


def test_a_word_longer_than_a_line_is_cut_into_pieces_that_keep_its_letters() -> None:
    address = "https://example.org/a/very/long/path/that/never/ends/at/all/really"
    cues = layout_cues([timed("k", f"Look at {address} please", 0.0)], labels=LABELS)
    assert_caption_rules(cues)
    # the address is cut between lines only: read line after line, its letters are all there, in order
    assert address in "".join(line for c in cues for line in c.lines)
    assert " ".join(" ".join(c.lines) for c in cues).split()[:2] == ["Look", "at"]


def test_old_records_without_words_get_their_time_spread_over_the_words() -> None:
    old = SpokenSentence("k", 4.0, 9.0, "Honestly not great. I keep waking up at four and worrying about the "
                         "apartment, and it is getting worse every single night of the week.")
    cues = layout_cues([old])
    assert_caption_rules(cues)
    assert cues[0].start_s == 4.0 and cues[-1].end_s == 9.0
    assert len(cues) == 2 and 5.0 < cues[1].start_s < 8.0


def test_a_corrected_sentence_keeps_the_times_of_the_words_it_kept() -> None:
    recognised = timed("k", "I went to see all the arts and craps", 2.0)
    corrected = SpokenSentence("k", recognised.start_s, recognised.end_s,
                               "I went to see all the arts and crafts fair", recognised.words)
    [cue] = layout_cues([corrected])
    assert " ".join(cue.lines) == corrected.text
    assert cue.start_s == 2.0 and cue.end_s == pytest.approx(recognised.words[-1].end_s, abs=1e-3)


def test_glued_words_stay_together_and_empty_sentences_are_skipped() -> None:
    words = (TimedWord("See", 0.0, 0.3), TimedWord("i", 0.4, 0.5), TimedWord(".e.", 0.5, 0.6, glued=True),
             TimedWord("that", 0.7, 0.9))
    cues = layout_cues([SpokenSentence("k", 0.0, 0.9, "See i.e. that", words),
                        SpokenSentence("c", 1.0, 2.0, "  ")])
    assert [c.lines for c in cues] == [("See i.e. that",)]


def test_a_label_that_leaves_no_room_is_refused() -> None:
    with pytest.raises(ValueError):
        layout_cues([timed("k", "Hello there.", 0.0)], labels={"k": "A" * 30 + ": "})
