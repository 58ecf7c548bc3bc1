"""Remote court hearing server: lobby, live composite and the court record."""

__version__ = "0.1.0"
