"""Courtroom PC devices: cameras and microphones published into the hearing."""
