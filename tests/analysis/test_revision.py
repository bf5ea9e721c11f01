"""The second pass over a finished turn: when a turn is over, and how its new words replace the words of
the turn's stored sentences."""

from __future__ import annotations

from analysis.events import TimedWord
from analysis.revision import RevisionSettings, StoredSentence, TurnTracker, revised_sentences, similarity
from analysis.sentences import Sentence


def words(text: str, start_s: float, step_s: float = 0.3) -> tuple[TimedWord, ...]:
    return tuple(
        TimedWord(w, start_s + i * step_s, start_s + i * step_s + step_s * 0.8) for i, w in enumerate(text.split())
    )


def sentence(stream: str, sid: int, text: str, start_s: float, reason: str = "punctuation") -> Sentence:
    ws = words(text, start_s)
    return Sentence(stream, sid, text, ws, (sid,), ws[0].start_s, ws[-1].end_s, ws[-1].end_s + 1.0, reason)  # type: ignore[arg-type]


def test_a_turn_ends_at_a_long_pause_another_speaker_the_stream_end_or_its_length() -> None:
    tracker = TurnTracker(RevisionSettings(turn_pause_s=4.0, max_turn_s=24.0))
    assert tracker.feed(sentence("a", 1, "I went to the shop.", 0.0)) == []
    assert tracker.feed(sentence("a", 2, "It was closed.", 2.0)) == []  # 0.8 s pause: same turn
    assert tracker.advance({"a": 4.0}) == []  # settled 1.4 s past the last word: not over yet
    [turn] = tracker.advance({"a": 7.0})
    assert (turn.stream_id, turn.sentence_ids) == ("a", (1, 2))
    assert turn.start_s == 0.0 and abs(turn.end_s - 2.84) < 1e-9
    assert turn.audio_span(1.0) == (0.0, turn.end_s + 1.0)

    tracker.feed(sentence("a", 3, "Are you there?", 10.0))
    [other] = tracker.feed(sentence("b", 1, "Yes I am.", 11.5))  # the counselor answers: a's turn is over
    assert other.stream_id == "a" and other.sentence_ids == (3,)
    assert tracker.end_stream("b")[0].sentence_ids == (1,)

    long_turn = [tracker.feed(sentence("a", 10 + i, "one two three four five six seven eight.", 20.0 + 2.5 * i))
                 for i in range(11)]
    closed = [t for ts in long_turn for t in ts]
    assert closed and all(t.end_s - t.start_s <= 24.0 for t in closed)  # never longer than Whisper's window

    [ended] = tracker.feed(sentence("a", 30, "Goodbye.", 50.0, reason="end"))  # the stream stopped
    assert ended.stream_id == "a" and ended.sentence_ids[-1] == 30
    assert tracker.end_stream("a") == []


def test_the_second_pass_words_go_to_the_sentence_they_were_said_in() -> None:
    stored = [
        StoredSentence(7, words("Our future is level chapter in the hands of fate.", 0.0)),
        StoredSentence(8, words("We come in way for can they date?", 4.0)),
        StoredSentence(9, words("It is the result of major reform.", 8.0)),
    ]
    second = (
        words("Our future is never trapped in the hands of fate.", 0.05)
        + words("We come in with a candidate.", 4.1)
        + words("It is the result of major reform.", 8.0)
    )
    revised = revised_sentences(stored, second)
    assert revised is not None
    assert [(r.line_id, r.text) for r in revised] == [
        (7, "Our future is never trapped in the hands of fate."),
        (8, "We come in with a candidate."),
    ]  # the third did not change: not rewritten
    assert revised[1].words[0].start_s == 4.1


def test_a_second_pass_unlike_the_first_or_empty_is_refused_and_padding_words_are_left_out() -> None:
    stored = [StoredSentence(1, words("I have been so tired lately.", 2.0))]
    assert revised_sentences(stored, ()) is None
    assert revised_sentences(stored, words("Thank you for watching. Please subscribe to the channel.", 2.0)) is None
    # the end of the speaker's previous turn in the padding before this one is not this turn's
    padded = words("it all.", 0.6) + words("I have been so tired lately.", 2.0)
    [only] = revised_sentences(stored, padded[:2] + padded[2:4] + (TimedWord("terribly", 2.6, 2.8),) + padded[5:]) or []
    assert only.text == "I have terribly so tired lately."
    assert similarity(words("a b c d", 0), words("a b x d", 0)) == 0.75
