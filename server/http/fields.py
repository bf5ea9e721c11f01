"""Field types for text that people type and that is stored encrypted.

JSON can carry lone UTF-16 surrogates (``"\\ud800"``) that Python keeps in a ``str`` but no UTF-8 encoder
accepts; NUL and other control characters break exports and terminals. Both are refused at the edge with
a clear message instead of failing later in encryption or rendering.
"""

from __future__ import annotations

import re

from pydantic import AfterValidator, StringConstraints

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls except tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _clean(value: str) -> str:
    if _SURROGATE.search(value):
        raise ValueError("the text contains an invalid character (a lone UTF-16 surrogate)")
    if _CONTROL.search(value):
        raise ValueError("the text contains a control character")
    return value


NO_INVALID_CHARACTERS = AfterValidator(_clean)
"""Refuses lone surrogates and control characters (tab and newlines allowed); put it after any
``StringConstraints`` in the same ``Annotated`` (constraints on an inner ``Annotated`` are lost)."""


def clean_text(value: str) -> str:
    """Raises ``ValueError`` for lone surrogates and control characters (for text checked outside models)."""
    return _clean(value)


def typed_text(min_length: int, max_length: int) -> StringConstraints:
    """Length limits for text people type, after surrounding whitespace is dropped."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)
