"""Tokens and sentences of a line: lower-cased words with contractions expanded ("won't" reads as "will
not", "im" as "i am"), each keeping its span in the original text, and the line cut into sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = frozenset(".!?;")

# Contractions whose apostrophe became a space, as scraped posts and some transcripts write them ("i don t
# want", "i m done", "it s over"): read as one word, so "don t" is a negation like "don't". Only these
# stems, so "a t shirt" or "plan b" stay apart.
SPLIT_CONTRACTION = (
    r"(?i:(?:don|didn|doesn|isn|wasn|aren|weren|wouldn|couldn|shouldn|haven|hasn|hadn|ain|mustn|needn|can|won) t|"
    r"i m|(?:i|you|we|they) (?:ve|re|ll|d)|(?:he|she|it|that|there|what) (?:s|ll|d))"
)
TOKEN_RE = re.compile(rf"\b(?:{SPLIT_CONTRACTION})\b(?!['’])|[A-Za-z]+(?:['’][A-Za-z]+)*|\d+|[.!?;,]")

WHOLE_CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "ain't": ("is", "not"),
    "shan't": ("shall", "not"),
    "gonna": ("going", "to"),
    "wanna": ("want", "to"),
    "gotta": ("got", "to"),
    "imma": ("i", "am", "going", "to"),
    "let's": ("let", "us"),
    "noone": ("no", "one"),
    "nobody's": ("nobody", "is"),
    # captions and typed transcripts often drop the apostrophe
    "dont": ("do", "not"),
    "cant": ("can", "not"),
    "didnt": ("did", "not"),
    "doesnt": ("does", "not"),
    "isnt": ("is", "not"),
    "wasnt": ("was", "not"),
    "arent": ("are", "not"),
    "wouldnt": ("would", "not"),
    "couldnt": ("could", "not"),
    "shouldnt": ("should", "not"),
    "havent": ("have", "not"),
    "hasnt": ("has", "not"),
    "im": ("i", "am"),
    "ive": ("i", "have"),
}
S_IS_WORDS = frozenset(
    "he she it that there what who where here everyone everybody nobody life everything nothing".split()
)
SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("n't", ("not",)),
    ("'re", ("are",)),
    ("'ve", ("have",)),
    ("'ll", ("will",)),
    ("'d", ("would",)),
    ("'m", ("am",)),
)


@dataclass(frozen=True, slots=True)
class Token:
    norm: str
    start: int  # span in the original line
    end: int
    capitalised: bool


def tokenise(text: str) -> list[Token]:
    tokens: list[Token] = []
    for m in TOKEN_RE.finditer(text):
        raw = m.group(0)
        word = raw.lower().replace("’", "'").replace(" ", "'")
        # Capitalised like a name ("Sam"), not shouted: "I DON'T want to live" is not about a "DON'T".
        cap = raw[:1].isupper() and not (len(raw) > 1 and raw.isupper())
        parts: tuple[str, ...]
        if word in WHOLE_CONTRACTIONS:
            parts = WHOLE_CONTRACTIONS[word]
        elif "'" in word:
            parts = (word.replace("'", ""),)
            for suffix, expansion in SUFFIXES:
                if word.endswith(suffix) and len(word) > len(suffix):
                    parts = (word[: -len(suffix)], *expansion)
                    break
            else:
                if word.endswith("'s"):
                    base = word[:-2]
                    parts = (base, "is") if base in S_IS_WORDS else (base,)
        else:
            parts = (word,)
        for k, part in enumerate(parts):
            tokens.append(Token(part, m.start(), m.end(), cap and k == 0))
    return tokens


@dataclass(frozen=True, slots=True)
class Sentence:
    tokens: list[Token]
    text: str  # normalised tokens joined by single spaces
    offsets: list[int]  # char offset of each token in `text`


def sentences(tokens: list[Token]) -> list[Sentence]:
    out: list[Sentence] = []
    current: list[Token] = []
    for tok in [*tokens, Token(".", -1, -1, False)]:
        current.append(tok)
        if tok.norm in SENTENCE_END:
            if len(current) > 1:
                offsets: list[int] = []
                pos = 0
                for t in current:
                    offsets.append(pos)
                    pos += len(t.norm) + 1
                out.append(Sentence(current, " ".join(t.norm for t in current), offsets))
            current = []
    return out


def token_index(sentence: Sentence, char: int) -> int:
    idx = 0
    for i, off in enumerate(sentence.offsets):
        if off <= char:
            idx = i
    return idx


def phrase_of(text: str, tokens: list[Token]) -> str:
    """The words of ``tokens`` as spoken in ``text`` (original casing and punctuation)."""
    real = [t for t in tokens if t.start >= 0]
    return text[real[0].start : real[-1].end] if real else ""
