"""The sentence assembler, fed with caption finals from recorded real decodes and with scripted finals.

The recorded finals come from ``tests/data/asr/*.json`` (real tiny.en outputs for every decode the caption
policy asked for while a real clip streamed; see tests/data/asr/SOURCE.md), replayed through the policy.
"""

from __future__ import annotations

import dataclasses

import pytest

from analysis.events import CaptionFinal, TimedWord
from analysis.sentences import (
    Sentence,
    SentenceAssembler,
    SentenceProgress,
    SentenceSettings,
    continues_sentence,
    ends_sentence,
)
from analysis.text_normalize import normalize_text
from tests.analysis.test_captions_policy import finals, replay


def line(stream: str, words: list[tuple[str, float, float]], at_s: float | None = None, utt: int = 1) -> CaptionFinal:
    timed = tuple(TimedWord(t, a, b) for t, a, b in words)
    return CaptionFinal(stream, utt, " ".join(t for t, _, _ in words), timed[0].start_s, timed[-1].end_s,
                        at_s if at_s is not None else timed[-1].end_s + 1.0, timed)


def sentences(events: list[Sentence | SentenceProgress]) -> list[Sentence]:
    return [e for e in events if isinstance(e, Sentence)]


def feed_all(assembler: SentenceAssembler, lines: list[CaptionFinal]) -> list[Sentence | SentenceProgress]:
    events: list[Sentence | SentenceProgress] = []
    for f in lines:
        events += assembler.advance(f.at_s)
        events += assembler.feed(f)
    return events


# ------------------------------------------------------------------------------- recorded decodes
@pytest.mark.parametrize("name", ["jfk", "LJ001-0001", "1089-134686-0000", "so2402", "ss01"])
def test_recorded_finals_make_whole_sentences_that_keep_every_word(name: str) -> None:
    events, _rec = replay(name)
    lines = finals(events)
    assembler = SentenceAssembler()
    out = feed_all(assembler, lines)
    out += assembler.end_stream("s", lines[-1].at_s + 5)
    done = sentences(out)
    # nothing is lost or doubled: the sentences hold the finals' words in order
    assert normalize_text(" ".join(s.text for s in done)) == normalize_text(" ".join(f.text for f in lines))
    # no more pieces than the caption finals (fewer where finals cut sentences), in order
    assert len(done) <= len(lines)
    assert [i for s in done for i in s.finals] == sorted(i for s in done for i in s.finals)
    assert {i for s in done for i in s.finals} == set(range(len(lines)))
    for s in done[:-1]:
        assert s.reason in ("punctuation", "pause", "length")
        if s.reason == "punctuation":
            assert ends_sentence(s.words[-1].text)


def test_a_recorded_passage_of_several_sentences_ends_each_at_its_full_stop() -> None:
    # so2402: four read sentences of one non-native speaker (speechocean762, dev), finals of 2-6 words
    events, _rec = replay("so2402")
    lines = finals(events)
    assembler = SentenceAssembler()
    done = sentences(feed_all(assembler, lines) + assembler.end_stream("s", 1e9))
    assert len(done) >= 3
    assert all(s.text.endswith((".", "?", "!")) for s in done)
    assert any(len(s.finals) > 1 for s in done)  # a sentence was built from several finals


def test_the_open_sentence_is_readable_across_caption_cuts_before_it_ends() -> None:
    events, _ = replay("LJ001-0001")
    lines = finals(events)
    assembler = SentenceAssembler()
    progress = [e for e in feed_all(assembler, lines) if isinstance(e, SentenceProgress)]
    assert progress
    # each progress holds all words of the sentence so far, growing with every final
    first = [p for p in progress if p.sentence_id == progress[0].sentence_id]
    assert [len(p.words) for p in first] == sorted(len(p.words) for p in first)
    assert len(first[-1].finals) >= 2 or len(first) == 1


# ------------------------------------------------------------------------------- scripted finals
def test_a_crisis_phrase_split_by_caption_cuts_is_one_sentence() -> None:
    a = SentenceAssembler()
    out = feed_all(a, [
        line("c", [("I", 0.0, 0.2), ("would", 0.2, 0.4), ("never", 0.4, 0.7)]),
        line("c", [("hurt", 0.8, 1.0), ("myself.", 1.0, 1.4)]),
    ])
    done = sentences(out)
    assert [s.text for s in done] == ["I would never hurt myself."]
    assert done[0].finals == (0, 1) and done[0].reason == "punctuation"
    progress = [e for e in out if isinstance(e, SentenceProgress)]
    assert progress[0].text == "I would never"


def test_whispers_trailing_dots_at_a_caption_cut_do_not_end_the_sentence() -> None:
    # Measured on the spoken test clip: Whisper writes "want to..." where a 0.6 s pause cut the audio.
    a = SentenceAssembler()
    out = feed_all(a, [
        line("c", [("I", 0.0, 0.2), ("just", 0.2, 0.4), ("want", 0.4, 0.6), ("to...", 0.6, 0.8)]),
        line("c", [("end", 1.4, 1.6), ("it", 1.6, 1.7), ("all.", 1.7, 2.0)]),
    ])
    assert [s.text for s in sentences(out)] == ["I just want to end it all."]
    assert not ends_sentence("to...") and not ends_sentence("so\u2026") and ends_sentence("all.")
    # the full stop Whisper puts at a cut after "to" does not end the sentence either
    c = SentenceAssembler()
    out = feed_all(c, [
        line("c", [("I", 0.0, 0.2), ("would", 0.2, 0.4), ("never", 0.4, 0.6), ("want", 0.6, 0.7), ("to.", 0.7, 0.8)]),
        line("c", [("hurt", 1.4, 1.6), ("myself.", 1.6, 2.0)]),
    ])
    assert [s.text for s in sentences(out)] == ["I would never want to hurt myself."]
    assert ends_sentence("myself.") and not ends_sentence("the.") and ends_sentence("Okay.")
    # after a real pause the dots stay: the speaker trailed off
    b = SentenceAssembler()
    out = feed_all(b, [
        line("c", [("I", 0.0, 0.2), ("just", 0.2, 0.4), ("wonder...", 0.4, 0.8)]),
        line("c", [("Anyway.", 3.0, 3.5)]),
    ])
    assert [s.text for s in sentences(out)] == ["I just wonder...", "Anyway."]


def test_a_final_holding_the_end_of_one_sentence_and_the_start_of_the_next_belongs_to_both() -> None:
    a = SentenceAssembler()
    out = feed_all(a, [
        line("c", [("It", 0.0, 0.2), ("rained.", 0.2, 0.6), ("Then", 0.7, 0.9)]),
        line("c", [("it", 1.0, 1.1), ("stopped.", 1.1, 1.6)]),
    ])
    assert [(s.text, s.finals) for s in sentences(out)] == [("It rained.", (0,)), ("Then it stopped.", (0, 1))]


def test_abbreviations_do_not_end_a_sentence() -> None:
    a = SentenceAssembler()
    done = sentences(feed_all(a, [line("c", [("Ask", 0.0, 0.2), ("Dr.", 0.2, 0.5), ("Smith.", 0.5, 0.9)])]))
    assert [s.text for s in done] == ["Ask Dr. Smith."]
    assert not ends_sentence("Mr.") and ends_sentence("why?") and ends_sentence('"done."')


def test_a_pause_ends_a_sentence_without_punctuation_and_time_alone_closes_it() -> None:
    a = SentenceAssembler(SentenceSettings(pause_s=1.0))
    out = feed_all(a, [
        line("c", [("so", 0.0, 0.2), ("anyway", 0.2, 0.6)], at_s=1.0),
        line("c", [("we", 0.9, 1.0), ("went", 1.0, 1.3)], at_s=1.6),  # 0.3 s gap: same sentence
        line("c", [("later", 2.6, 3.0)], at_s=3.5),  # 1.3 s gap: a new one
    ])
    assert [(s.text, s.reason) for s in sentences(out)] == [("so anyway we went", "pause")]
    # "later" ended at 3.0; its final came at 3.5; later words could still be on their way until the
    # pause plus the caption lag has passed
    assert a.advance(5.0) == []
    closed = a.advance(6.6)
    assert [(s.text, s.reason, s.at_s) for s in sentences(closed)] == [("later", "pause", 6.6)]


def test_a_caller_that_knows_the_speech_is_settled_gets_the_pause_without_the_caption_lag() -> None:
    a = SentenceAssembler(SentenceSettings(pause_s=1.0))
    a.feed(line("c", [("later", 2.6, 3.0)], at_s=3.5))
    assert a.advance(3.9, {"c": 3.9}) == []  # settled silence of 0.9 s: not yet a pause
    (done,) = sentences(a.advance(4.1, {"c": 4.1}))
    assert (done.text, done.reason) == ("later", "pause")


def heard(final: CaptionFinal, speech_start_s: float, speech_end_s: float | None = None) -> CaptionFinal:
    """``final`` as the caption policy gives it: with the voice detector's bounds of its utterance."""
    return dataclasses.replace(final, speech_start_s=speech_start_s, speech_end_s=speech_end_s)


# What tests/e2e/test_transcript_sentences.py's reader does (LJ Speech LJ001-0017, decoded by tiny.en in a
# simulated stream): a breath inside the sentence, and Whisper's full stop at it.
CHARACTER = [("those", 11.9, 12.6), ("of", 12.6, 12.8), ("the", 12.8, 13.2), ("written", 13.2, 13.6),
             ("character.", 13.6, 14.0)]
FOLLOWED = [("and", 14.5, 14.7), ("they", 14.7, 14.9), ("followed", 14.9, 15.5), ("them", 15.5, 15.7),
            ("very", 15.7, 15.9), ("closely.", 15.9, 16.1)]


def test_a_full_stop_at_a_breath_inside_an_utterance_becomes_a_comma_when_the_words_go_on() -> None:
    a = SentenceAssembler()
    held = a.feed(heard(line("c", CHARACTER, at_s=15.3, utt=2), 9.6))
    # not finished yet: the row shows the words, still open
    assert [type(e) for e in held] == [SentenceProgress] and held[0].text.endswith("character.")
    # the voice detector heard no pause (same utterance), so nothing settled ends it meanwhile
    assert a.advance(16.0, {"c": 14.0}) == []
    out = a.feed(heard(line("c", FOLLOWED, at_s=16.6, utt=2), 9.6, 16.2))
    out += a.advance(17.5, {"c": 17.5})
    (done,) = sentences(out)
    assert done.text == "those of the written character, and they followed them very closely."
    assert done.reason == "punctuation" and done.finals == (0, 1)


def test_a_held_full_stop_stands_when_the_next_sentence_starts_in_upper_case_or_after_a_pause() -> None:
    a = SentenceAssembler()
    a.feed(heard(line("c", [("Imitates", 17.6, 18.2), ("a", 18.2, 18.3), ("freer", 18.3, 18.9), ("hand.", 18.9, 19.7)],
                      at_s=20.9, utt=3), 17.9))
    out = a.feed(heard(line("c", [("Simpler", 20.2, 20.8), ("ones.", 20.8, 21.7)], at_s=22.7, utt=3), 17.9))
    assert [s.text for s in sentences(out)] == ["Imitates a freer hand."]
    # between two utterances the voice detector's silence counts: a reader's 1.6 s between sentences ends the
    # first one even when the next starts in lower case (LJ Speech's "that the forms of printed letters")
    b = SentenceAssembler()
    b.feed(heard(line("c", [("movable", 6.9, 7.4), ("types.", 7.4, 7.85)], at_s=9.2, utt=1), 0.8, 7.97))
    out = b.feed(heard(line("c", [("that", 9.3, 9.5), ("the", 9.5, 9.6), ("forms", 9.6, 10.0)], at_s=12.9, utt=2), 9.6))
    assert [s.text for s in sentences(out)] == ["movable types."]
    # a breath the detector heard as a pause of 0.6 s (two utterances, the second in lower case) goes on
    c = SentenceAssembler()
    c.feed(heard(line("c", CHARACTER, at_s=15.3, utt=2), 9.6, 14.05))
    out = c.feed(heard(line("c", FOLLOWED, at_s=17.0, utt=3), 14.65)) + c.end_stream("c", 18.0)
    assert [s.text for s in sentences(out)] == ["those of the written character, and they followed them very closely."]
    # ... and one of 1.1 s (a CI run of the sentence test), too
    d = SentenceAssembler()
    d.feed(heard(line("c", CHARACTER, at_s=15.3, utt=2), 9.6, 14.05))
    assert d.advance(15.5, {"c": 15.2}) == []  # the next utterance has not opened yet: not a pause
    out = d.feed(heard(line("c", FOLLOWED, at_s=17.0, utt=3), 15.15)) + d.end_stream("c", 18.0)
    assert [s.text for s in sentences(out)] == ["those of the written character, and they followed them very closely."]
    assert continues_sentence("and") and not continues_sentence("I") and not continues_sentence("I'm")
    assert not continues_sentence("Then") and continues_sentence('"well') and not continues_sentence("3")


def test_a_held_full_stop_ends_its_sentence_on_settled_silence_or_after_a_while() -> None:
    a = SentenceAssembler(SentenceSettings(pause_s=1.0, held_stop_pause_s=1.3, held_stop_max_s=8.0))
    a.feed(heard(line("c", [("I", 1.0, 1.2), ("am", 1.2, 1.4), ("tired.", 1.4, 2.0)], at_s=3.2), 1.0, 2.1))
    assert a.advance(3.5, {"c": 3.3}) == []  # 1.2 s of settled silence after the speech: not yet
    (done,) = sentences(a.advance(4.0, {"c": 3.5}))
    assert (done.text, done.reason) == ("I am tired.", "punctuation")
    # the speaker went on at once (the next utterance is open, so its speech is settled only to the stop)
    # and no final came: the stop ends the sentence after held_stop_max_s
    b = SentenceAssembler(SentenceSettings(pause_s=1.0, held_stop_max_s=8.0))
    b.feed(heard(line("c", [("I", 1.0, 1.2), ("am", 1.2, 1.4), ("tired.", 1.4, 2.0)], at_s=3.2), 1.0, 2.1))
    assert b.advance(9.5, {"c": 2.0}) == []
    assert [s.text for s in sentences(b.advance(10.0, {"c": 2.0}))] == ["I am tired."]
    # a producer without the voice detector's bounds (older ones, tests) gets the stop at once, as before
    c = SentenceAssembler()
    assert [s.text for s in sentences(c.feed(line("c", [("I", 1.0, 1.2), ("am", 1.2, 1.4), ("tired.", 1.4, 2.0)])))] \
        == ["I am tired."]


def test_after_a_comma_only_a_longer_pause_ends_the_sentence() -> None:
    a = SentenceAssembler(SentenceSettings(pause_s=1.0, soft_break_pause_s=2.0))
    out = feed_all(a, [
        line("c", [("the", 0.0, 0.2), ("written", 0.2, 0.6), ("character,", 0.6, 1.2)], at_s=2.0),
        line("c", [("and", 2.5, 2.7), ("they", 2.7, 2.9), ("followed.", 2.9, 3.4)], at_s=4.0),  # 1.3 s: the same
    ])
    assert [s.text for s in sentences(out)] == ["the written character, and they followed."]
    a.feed(line("c", [("so,", 5.0, 5.4)], at_s=6.0))
    assert a.advance(6.6, {"c": 6.6}) == []  # 1.2 s of settled silence after a comma: not yet
    (done,) = sentences(a.advance(7.5, {"c": 7.5}))
    assert (done.text, done.reason) == ("so,", "pause")
    b = SentenceAssembler(SentenceSettings(pause_s=1.0, soft_break_pause_s=2.0))
    b.feed(line("c", [("so", 5.0, 5.4)], at_s=6.0))
    assert [s.text for s in sentences(b.advance(6.6, {"c": 6.6}))] == ["so"]  # no comma: 1.0 s is enough


def test_another_speaker_starting_ends_the_turn_but_overlapping_speech_does_not() -> None:
    a = SentenceAssembler()
    out = feed_all(a, [
        line("client", [("I", 0.0, 0.2), ("just", 0.2, 0.4), ("feel", 0.4, 0.8)], at_s=1.2),
        line("counselor", [("mm", 0.5, 0.7)], at_s=1.3),  # said while the client was talking
        line("client", [("tired", 0.9, 1.3)], at_s=1.9),
        line("counselor", [("Tell", 1.6, 1.8), ("me", 1.8, 2.0), ("more.", 2.0, 2.3)], at_s=2.8),
    ])
    done = sentences(out)
    # the backchannel is a sentence of its own; it did not cut the client's sentence in two
    assert [(s.stream_id, s.text, s.reason) for s in done] == [
        ("counselor", "mm", "turn"),
        ("client", "I just feel tired", "turn"),
        ("counselor", "Tell me more.", "punctuation"),
    ]
    assert a.open_sentence("client") is None


def test_run_on_speech_is_cut_at_its_last_comma_past_the_length_limit() -> None:
    a = SentenceAssembler(SentenceSettings(max_words=9))
    words = "and then we went out, and it was late so we walked home".split()
    timed = [(w, i * 0.3, i * 0.3 + 0.25) for i, w in enumerate(words)]
    out = feed_all(a, [line("c", timed[:5]), line("c", timed[5:])])
    out += a.end_stream("c", 10.0)
    done = sentences(out)
    assert [(s.text, s.reason) for s in done] == [
        ("and then we went out,", "length"), ("and it was late so we walked home", "end"),
    ]
    assert done[1].finals == (1,)
    assert all(len(s.words) <= 9 for s in done)


def test_a_run_on_sentence_without_commas_is_cut_at_the_limit_and_long_ones_by_duration() -> None:
    a = SentenceAssembler(SentenceSettings(max_words=40, max_duration_s=5.0))
    timed = [(f"w{i}", i * 0.6, i * 0.6 + 0.5) for i in range(12)]
    done = sentences(feed_all(a, [line("c", timed)]) + a.end_stream("c", 99.0))
    assert [len(s.words) for s in done] == [9, 3]
    assert done[0].reason == "length" and done[0].end_s - done[0].start_s >= 5.0


def test_a_final_without_word_times_is_spread_over_its_span() -> None:
    a = SentenceAssembler()
    f = CaptionFinal("c", 1, "Hello there.", 1.0, 2.0, 2.5)
    (s,) = sentences(a.feed(f))
    assert s.text == "Hello there." and s.start_s == 1.0 and s.end_s == 2.0
    assert dataclasses.replace(f, text="").text == "" and a.feed(dataclasses.replace(f, text="")) == []


def test_an_open_sentence_cut_mid_clause_continues_without_the_cut_s_dots() -> None:
    a = SentenceAssembler()
    feed_all(a, [line("client", [("I", 0.0, 0.2), ("just", 0.2, 0.4), ("want", 0.4, 0.7), ("to...", 0.7, 0.9)])])
    progress = a.open_sentence("client")
    assert progress is not None
    # Shown as Whisper wrote it; continued (by the words still being spoken) as one clause.
    assert progress.text == "I just want to..."
    assert progress.continued_text == "I just want to"
