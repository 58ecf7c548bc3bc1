"""What a staff password must be: long, not blank, and not one an attacker tries first.

Guessability is judged by zxcvbn (Dropbox's estimator, with its lists of the commonest passwords, names and
keyboard patterns), told the account's own username and name so that "judge-haddad-1" counts as weak for
the account judge.haddad.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn 0–4: 3 is "safely unguessable: moderate protection from offline slow-hash attacks"
_CHECKED_CHARS = 100  # zxcvbn's time grows with length; what lies past this only makes a password stronger


def password_problem(password: str, username: str = "", display_name: str = "") -> str | None:
    """Why `password` may not be used, or None."""
    if not password.strip():
        return "password: may not be blank"
    if password != password.strip():
        return "password: may not begin or end with white space"
    if len(password) < MIN_LENGTH:
        return f"password: at least {MIN_LENGTH} characters"
    if any(0xD800 <= ord(c) <= 0xDFFF or ord(c) < 32 for c in password):
        return "password: control characters and lone surrogates are not allowed"
    result = zxcvbn(password[:_CHECKED_CHARS], user_inputs=[u for u in (username, display_name) if u])
    if result["score"] < MIN_SCORE:
        warning = result["feedback"].get("warning") or "it is too easy to guess"
        return f"password: too easy to guess ({warning.rstrip('.')}); a few unrelated words make a good one"
    return None
