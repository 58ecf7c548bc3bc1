"""The hearing's timestamped transcript: court events, who spoke when, and the clerk's log notes.

Each entry carries the UTC time and the media offset (seconds on the hearing clock, which is also the
time in the recording). Entries are journalled as they happen; at the end they are written as JSON
(complete) and WebVTT (for players).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# What a clerk's log note may record (the court checks a note's kind against these; the transcript
# labels them).
NOTE_KINDS = ("note", "exhibit", "objection", "ruling", "recess")

EVENT_TEXT = {
    "opened": "Hearing opened",
    "closed": "Hearing closed",
    "recess": "Recess",
    "resumed": "Hearing resumed",
    "locked": "Hearing locked",
    "unlocked": "Hearing unlocked",
    "admitted": "{name} ({role}) admitted",
    "rejected": "{name} not admitted",
    "joined": "{name} ({role}) joined",
    "observer_joined": "{name} ({role}) joined as an observer",
    "muted": "{name} muted by the court",
    "unmuted": "{name} unmuted by the court",
    "removed": "{name} removed by the court",
    "disconnected": "{name} lost connection",
    "reconnected": "{name} reconnected",
    "left": "{name} left",
    "recording_paused": "Recording paused",
    "recording_resumed": "Recording resumed",
    "camera_offline": "Courtroom camera \"{name}\" offline",
    "camera_online": "Courtroom camera \"{name}\" back online",
    "camera_shown": "Courtroom camera \"{name}\" put in the picture",
    "camera_hidden": "Courtroom camera \"{name}\" taken out of the picture",
}


def utc_iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_epoch(iso: str) -> float | None:
    """utc_iso's inverse (any ISO 8601 with an offset or Z); None for an empty or malformed time."""
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None
    except ValueError:
        return None


@dataclass
class SpeakerTracker:
    """Voice activity per participant from the mixer's 20 ms levels, turned into speaking turns.

    A turn starts at the first loud block and ends after `hangover` seconds of quiet, so the pauses
    between words do not split a sentence into turns; turns shorter than `minimum` are coughs and clicks.
    """

    threshold_dbfs: float = -45.0
    hangover: float = 0.6
    minimum: float = 0.25
    _open: dict[str, list[float]] = field(default_factory=dict)  # participant -> [start, last loud end]

    def feed(self, levels: dict[str, float], offset: float, block: float) -> list[tuple[str, float, float]]:
        """`levels` by participant for the block starting at `offset`; returns the turns that ended."""
        ended = []
        for participant, level in levels.items():
            if level > self.threshold_dbfs:
                turn = self._open.get(participant)
                if turn is None:
                    self._open[participant] = [offset, offset + block]
                else:
                    turn[1] = offset + block
        for participant, (start, last) in list(self._open.items()):
            if offset + block - last >= self.hangover:
                del self._open[participant]
                if last - start >= self.minimum:
                    ended.append((participant, start, last))
        return ended

    def flush(self) -> list[tuple[str, float, float]]:
        ended = [(p, s, e) for p, (s, e) in self._open.items() if e - s >= self.minimum]
        self._open.clear()
        return ended


def vtt_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def entry_text(entry: dict[str, Any]) -> str:
    kind = entry["kind"]
    if kind == "speech":
        return f"{entry['name']} ({entry['role']}) speaking"
    if kind == "note":
        label = entry.get("note_kind", "note").capitalize()
        return f"[{label}] {entry['text']}" + (f" — {entry['author']}" if entry.get("author") else "")
    template = EVENT_TEXT.get(entry.get("event", ""), entry.get("event", ""))
    return template.format(name=entry.get("name", ""), role=entry.get("role", ""))


def to_webvtt(entries: list[dict[str, Any]]) -> str:
    lines = ["WEBVTT", ""]
    for number, entry in enumerate(entries, 1):
        start = entry["offset"]
        end = entry.get("end") or start + 4.0
        lines += [f"{number}", f"{vtt_time(start)} --> {vtt_time(max(end, start + 0.5))}",
                  entry_text(entry).replace("-->", "→"), ""]
    return "\n".join(lines)


def to_json(header: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    return json.dumps({**header, "entries": entries}, indent=2, ensure_ascii=False)


def sort_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["offset"], 0 if e["kind"] == "event" else 1))
