"""Attune's server: aiohttp app, signaling, analysis uplink, ASR worker pool and storage."""
