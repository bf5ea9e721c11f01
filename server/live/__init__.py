"""Live analysis: the ASR worker pool and caption streams, the cue engines of each session, and the wiring
that routes captions to participants, private events to counselors, and final lines to the record."""
