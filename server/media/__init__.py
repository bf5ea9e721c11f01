"""Media: the analysis uplink (aiortc peers and track readers), the bounded per-participant consumers,
and the model adapters that turn video frames into what the pure video cues need (face mesh, expression)."""
