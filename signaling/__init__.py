"""Signaling: one WebSocket per participant carrying typed JSON messages (see docs/signaling.md)."""
