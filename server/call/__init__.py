"""The call, the top layer: the WebSocket endpoint (signaling), the call pages and session start, metrics."""
