"""Pure cue and caption logic: data in, events out.

Nothing in this package touches the network, the event loop or a clock: callers pass time in
(seconds on the stream's own audio clock) and get frozen event dataclasses back.
"""
