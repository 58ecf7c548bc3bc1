"""Live media: the hearing's mixer (one composite, encoded once) and each participant's connection."""
