"""Text normalisation for word error rate: case, punctuation and numbers spelled one way.

References and Whisper output differ in style ("1455" vs "fourteen fifty-five", "Mr." vs "mister"),
so both sides go through ``normalize_text`` before WER. Small on purpose: years and plain integers,
a few abbreviations; not a general English normaliser.
"""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ABBREVIATIONS = {
    "mr": "mister",
    "mrs": "missus",
    "dr": "doctor",
    "st": "saint",
    "vs": "versus",
    "etc": "et cetera",
    "ok": "okay",
}


def _two_digits(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])


def _under_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(_ONES[hundreds] + " hundred")
    if rest or not hundreds:
        parts.append(_two_digits(rest))
    return " ".join(parts)


def spell_number(n: int) -> str:
    """English words for a non-negative integer; 1100-1999 and 2010-2099 read as years."""
    if 1100 <= n <= 1999 or 2010 <= n <= 2099:
        high, low = divmod(n, 100)
        if low == 0:
            return _two_digits(high) + " hundred"
        return _two_digits(high) + " " + ("oh " + _ONES[low] if low < 10 else _two_digits(low))
    if n < 1000:
        return _under_thousand(n)
    parts = []
    for value, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= value:
            head, n = divmod(n, value)
            parts.append(_under_thousand(head) + " " + name)
    if n:
        parts.append(_under_thousand(n))
    return " ".join(parts)


_NUMBER_RE = re.compile(r"\d+(?:,\d{3})*")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b")


def normalize_text(text: str) -> str:
    """Lower case, ASCII letters/digits spelled out, single spaces."""
    text = text.lower().replace("’", "'")
    text = _ORDINAL_RE.sub(lambda m: m.group(1), text)
    text = _NUMBER_RE.sub(lambda m: " " + spell_number(int(m.group(0).replace(",", ""))) + " ", text)
    text = re.sub(r"[-–—/]", " ", text)
    text = re.sub(r"(?<=\b[a-z])\.(?=[a-z]\.)", "", text)  # i.e. -> ie.
    text = re.sub(r"[^a-z' ]+", " ", text)
    text = re.sub(r"'s\b", "s", text)
    words = [w.strip("'") for w in text.split()]
    out: list[str] = []
    for w in words:
        if not w:
            continue
        out.extend(_ABBREVIATIONS.get(w, w).split())
    return " ".join(out)
