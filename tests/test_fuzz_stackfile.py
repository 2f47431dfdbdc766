"""Arbitrary YAML documents as stack files: every one plans, or is a config error naming file, line and key.

Hypothesis writes YAML text, not Python values: nested block and flow collections, the scalars
YAML 1.1 and 1.2 read differently (`no`, `0x1F`, `012`, `.inf`, dates), nulls, `!!binary` and
custom tags, block scalars, anchors, aliases (also undefined ones), merge keys, duplicate and
complex keys, several documents, `%YAML` directives, a root that is not a mapping, ESC
`environment:` lists; some documents look like real stack files (known keys, known entry fields)
so the property reaches the models, the settings and the program, not only the loader.

The property, the one the plan's exit codes rest on: reading the file and running the program
under mocks either succeeds, or raises ConfigError whose every line is
`stacks/Pulumi.fuzz.yaml[:<line>]: <what>` (UTF-8 printable), and nothing is registered on AWS.
Any other exception is a failure (a traceback, exit 1).

Examples per run: `fuzz_examples` (tests/conftest.py); a soak run raises them, e.g.
`FUZZ_EXAMPLES=10000 .venv/bin/python -m pytest tests/test_fuzz_stackfile.py`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import load_stack_file
from agent_iam.stack_config import ConfigError
from conftest import fuzz_examples

EXAMPLES = fuzz_examples(0.6)
SOURCE = "stacks/Pulumi.fuzz.yaml"
ERROR_LINE = re.compile(rf"^{re.escape(SOURCE)}(?::\d+)?: \S")

ACCOUNT = "111111111111"
# Scalars as written in a file: the spellings YAML versions disagree on, and values users really type.
TRICKY = [
    "no", "yes", "On", "off", "~", "null", "Null", "true", "False", "0x1F", "0o17", "012", "1e3", "-1",
    ".inf", "-.inf", ".nan", "2024-01-01", "2001-12-14t21:59:43.10-05:00", "12:30:00", ACCOUNT, "012345678901",
    "'111111111111'", '"111111111111\\n"', '"１１１１１１１１１１１１"', "'*'", "''", '""', "eu-west-1", "cn-north-1",
    "us-isob-east-1", "us-east-9", "/", "/agents/", "dev", "agent-1", "'agént-ＡＢ'", "3600", "43201",
    "arn:aws:iam::aws:policy/ReadOnlyAccess", f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:a-AbCdEf",
    f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/abc", "arn:aws:iam::377488441568:role/vendor",
    "arn:aws:iam::377488441568:root", "'v1;(#)'", "'\"'", "!!binary aGVsbG8=", "!!str 12", "!!int abc",
    "!!float x", "!!bool yes", "!!null ~", "!!timestamp 2020-01-01", "!custom v", "!!python/object:os.system x",
    '"\\ud800"', '"\\x07"', '"\\u0000"', "'😀'", "|-\n  text", ">\n  folded", "'\x90'", "'a\tb'",
]
TOP_KEYS = [
    "aws:region", "agent-iam:accountId", "accountId", "agent-iam:defaults", "agent-iam:guardrails",
    "agent-iam:accounts", "agent-iam:ecsAgents", "agent-iam:ec2Agents", "agent-iam:saasRoles",
    "agent-iam:clusters", "agent-iam:serviceAccounts", "agent-iam:ecsAgent", "other:key", "7", "<<",
]
FIELDS = [
    "name", "secretArns", "kmsKeyArns", "policyArns", "tags", "path", "maxSessionDuration", "protect",
    "vendor", "principalArn", "accountId", "externalId", "s3Read", "mode", "cluster", "namespace",
    "serviceAccount", "trustEc2", "roleName", "permissionsBoundaryArn", "limits", "trustPolicySize",
    "enforcement", "rules", "secure", "environment", "x", "Name",
]


def _plain_key(text: str) -> str:
    """A mapping key as it may appear in a file (quoted when YAML needs it)."""
    return text if re.fullmatch(r"[A-Za-z0-9_.:/-]+", text) and not text.startswith(("-", ":")) else json.dumps(text)


free_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(
    lambda t: json.dumps(t, ensure_ascii=False)
)
escaped_text = st.text(max_size=8).map(json.dumps)  # \\uXXXX escapes, lone surrogates included
scalars = st.one_of(st.sampled_from(TRICKY), free_text, escaped_text, st.integers().map(str))
keys = st.one_of(st.sampled_from(FIELDS + TOP_KEYS).map(_plain_key), free_text, st.sampled_from(["? [a, b]", "? {k: v}", "~", "1", "true"]))


@st.composite
def node(draw, depth: int = 0, anchors: list | None = None) -> str:
    """A YAML value in flow style, or an alias or anchored value."""
    anchors = anchors if anchors is not None else []
    choice = draw(st.integers(0, 9)) if depth < 4 else 0
    if choice <= 4:
        value = draw(scalars)
        if "\n" in value:  # block scalars only make sense in block context; quote them here
            value = json.dumps(value)
    elif choice <= 6:
        items = draw(st.lists(node(depth + 1, anchors), max_size=4))
        value = "[" + ", ".join(items) + "]"
    elif choice <= 8:
        pairs = draw(st.lists(st.tuples(keys, node(depth + 1, anchors)), max_size=4))
        value = "{" + ", ".join(f"{k if not k.startswith('?') else json.dumps(k)}: {v}" for k, v in pairs) + "}"
    else:
        if anchors and draw(st.booleans()):
            return "*" + draw(st.sampled_from(anchors))
        return "*" + draw(st.sampled_from(["a0", "undefined"]))
    if draw(st.integers(0, 5)) == 0 and not value.startswith("!"):
        name = f"a{len(anchors)}"
        anchors.append(name)
        return f"&{name} {value}"
    return value


@st.composite
def block_mapping(draw, indent: int, depth: int, anchors: list) -> str:
    """A block mapping: known or odd keys, nested block lists and mappings, duplicates and merges."""
    lines = []
    for _ in range(draw(st.integers(0 if depth else 1, 5))):
        key = draw(st.sampled_from(FIELDS).map(_plain_key) | keys)
        if key.startswith("?"):
            key = json.dumps(key)
        kind = draw(st.integers(0, 5)) if depth < 3 else 0
        pad = " " * indent
        if kind <= 2:
            lines.append(f"{pad}{key}: {draw(node(depth + 1, anchors))}")
        elif kind == 3:
            items = draw(st.lists(node(depth + 1, anchors), min_size=1, max_size=3))
            lines.append(f"{pad}{key}:")
            lines += [f"{pad}  - {item}" for item in items]
        elif kind == 4:
            lines.append(f"{pad}{key}:")
            lines.append(draw(block_mapping(indent + 2, depth + 1, anchors)))
        else:
            entries = draw(st.lists(block_mapping(indent + 4, depth + 1, anchors), min_size=1, max_size=2))
            lines.append(f"{pad}{key}:")
            for entry in entries:
                first, *rest = entry.split("\n")
                lines.append(f"{pad}  - {first.strip()}")
                lines += rest
        if anchors and draw(st.integers(0, 8)) == 0:
            lines.append(f"{pad}<<: *{draw(st.sampled_from(anchors))}")
    return "\n".join(lines) if lines else " " * indent + "{}"


# A valid stack file; each `{}` is its own value, or (one time in twelve) a tricky scalar in its place.
TEMPLATE = [
    ("config:", ()),
    ("  aws:region: {}", ("eu-west-1",)),
    ("  agent-iam:accountId: {}", ("'111111111111'",)),
    ("  agent-iam:defaults:", ()),
    ("    path: {}", ("/agents/",)),
    ("    maxSessionDuration: {}", ("3600",)),
    ("    tags: {{team: {}, created: {}}}", ("platform", "2024-01-01")),
    ("  agent-iam:ecsAgents:", ()),
    ("    - name: {}", ("agent",)),
    ("      trustEc2: {}", ("true",)),
    ("      secretArns: [{}]", (f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:agent-AbCdEf",)),
    ("  agent-iam:saasRoles:", ()),
    ("    - name: {}", ("vendor",)),
    ("      vendor: {{accountId: {}}}", ("'377488441568'",)),
    ("      externalId: {}", ("acme-4f8b2c1d",)),
    ("      s3Read: [{}]", ("acme-data/raw",)),
]


@st.composite
def mutated_stack_file(draw) -> str:
    lines = []
    for line, values in TEMPLATE:
        chosen = [draw(st.sampled_from(TRICKY)) if draw(st.integers(0, 11)) == 0 else v for v in values]
        lines.append(line.format(*(json.dumps(c) if "\n" in c else c for c in chosen)))
    return "\n".join(lines) + "\n"


@st.composite
def stack_file(draw) -> str:
    anchors: list[str] = []
    shape = draw(st.integers(0, 9))
    if shape == 0:  # anything at all
        return draw(node(0, anchors)) + "\n"
    if shape <= 3:  # a real stack file with some values replaced
        return draw(mutated_stack_file())
    parts = []
    if draw(st.integers(0, 6)) == 0:
        parts.append(draw(st.sampled_from(["%YAML 1.2\n---", "%YAML 1.1\n---", "---"])))
    if draw(st.integers(0, 5)) == 0:
        env = draw(st.sampled_from(["environment:\n  - acme/shared", "environment:\n  imports: [a, b]", "environment: x"]))
        parts.append(env)
    config = ["config:"]
    base = {"aws:region": draw(st.sampled_from(["eu-west-1", "eu-west-1", "cn-north-1", "us-east-9", "no"])),
            "agent-iam:accountId": draw(st.sampled_from(["'111111111111'", "'111111111111'", ACCOUNT, "0x1CBE991A14", "~"]))}
    for key, value in base.items():
        if draw(st.integers(0, 6)):
            config.append(f"  {key}: {value}")
    for _ in range(draw(st.integers(0, 4))):
        key = _plain_key(draw(st.sampled_from(TOP_KEYS)))
        form = draw(st.integers(0, 3))
        if form == 0:
            config.append(f"  {key}: {draw(node(1, anchors))}")
        elif form == 1:
            config.append(f"  {key}:")
            config.append(draw(block_mapping(4, 1, anchors)))
        else:
            config.append(f"  {key}:")
            for entry in draw(st.lists(block_mapping(6, 1, anchors), min_size=1, max_size=3)):
                first, *rest = entry.split("\n")
                config.append(f"    - {first.strip()}")
                config += rest
    parts.append("\n".join(config))
    if draw(st.integers(0, 8)) == 0:
        parts.append(draw(st.sampled_from(["other: 1", "config: {}", "---\nconfig: {}", "confg: {}"])))
    return "\n".join(parts) + "\n"


def check(text: str, folder: Path) -> None:
    (folder / "Pulumi.yaml").write_text("name: fuzz\n")  # a project's stacks/ folder: errors name stacks/Pulumi.fuzz.yaml
    folder = folder / "stacks"
    folder.mkdir(exist_ok=True)
    (folder / "Pulumi.fuzz.yaml").write_text(text, encoding="utf-8")
    loaded = None
    try:
        loaded = load_stack_file(folder, "fuzz")
        run_program("fuzz", loaded.config, loaded.secret_keys)
    except ConfigError as exc:
        registered = getattr(exc, "registered_resources", [])
        error = loaded.locate(exc) if loaded is not None else exc
        assert not [r for r in registered if r.type.startswith(("aws:", "kubernetes:"))], registered
        assert error.lines
        for line in error.lines:
            assert ERROR_LINE.match(line), line
            line.encode("utf-8")  # printable: no lone surrogate reaches the terminal
        event("config error" + (" (file)" if loaded is None else " (config)"))
        return
    event("plans")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(stack_file())
def test_any_yaml_document_plans_or_is_a_keyed_config_error(tmp_path_factory, text):
    check(text, tmp_path_factory.mktemp("fuzz", numbered=True))
