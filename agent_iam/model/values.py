"""Typed readings of condition values (numbers, dates, IP addresses): one home for the evaluator,
the document parser and the solver's rendering of witnesses."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from fractions import Fraction

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


def number(text: str) -> Fraction | None:
    """A decimal number (`5`, `-1.25`); None when the text is not one."""
    text = text.strip()
    return Fraction(text) if _NUMBER.match(text) else None


def decimals(text: str) -> int:
    """Digits after the decimal point of a number's text."""
    text = text.strip()
    return len(text.split(".", 1)[1]) if "." in text else 0


def render_number(value: Fraction) -> str:
    """A number as the shortest decimal text that reads back as itself (the value has a finite expansion)."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole, rest = divmod(value.numerator, value.denominator)
    digits = ""
    while rest and len(digits) < 40:
        rest *= 10
        digit, rest = divmod(rest, value.denominator)
        digits += str(digit)
    return f"{sign}{whole}.{digits}"


_EPOCH = re.compile(r"^\d+$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def date(text: str) -> int | None:
    """A date as milliseconds since the epoch: ISO 8601 (`2024-01-01`, `2024-01-01T10:00:00Z`,
    offsets, fractions of a second) or epoch seconds; None when the text is neither."""
    text = text.strip()
    if _EPOCH.match(text):
        return int(text) * 1000
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


# The dates a witness may name: years 1 to 9999, as ISO 8601 can write them.
DATE_MIN, DATE_MAX = -62_135_596_800_000, 253_402_300_799_999


def render_date(milliseconds: int) -> str:
    """Milliseconds since the epoch as ISO 8601 text in UTC (`2024-01-01T00:00:00.000Z`)."""
    from datetime import timedelta

    m = EPOCH + timedelta(milliseconds=milliseconds)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond // 1000:03d}Z"


def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR (or one address, a /32 or /128) of a policy's IpAddress condition; None when not one."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A request's IP address; None when the text is not one."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None
