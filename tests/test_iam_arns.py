"""agent_iam.iam.arns: the ARN parser and `covers_every_resource`, checked against a reference matcher.

The reference is deliberately naive: `fnmatch` of a pattern over sample ARNs of each resource type
(several accounts, regions and realistic names). A pattern that matches every sample of a type
covers that whole type, so `covers_every_resource` must say so; the fuzz run generates spellings
from type tokens, wildcards and punctuation and looks for one it misses.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_iam.iam.arns import (
    Arn,
    account_of,
    covers_every_resource,
    literal_prefix,
    matches,
    parse,
    partition_of,
)
from conftest import fuzz_examples

# Examples per run (tests/conftest.py); a soak run raises them: FUZZ_EXAMPLES=30000 pytest tests/test_iam_arns.py
EXAMPLES = fuzz_examples()

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")

SAMPLES: dict[str, list[str]] = {
    "secret": [
        f"arn:aws:secretsmanager:{r}:{a}:secret:{n}"
        for r in REGIONS
        for a in ACCOUNTS
        for n in ("prod/db-AbCdEf", "x-Zz0912", "agent_token-q1W2e3")
    ],
    "role": [
        f"arn:aws:iam::{a}:role/{n}"
        for a in ACCOUNTS
        for n in ("a", "Deploy", "service-role/ecs-agent", "vendor.x_y+z=1,2@3")
    ],
    "key": [
        f"arn:aws:kms:{r}:{a}:key/{k}"
        for r in REGIONS
        for a in ACCOUNTS
        for k in ("1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab")
    ],
    "parameter": [
        f"arn:aws:ssm:{r}:{a}:parameter/{n}" for r in REGIONS for a in ACCOUNTS for n in ("db/password", "token")
    ],
    "object": [f"arn:aws:s3:::{b}/{k}" for b in ("logs", "my-data.eu") for k in ("a", "x/y/z.json")],
    "bucket": ["arn:aws:s3:::logs", "arn:aws:s3:::my-data.eu", "arn:aws:s3:::b1"],
}


def reference_covers(pattern: str) -> list[str]:
    """The resource types every sample of which the pattern matches (fnmatch, `*` crossing colons)."""
    return [kind for kind, arns in SAMPLES.items() if all(fnmatchcase(arn, pattern) for arn in arns)]


# --- the parser ---------------------------------------------------------------


def test_parse_keeps_the_resource_part_whole():
    arn = parse("arn:aws:logs:eu-west-1:111111111111:log-group:/ecs/agent:*")
    assert arn == Arn("aws", "logs", "eu-west-1", "111111111111", "log-group:/ecs/agent:*")
    assert arn.resource_type == "log-group"
    assert str(arn) == "arn:aws:logs:eu-west-1:111111111111:log-group:/ecs/agent:*"


@pytest.mark.parametrize("value", ["", "*", "arn:aws:iam::1", "not:an:arn:at:all:x", None, 12])
def test_parse_refuses_what_is_not_an_arn(value):
    assert parse(value) is None
    assert account_of(value) is None


def test_account_and_partition():
    assert account_of("arn:aws-us-gov:iam::123456789012:role/x") == "123456789012"
    assert partition_of("arn:aws-us-gov:iam::123456789012:role/x") == "aws-us-gov"
    assert account_of("arn:aws:iam::aws:policy/ReadOnlyAccess") == "aws"
    assert account_of("arn:aws:s3:::bucket") is None  # S3 ARNs carry no account
    assert parse("arn:aws:s3:::bucket").resource_type == ""


def test_matches_is_iam_globbing_not_fnmatch():
    assert matches("arn:aws:s3:::a*", "arn:aws:s3:::abc/d")
    assert matches("role/?", "role/x") and not matches("role/?", "role/xy")
    assert not matches("role/[ab]", "role/a")  # IAM has no character classes
    assert matches("role/[ab]", "role/[ab]")
    assert literal_prefix("arn:aws:iam::1:role/ven*-x") == "arn:aws:iam::1:role/ven"


# --- covers_every_resource: the spellings ------------------------------------

EVERY = [
    "*",
    "arn:aws:iam::*:role*",
    "arn:aws:iam::*:role/*",
    "arn:aws:iam::111111111111:role/*",
    "arn:aws:iam::111111111111:ro*",
    "arn:aws:iam::111111111111:*role*",
    "arn:aws:iam::111111111111:r?le/*",
    "arn:aws:iam::*",
    "arn:aws:iam::*:role/deploy",  # a named role in every account
    "arn:aws:secretsmanager:*:*:secret*",
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:*",
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:*-??????",
    "arn:aws:secretsmanager:*:111111111111:secret:prod/db-AbCdEf",  # every region
    "arn:aws:kms:*:*:*/*",
    "arn:aws:kms:eu-west-1:111111111111:key/*",
    "arn:aws:kms:eu-west-1:111111111111:key/*-*-*-*-*",
    "arn:aws:kms:eu-west-1:111111111111:key/????????-????-????-????-????????????",
    "arn:aws:ssm:*:111111111111:parameter/app/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::*/*",
    "arn:aws:s3:::*-*/*",
    "arn:aws:ec2:*:*:launch-template/*",
    "arn:aws:sqs:eu-west-1:111111111111:*",
    "arn:*",
    "*/*",
    "a*",
]

SCOPED = [
    "arn:aws:iam::111111111111:role/agent-*",
    "arn:aws:iam::111111111111:role/deploy",
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:prod/db-*",
    "arn:aws:kms:eu-west-1:111111111111:key/mrk-*",
    "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:ssm:eu-west-1:111111111111:parameter/app/*",
    "arn:aws:s3:::my-bucket/*",
    "arn:aws:s3:::my-bucket",
    "arn:aws:s3:::my-bucket/logs/*",
    "arn:aws:logs:eu-west-1:111111111111:log-group:/ecs/agent:*",
    "arn:aws:ecr:eu-west-1:111111111111:repository/agent",
    "my-bucket",
    "",
]


@pytest.mark.parametrize("pattern", EVERY)
def test_patterns_that_cover_every_resource_of_a_kind(pattern):
    assert covers_every_resource(pattern), pattern


@pytest.mark.parametrize("pattern", SCOPED)
def test_patterns_scoped_to_named_resources(pattern):
    assert not covers_every_resource(pattern), pattern


def test_non_strings_are_not_wildcards():
    assert not covers_every_resource(None)
    assert not covers_every_resource(["*"])


# --- the fuzz run: generated spellings against the reference ----------------------------

TOKENS = ["role", "secret", "key", "parameter", "ro", "sec", "k", "r?le", "s*", "", "user", "alias"]
PUNCT_AND_WILD = st.text(alphabet="*?-/:_.", min_size=0, max_size=6)
SERVICES = st.sampled_from(["iam", "secretsmanager", "kms", "ssm", "s3", "*", "s*", "secrets*", "?ms", "i?m"])
REGION = st.sampled_from(["", "*", "?", "us-east-1", "eu-*", "*-1", "??-????-?"])
ACCOUNT = st.sampled_from(["", "*", "111111111111", "111111111111*", "????????????", "1*", "*1"])


@st.composite
def spellings(draw) -> str:
    token = draw(st.sampled_from(TOKENS))
    sep = draw(st.sampled_from(["/", ":", "", "*", "?"]))
    tail = draw(PUNCT_AND_WILD)
    if draw(st.booleans()):
        tail = tail + draw(st.sampled_from(["", "*", "a*", "x", "db*", "-AbCdEf"]))
    resource = f"{token}{sep}{tail}"
    partition = draw(st.sampled_from(["aws", "*", "aws*", "a?s"]))
    arn = f"arn:{partition}:{draw(SERVICES)}:{draw(REGION)}:{draw(ACCOUNT)}:{resource}"
    if draw(st.integers(0, 9)) == 0:  # a shortened pattern whose last `*` spans the remaining fields
        arn = arn[: draw(st.integers(1, len(arn)))] + "*"
    return arn


@settings(max_examples=EXAMPLES * 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spellings())
def test_no_spelling_that_covers_a_whole_type_passes(pattern):
    covered = reference_covers(pattern)
    if covered:
        assert covers_every_resource(pattern), f"{pattern} matches every {covered[0]} sample"


@settings(max_examples=fuzz_examples(0.6), deadline=None)
@given(
    st.sampled_from(["role/", "secret:", "key/", "parameter/"]),
    st.from_regex(r"[a-z][a-z0-9]{2,12}", fullmatch=True),
    PUNCT_AND_WILD,
)
def test_a_named_prefix_in_a_fixed_account_and_region_is_scoped(token, name, tail):
    service = {"role/": "iam", "secret:": "secretsmanager", "key/": "kms", "parameter/": "ssm"}[token]
    region = "" if service == "iam" else "eu-west-1"
    pattern = f"arn:aws:{service}:{region}:111111111111:{token}{name}{tail}"
    assert not covers_every_resource(pattern)
    assert not reference_covers(pattern)


# --- the matcher's shortcut and the witness memo, against the plain definitions -----------------

_GLOB_TEXT = st.text(alphabet="ab*?:/-\n\ue000", max_size=12)


def _regex_match(pattern: str, value: str) -> bool:
    """IAM's glob as a regex, compiled for every call: what `matches` answered before its shortcut."""
    import re

    return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), value, re.S) is not None


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pattern=_GLOB_TEXT, value=_GLOB_TEXT)
def test_matches_answers_what_the_compiled_glob_answers(pattern, value):
    """The literal-prefix shortcut never changes an answer: a wrong prefix refuses, and anything
    else is still the glob's full match (wildcards, separators, newlines, the witness character)."""
    assert matches(pattern, value) == _regex_match(pattern, value)
    assert matches(pattern, pattern.replace("*", "").replace("?", "x")) == _regex_match(pattern, pattern.replace("*", "").replace("?", "x"))


def _witness_reference(fmt, pattern_fields):
    """`_witness` computed from scratch, the way it was before its memo."""
    import re

    from agent_iam.iam.arns import _ANY, has_wildcard

    fields = fmt.template.split(":", 5)
    for index in (1, 3, 4):
        given = pattern_fields[index] if index < len(pattern_fields) else None
        if fields[index].startswith("${"):
            fields[index] = given if given and not has_wildcard(given) else ("aws" if index == 1 else _ANY)
    fields[5] = re.sub(r"\$\{[^}]*\}", _ANY, fields[5])
    return ":".join(fields)


def test_the_witness_memo_follows_every_field_it_reads():
    """One format witnessed for patterns that differ only in partition, region or account, in turn
    and again: each answer is the from-scratch one, so the memo is keyed on all three."""
    from agent_iam.iam.arns import _formats_of, _witness

    role = next(f for f in _formats_of("iam") if f.key == "role")
    secret = next(f for f in _formats_of("secretsmanager") if f.key.lower() == "secret")
    variants = [
        ["arn", "aws", "iam", "", "111111111111", "role/*"],
        ["arn", "aws", "iam", "", "222222222222", "role/*"],
        ["arn", "aws-cn", "iam", "", "222222222222", "role/*"],
        ["arn", "aws", "iam", "", "*", "role/*"],
        ["arn", "aws", "secretsmanager", "us-east-1", "111111111111", "secret:*"],
        ["arn", "aws", "secretsmanager", "eu-west-1", "111111111111", "secret:*"],
        ["arn", "aws", "secretsmanager", "eu-west-?", "111111111111", "secret:*"],
        ["arn", "aws", "secretsmanager"],  # a short pattern: the fields it omits are open
    ]
    for _ in range(2):
        for fields in variants:
            for fmt in (role, secret):
                assert _witness(fmt, fields) == _witness_reference(fmt, fields)
    assert "222222222222" in _witness(role, variants[1]) and "111111111111" not in _witness(role, variants[1])
    assert _witness(role, variants[2]).startswith("arn:aws-cn:iam::")
    assert ":eu-west-1:" in _witness(secret, variants[5])


@pytest.mark.parametrize(
    ("pattern", "every"),
    [
        ("arn:aws:s3:::bench-sa-00001/*", False),
        ("arn:aws:s3:::*/*", True),
        ("arn:aws:iam::111111111111:role/*", True),
        ("arn:aws:iam::222222222222:role/deploy-*", False),
        ("arn:aws:iam::*:role/deploy", True),
        ("arn:aws:secretsmanager:us-east-1:111111111111:secret:*", True),
        ("arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-*", False),
    ],
)
def test_covers_every_resource_after_many_neighbours(pattern, every):
    """Thousands of per-unit patterns judged first (what a large plan does) change no later answer."""
    for n in range(300):
        covers_every_resource(f"arn:aws:s3:::bench-vendor-{n:05d}/*")
        covers_every_resource(f"arn:aws:iam::{n:012d}:role/agent-{n}-*")
    assert covers_every_resource(pattern) is every
