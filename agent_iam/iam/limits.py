"""IAM's quotas and field limits: the one home of every number and pattern IAM enforces on what we send.

Quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
Field limits: the IAM API reference for CreateRole, PutRolePolicy, CreatePolicy, CreateInstanceProfile
and Tag (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html).

Each `check_*` function takes the value as it is sent (after defaults and entry settings are
merged) and returns sentences naming the problem, empty when IAM accepts it. Patterns are
matched whole (`fullmatch`) and ASCII where IAM's are: `\\d` and `\\w` never match full-width
digits or accented letters, and `$` never matches before a trailing newline.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# --- quotas (raisable ones have a default and a maximum) --------------------------------------

DEFAULT_TRUST_POLICY_SIZE = 2048
MAX_TRUST_POLICY_SIZE = 8192
DEFAULT_ROLE_POLICIES_SIZE = 10240
MAX_ROLE_POLICIES_SIZE = DEFAULT_ROLE_POLICIES_SIZE  # not raisable
DEFAULT_MANAGED_POLICIES_PER_ROLE = 10
MAX_MANAGED_POLICIES_PER_ROLE = 20
MANAGED_POLICY_SIZE = 6144
TAGS_PER_RESOURCE = 50


@dataclass(frozen=True)
class IamLimits:
    """The IAM quotas a stack's account has (raise them in `defaults.limits`)."""

    trust_policy_size: int = DEFAULT_TRUST_POLICY_SIZE
    role_policies_size: int = DEFAULT_ROLE_POLICIES_SIZE
    managed_policies_per_role: int = DEFAULT_MANAGED_POLICIES_PER_ROLE


def policy_json(doc: Mapping[str, Any]) -> str:
    """The JSON agent-iam sends to IAM for a policy document: key order kept, compact. IAM counts
    this text against its size quotas (it does not count white space)."""
    return json.dumps(doc, separators=(",", ":"))


def minified_size(doc: Mapping[str, Any]) -> int:
    """Characters of a policy document that IAM counts against its quotas."""
    return len(policy_json(doc))


# --- field limits -------------------------------------------------------------------------------

ROLE_NAME_MAX = 64
POLICY_NAME_MAX = 128  # inline (PutRolePolicy) and managed (CreatePolicy) policy names
INSTANCE_PROFILE_NAME_MAX = 128
PATH_MAX = 512
DESCRIPTION_MAX = 1000
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
MIN_SESSION_DURATION = 3600
DEFAULT_SESSION_DURATION = MIN_SESSION_DURATION  # a role's maximum session when none is set
MAX_SESSION_DURATION = 43200

# Role, policy and instance-profile names: [\w+=,.@-]+ in ASCII.
IAM_NAME_RE = re.compile(r"[\w+=,.@-]+", re.ASCII)
# "/" or "/segment/.../": printable ASCII without spaces, starting and ending with "/".
IAM_PATH_RE = re.compile(r"/(?:[\x21-\x7E]*/)?", re.ASCII)
# Role descriptions: tab, newline, carriage return, printable ASCII and Latin-1.
DESCRIPTION_RE = re.compile(r"[\t\n\r\x20-\x7E\xA1-\xFF]*")
# Tag keys and values: [\p{L}\p{Z}\p{N}_.:/=+\-@] (letters, separators, numbers, and _.:/=+-@).
TAG_PUNCTUATION = frozenset("_.:/=+-@")
RESERVED_TAG_PREFIX = "aws:"


def _tag_char(char: str) -> bool:
    return char in TAG_PUNCTUATION or unicodedata.category(char)[0] in ("L", "Z", "N")


# The ASCII characters `_tag_char` accepts (ASCII's only letters, numbers and separator are these),
# so ASCII text is judged by one match instead of a lookup per character.
_ASCII_TAG_RE = re.compile(r"[A-Za-z0-9 _.:/=+@-]*")


def _tag_text(text: str) -> bool:
    """Every character of `text` is one IAM allows in a tag key or value (`_tag_char`)."""
    if text.isascii():
        return _ASCII_TAG_RE.fullmatch(text) is not None
    return all(_tag_char(c) for c in text)


def _bad_chars(value: str, allowed) -> str:
    bad = sorted({c for c in value if not allowed(c)})
    return " ".join(repr(c) for c in bad[:8])


def check_name(value: str, *, what: str = "role name", maximum: int = ROLE_NAME_MAX) -> list[str]:
    """An IAM role, policy or instance-profile name."""
    if not value:
        return [f"an IAM {what} cannot be empty"]
    problems = []
    if not IAM_NAME_RE.fullmatch(value):
        problems.append(
            f"not a valid IAM {what} (ASCII letters, digits and +=,.@_- only; found "
            f"{_bad_chars(value, lambda c: IAM_NAME_RE.fullmatch(c) is not None)}): {value!r}"
        )
    if len(value) > maximum:
        problems.append(f"IAM {what}s are at most {maximum} characters; {value!r} has {len(value)}")
    return problems


def check_path(value: str) -> list[str]:
    if len(value) > PATH_MAX or not IAM_PATH_RE.fullmatch(value):
        return [
            f"not a valid IAM path (starts and ends with '/', printable ASCII without spaces, at most {PATH_MAX} "
            f"characters): {value!r}"
        ]
    return []


def check_description(value: str | None) -> list[str]:
    if value is None:
        return []
    problems = []
    if len(value) > DESCRIPTION_MAX:
        problems.append(f"the description is {len(value)} characters, over the {DESCRIPTION_MAX} IAM allows")
    if not DESCRIPTION_RE.fullmatch(value):
        bad = _bad_chars(value, lambda c: DESCRIPTION_RE.fullmatch(c) is not None)
        problems.append(f"the description holds characters IAM refuses ({bad}); it allows printable ASCII and Latin-1")
    return problems


def check_tag(key: str, value: str) -> list[str]:
    """One tag as IAM takes it (Tag.Key / Tag.Value)."""
    problems = []
    if not 1 <= len(key) <= TAG_KEY_MAX:
        problems.append(f"tag key {key!r}: keys are 1 to {TAG_KEY_MAX} characters")
    if key.lower().startswith(RESERVED_TAG_PREFIX):
        problems.append(f"tag key {key!r}: keys may not start with {RESERVED_TAG_PREFIX!r} (reserved by AWS)")
    if not _tag_text(key):
        problems.append(
            f"tag key {key!r}: holds {_bad_chars(key, _tag_char)}; IAM allows letters, numbers, spaces and _.:/=+-@"
        )
    if not isinstance(value, str):
        problems.append(f"tag {key!r}: the value must be text, not {type(value).__name__}")
        return problems
    if len(value) > TAG_VALUE_MAX:
        problems.append(f"tag {key!r}: values are at most {TAG_VALUE_MAX} characters; this one has {len(value)}")
    if not _tag_text(value):
        problems.append(
            f"tag {key!r}: the value holds {_bad_chars(value, _tag_char)}; IAM allows letters, numbers, spaces "
            "and _.:/=+-@"
        )
    return problems


def check_tags(tags: Mapping[str, str], *, reserved: int = 0) -> list[str]:
    """Every tag, and their count (`reserved`: tags the caller adds later, counted against the 50)."""
    problems = [p for key, value in tags.items() for p in check_tag(key, value)]
    if len(tags) + reserved > TAGS_PER_RESOURCE:
        extra = f" ({len(tags)} set here, {reserved} added by agent-iam)" if reserved else ""
        problems.append(f"{len(tags) + reserved} tags{extra}, over the {TAGS_PER_RESOURCE} IAM allows on a resource")
    lowered: dict[str, str] = {}
    for key in tags:  # IAM tag keys are case-insensitive on IAM resources
        other = lowered.setdefault(key.lower(), key)
        if other != key:
            problems.append(f"tag keys {other!r} and {key!r} differ only in case; IAM treats them as one key")
    return problems


def check_session_duration(value: int | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SESSION_DURATION <= value <= MAX_SESSION_DURATION:
        return [f"a role's maximum session is {MIN_SESSION_DURATION} to {MAX_SESSION_DURATION} seconds: {value!r}"]
    return []


def check_role_fields(
    *,
    name: str,
    path: str,
    description: str | None,
    tags: Mapping[str, str],
    max_session_duration: int | None,
) -> list[str]:
    """Every CreateRole field agent-iam sends, on the merged values."""
    return [
        *check_name(name, what="role name", maximum=ROLE_NAME_MAX),
        *check_path(path),
        *check_description(description),
        *check_tags(tags),
        *check_session_duration(max_session_duration),
    ]
