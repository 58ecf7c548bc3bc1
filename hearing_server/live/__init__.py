"""The live hearings on this node: the front's view of each (room.py), their media (media_room.py) and how
the front reaches it (media_handle.py)."""
