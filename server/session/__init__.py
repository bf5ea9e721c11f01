"""Live sessions: the session model and its state machine, participants, consent texts, the registry of
live sessions, and the WebSocket protocol in both directions. Above storage, below everything else."""
