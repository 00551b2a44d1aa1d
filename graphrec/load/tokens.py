"""Strict parsers of one input token each: ids, weights, ratings, timestamps.

Every reader of `graphrec.load` (and the command line) goes through these, so that one token means one
thing everywhere. A token is accepted only in its one plain written form; anything else raises
`TokenError` with the reason, which the caller locates (file, line, field):

- **id**: a 64-bit integer written in ASCII decimal digits, `0` or an optional `-` and no leading zero
  (`-9223372036854775808` .. `9223372036854775807`). No `+`, fraction, exponent, `_`, other digits (`²`,
  `١`), and no leading zeros: `007` and `7` would otherwise be one node. Never read through a float.
- **number**: a JSON number, `-?int[.digits][e[+-]digits]` with `int` as for ids, finite as a float64
  (`inf`, `nan`, `1e400`, `.5`, `+1` and `1_000` are refused). A **weight** is a number > 0; a group-format
  **rating** a number >= 0 (0 keeps its meaning there: not an interaction).
- **timestamp**: whole Unix seconds (an id-form integer) or an ISO 8601 date-time with a UTC offset
  (`2024-03-01T12:00:00Z`, `2024-03-01 12:00:00+02:00`), from 1970-01-01T00:00:00Z up to but excluding
  3000-01-01T00:00:00Z (`TS_MIN`, `TS_MAX`). Milliseconds, microseconds or nanoseconds are refused with
  that hint, never divided silently; so are fractions of a second, dates without a time and times without
  an offset (which would be a guess of the time zone).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
TS_MIN = 0
"""The first accepted timestamp: 1970-01-01T00:00:00Z."""
TS_MAX = 32_503_680_000
"""The first refused timestamp: 3000-01-01T00:00:00Z. Milliseconds since 1971 are above it."""

ID_PATTERN = r"0|-?[1-9][0-9]*"
"""An id token (range checked apart): ASCII digits, no sign but `-`, no leading zero."""
SHORT_ID_PATTERN = r"0|-?[1-9][0-9]{0,17}"
"""An id token of at most 18 digits, always within int64 (for fast whole-line checks)."""
_ID = re.compile(ID_PATTERN)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUMBER_LIKE = re.compile(r"[+-]?[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?")
_INTEGER_LIKE = re.compile(r"[+-]?[0-9]+")
_DATE_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ](?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?P<fraction>\.[0-9]+)?)?)"
    r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?)?")
_FINER_UNITS = (("milliseconds", 10**3), ("microseconds", 10**6), ("nanoseconds", 10**9))


class TokenError(ValueError):
    """A token that is not what its field needs; the message starts with the token itself."""


def parse_id(token: str) -> int:
    """The id a token denotes (see the module docstring); raises `TokenError`."""
    if not token:
        raise TokenError("missing id")
    if _ID.fullmatch(token):
        value = int(token)
        if INT64_MIN <= value <= INT64_MAX:
            return value
        raise TokenError(f"{token!r} is out of range: ids are 64-bit integers, {INT64_MIN} to {INT64_MAX}")
    raise TokenError(f"{token!r} is not an integer id{_id_hint(token)}")


def _id_hint(token: str) -> str:
    if not token.isascii():
        return " (only the ASCII digits 0-9)"
    if "_" in token:
        return " (no '_' separators)"
    if _INTEGER_LIKE.fullmatch(token):
        return " (no '+' sign, leading zeros or '-0': '007' would be the same node as '7')"
    if _NUMBER_LIKE.fullmatch(token) and any(c.isdigit() for c in token):
        return " (no fraction or exponent: ids are whole numbers written out in digits)"
    return ""


def parse_number(token: str) -> float:
    """A finite float64 in plain decimal notation (see the module docstring); raises `TokenError`."""
    if not _NUMBER.fullmatch(token):
        raise TokenError(f"{token!r} is not a number" if token else "missing number")
    value = float(token)
    if not math.isfinite(value):
        raise TokenError(f"{token!r} is too large (not finite as a 64-bit float)")
    return value


def parse_weight(token: str) -> float:
    """A weight: a finite number > 0; raises `TokenError`."""
    value = _positive(token, "a positive number")
    if value == 0:
        raise TokenError(f"{token!r} is not a positive number (a weight is > 0)")
    return value


def parse_rating(token: str) -> float:
    """A group-format rating: a finite number >= 0 (0 means the row is not an interaction); raises `TokenError`."""
    return _positive(token, "a rating (a number >= 0; 0: not an interaction)")


def _positive(token: str, what: str) -> float:
    if not _NUMBER.fullmatch(token):
        raise TokenError(f"{token!r} is not {what}" if token else f"missing {what.split(' (')[0]}")
    value = parse_number(token)
    if value < 0:
        raise TokenError(f"{token!r} is not {what}")
    return value


def parse_timestamp(token: str) -> int:
    """Unix seconds from whole seconds or an ISO 8601 date-time with an offset (module docstring); raises
    `TokenError`."""
    if _ID.fullmatch(token):
        return _in_range(int(token), token)
    match = _DATE_TIME.fullmatch(token)
    if match is None:
        if _NUMBER_LIKE.fullmatch(token) and any(c.isdigit() for c in token):
            raise TokenError(f"{token!r} is not whole Unix seconds (no fraction, exponent, '+' or leading zeros)")
        raise TokenError(f"{token!r} is neither Unix seconds nor an ISO 8601 date-time with an offset "
                         "(e.g. 2024-03-01T12:00:00Z)")
    if match["time"] is None or match["offset"] is None:
        raise TokenError(f"{token!r} has no {'time' if match['time'] is None else 'UTC offset'}: give a date-time "
                         "with an offset, e.g. 2024-03-01T12:00:00Z or 2024-03-01T14:00:00+02:00 (no time zone "
                         "is guessed)")
    if match["fraction"] and int(match["fraction"][1:]) != 0:
        raise TokenError(f"{token!r} has a fraction of a second: ts is stored in whole seconds")
    try:
        moment = datetime.fromisoformat(token.replace("Z", "+00:00"))
    except ValueError as error:
        raise TokenError(f"{token!r} is not a valid date-time ({error})") from None
    return _in_range(int(moment.timestamp()), token)


def _in_range(seconds: int, token: str) -> int:
    if TS_MIN <= seconds < TS_MAX:
        return seconds
    scale = next((name for name, factor in _FINER_UNITS if TS_MIN <= seconds // factor < TS_MAX), None)
    hint = f"; it looks like {scale}: convert to seconds" if scale and seconds > 0 else ""
    raise TokenError(f"{token!r} is out of range: ts is Unix seconds from 1970-01-01 to 2999-12-31{hint}")
