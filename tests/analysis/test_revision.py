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


def test_a_turn_goes_on_while_its_speaker_has_begun_the_next_sentence() -> None:
    tracker = TurnTracker(RevisionSettings(turn_pause_s=4.0, max_turn_s=24.0))
    tracker.feed(sentence("a", 1, "I went to the shop.", 0.0))  # ends at 1.24 s
    # the next sentence began 0.8 s later and is still being spoken: its words are settled up to 6 s, well
    # past the pause after the first sentence, yet the speaker never stopped
    assert tracker.advance({"a": 6.0}, {"a": 2.0}) == []
    assert tracker.feed(sentence("a", 2, "It was closed and nobody was there at all today.", 2.0)) == []
    [turn] = tracker.advance({"a": 9.0})
    assert turn.sentence_ids == (1, 2)

    # a sentence begun after a long pause is the next turn's
    tracker.feed(sentence("a", 3, "So I went home.", 20.0))
    [turn] = tracker.advance({"a": 27.0}, {"a": 25.5})
    assert turn.sentence_ids == (3,)

    # run-on speech: the turn ends once the open sentence would take it past Whisper's window
    tracker.feed(sentence("a", 4, "And then.", 40.0))
    assert tracker.advance({"a": 60.0}, {"a": 41.0}) == []
    [turn] = tracker.advance({"a": 64.5}, {"a": 41.0})
    assert turn.sentence_ids == (4,)


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


def test_a_sound_second_pass_replaces_a_looping_first_pass_but_not_a_lost_window() -> None:
    # live captions of a speaker hard to understand loop and stray; the whole-turn decode is sound, and
    # resembles them less than half
    # (a dev clip of speechocean762: the reference is "I was back in the room. She looked up at me and
    # smiled. He would never do this. What could you do with a girl.")
    looping = [StoredSentence(1, words("I was a pilot in the lung. Look, I will add a me and a smile Hey, what's "
                                       "your name, what's your name, what's your Thank you so much What a cow "
                                       "you do with, okay?", 0.0))]
    sound_text = ("I was a pilot in the room. She looked at her at me and the smile. Hey, would you never do "
                  "this? What a girl you do with a girl.")
    sound = words(sound_text, 0.0, 0.36)
    assert similarity(looping[0].words, sound) < 0.5
    [revised] = revised_sentences(looping, sound) or []
    assert revised.text == sound_text

    # a second pass that heard only the start of the turn lost its window: the first pass stays
    stored = [StoredSentence(1, words("I went to the shop. It was closed. Nobody was there at all.", 0.0))]
    assert revised_sentences(stored, words("I went to the shop.", 0.0)) is None
    assert revised_sentences(stored, words("I went to the shop, it was closed. Nobody was there.", 0.0))


def test_words_the_second_pass_hears_after_the_turn_are_left_to_the_next_sentence() -> None:
    # a turn cut at its length while the reader went on: the padding after it holds the next sentence's
    # first word
    stored = [StoredSentence(1, words("Imitates a much freer hand.", 10.0))]
    heard = (*words("Imitates a much freer hand", 10.0), TimedWord("That", 11.5, 11.7))
    [revised] = revised_sentences(stored, heard) or [None]
    assert revised is not None and revised.text == "Imitates a much freer hand"
    # words the first pass lost at the start of the turn come back
    stored = [StoredSentence(1, words("going to have another drink?", 10.0))]
    heard = (TimedWord("you", 9.5, 9.8), *words("going to have another drink?", 10.0))
    [revised] = revised_sentences(stored, heard) or [None]
    assert revised is not None and revised.text == "you going to have another drink?"


def test_a_word_stretched_across_the_pause_stays_in_its_own_sentence() -> None:
    # Whisper's word times stretch across pauses: the second pass timed "That" from just after "types."
    stored = [StoredSentence(1, words("by means of movable types.", 0.0)),
              StoredSentence(2, words("that the forms of printed letters.", 3.0))]
    heard = (*words("by means of movable types.", 0.0), TimedWord("That", 1.3, 2.8),
             *words("the forms of printed letters.", 3.3))
    revised = revised_sentences(stored, heard) or []
    assert [(r.line_id, r.text) for r in revised] == [(2, "That the forms of printed letters.")]
