"""Storage, the bottom layer: the engine and its migrations, encryption at rest, the audit log."""
