"""The staff password rule: at least 12 characters, and not easy to guess.

Guessability is judged by ``zxcvbn`` (the Python port of Dropbox's estimator, pinned in constraints.txt):
it matches a password against 30,000 common passwords, English words, names, keyboard patterns, dates,
sequences and repeats, and against the account's own username and name, and estimates the guesses an
attacker needs. A staff password must need at least 10^8 guesses (zxcvbn score 3 of 4; a random
``secrets.token_urlsafe(12)`` scores 4). The refusal says why in plain words: a common password, a repeat
or sequence, built from the username, or simply too easy to guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario" (>= 10^8 guesses)
MIN_SCORE = 3
MAX_PASSWORD_LENGTH = 200
#: zxcvbn analyses at most 72 characters (its time grows fast with the length): a longer password is judged
#: by its first 72
ANALYSED = 72


def password_problem(password: str, *, username: str = "", name: str = "") -> str | None:
    """Why ``password`` may not be a staff password (a sentence naming the rule), or None if it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a staff password has at least {MIN_PASSWORD_LENGTH} characters; this one has {len(password)}"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a staff password has at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "a staff password cannot be only spaces"
    folded = password.casefold()
    inputs = [part for part in (username, *name.split()) if len(part) >= 3]
    if any(part.casefold() in folded for part in inputs):
        return "a staff password cannot contain the username or the person's name"
    result = zxcvbn(password[:ANALYSED], user_inputs=[p.casefold() for p in inputs])
    if int(result["score"]) >= MIN_SCORE:
        return None
    return f"this password is too easy to guess: {_why(result['sequence'])}; a few uncommon words, or a " \
           "password manager's random password, will do"


def _why(sequence: Sequence[Any]) -> str:
    """The weakest part of the password in words, from zxcvbn's matches."""
    patterns = {str(m.get("pattern")) for m in sequence}
    dictionaries = {str(m.get("dictionary_name")) for m in sequence if m.get("pattern") == "dictionary"}
    if "user_inputs" in dictionaries:
        return "it is built from the username or the person's name"
    if "passwords" in dictionaries:
        return "it is (or is built from) a commonly used password"
    if "repeat" in patterns:
        return "it repeats characters or a pattern"
    if "sequence" in patterns or "spatial" in patterns:
        return "it follows a sequence or a keyboard pattern"
    if "date" in patterns:
        return "it is built from a date"
    if dictionaries:
        return "it is built from common words or names"
    return "it is short for its variety of characters"
