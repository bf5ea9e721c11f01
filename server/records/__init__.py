"""Session records: what a live session leaves behind (participants, consent decisions, transcript, cues),
the counselor's notes and corrections, the review pages and API, exports and retention."""
