"""The WebSocket protocol in both directions, as pydantic models: ``client`` (browser to server),
``server`` (server to browser), ``counselor`` (the counselor-only events), ``docs`` (docs/protocol.md's
tables, generated from the models)."""
