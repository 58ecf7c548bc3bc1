"""Turns the hearing's composite and mix into the court record (see issue 3 and docs/)."""
