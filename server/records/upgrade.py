"""Records made before sentences (transcript version 1: one row per 2-4-word caption fragment) are joined
into sentences once, when the server starts: consecutive fragments of one speaker become one sentence
unless a fragment ends with sentence punctuation, a pause of a second or more separates them, another
speaker talks in between, or the sentence grows past the length limit (the same rules as live,
``analysis.sentences``). A counselor's correction of any fragment stays, joined with the others' text.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from analysis.sentences import SentenceSettings, ends_sentence
from server.records.context import RECORDS
from server.records.repository import Fragment, SessionRecords

log = logging.getLogger(__name__)


def sentence_groups(fragments: Sequence[Fragment], settings: SentenceSettings | None = None) -> list[list[Fragment]]:
    """Fragments in time order, grouped into sentences."""
    s = settings or SentenceSettings()
    groups: list[list[Fragment]] = []
    for fragment in sorted(fragments, key=lambda f: (f.start_s, f.line_id)):
        group = groups[-1] if groups else None
        if group is not None:
            last = group[-1]
            words = sum(len(f.recognised.split()) for f in group) + len(fragment.recognised.split())
            if (
                last.participant_id == fragment.participant_id
                and not ends_sentence(last.recognised.split()[-1] if last.recognised.split() else ".")
                and fragment.start_s - last.end_s < s.pause_s
                and words <= s.max_words
                and fragment.end_s - group[0].start_s <= s.max_duration_s
            ):
                group.append(fragment)
                continue
        groups.append([fragment])
    return groups


async def join_fragmented_records(records: SessionRecords) -> int:
    """Joins the fragments of every version-1 record; returns how many records were upgraded."""
    upgraded = 0
    for session_id in await records.fragmented_sessions():
        fragments = await records.fragments(session_id)
        await records.replace_fragments(session_id, sentence_groups(fragments))
        upgraded += 1
        log.info("session %s: %d caption fragments joined into sentences", session_id, len(fragments))
    return upgraded


async def upgrade_ctx(app: web.Application) -> AsyncIterator[None]:
    # Small and once: done before the server answers, so nobody reviews a half-joined record.
    try:
        await join_fragmented_records(app[RECORDS])
    except Exception:
        log.exception("joining old caption fragments into sentences failed; the records stay as they were")
    yield
