"""The stack-file loader's libyaml path reads every file exactly as the ruamel (YAML 1.2) path does.

`_compose_fast` composes a file by libyaml when its text is in the subset where YAML 1.1 and 1.2
compose the same graph; these tests load each input both ways and compare everything the plan
uses (config, secret keys, every key's line, ESC environments) or the error's every line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from agent_iam.plan import stackfile
from agent_iam.stack_config import ConfigError
from bench.generate import write_stack

from conftest import fuzz_examples
from test_fuzz_stackfile import stack_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = fuzz_examples(0.6)

# Inside the fast subset (no flow collections, tags, escapes, tabs, directives), the spellings
# YAML 1.1 and 1.2 read differently, and every problem the loader reports.
TEXTS = [
    "",
    "# only a comment\n",
    "config:\n",
    "config:\n  a: no\n  b: 0x1F\n  c: 0o17\n  d: 012\n  e: 2024-01-01\n  f: ~\n  g: 1_000\n  h: .inf\n",
    "config:\n  agent-iam:x:\n    a: no\n    b: 0x1F\n    c: 0o17\n    d: 012\n    e: 2024-01-01\n    f: ~\n    g: 1_000\n"
    "    h: .inf\n    i: Yes\n    j: 1e3\n    k: 1:30\n    l: -.5\n    m: 'quoted no'\n    n: \"0x1F\"\n    o: null\n",
    "config:\n  agent-iam:x:\n    a: 1\n    a: 2\n",
    "config:\n  x: 1\n  agent-iam:x: 2\n",
    "config:\n  agent-iam:x:\n    base: &b\n      k: v\n      j: w\n    over:\n      <<: *b\n      k: mine\n",
    "config:\n  agent-iam:x: &a\n    - *a\n",
    "config:\n  agent-iam:x:\n    - |\n      literal\n      text\n    - >-\n      folded\n      text\n",
    "config:\n  agent-iam:x:\n    ? complex\n    : value\n    ~: nullkey\n",
    "config:\n  agent-iam:x:\n    secret:\n      secure: v1:abc\n",
    "config:\n  agent-iam:x:\n    secure: v1:abc\n",
    "- a\n- b\n",
    "just text\n",
    "config:\n  a: 1\n---\nconfig:\n  b: 2\n",
    "config:\n  a: 1\nconfg: 2\nconfig: 3\n",
    "environment:\n  - acme/shared\nconfig:\n  a: 1\n",
    "environment:\n  imports:\n    - a\n    - b\n",
    "config:\n  a: &x 1\n  b: &x 2\n  c: *x\n",
    "config:\n  a: *undefined\n",
    "config:\n  a: b: c\n",
    "config:\n a: 1\n  b: 2\n",
    "config:\n  agent-iam:x:\n    - name: a\n      name: b\n    -\n    - ''\n",
    "config:\n  'agent-iam:q': \"x y\"\n  \"1\": one\n  2: two\n  true: t\n",
    "config:\n  agent-iam:x: \"\u00e9\u00e8 \U0001f600 \uff11\"\n",
    "config:\n  agent-iam:x: \x07\n",
    "config:\n  agent-iam:x:\n    a: 'it''s'\n    b: \"say \"\"hi\"\"\"\n",
    "config:\n  agent-iam:x:\n    a: 1\n   b: 2\n",
    "config:\n  agent-iam:x: %s\n" % ("k" * 2000),
    "config:\n  %s: 1\n" % ("k" * 1100),
]


def _load(stacks: Path, text: str, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    (stacks / "Pulumi.s.yaml").write_text(text, encoding="utf-8")
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(stackfile, "_compose_fast", lambda _text: stackfile._NOT_FAST)
        try:
            loaded = stackfile.load_stack_file(stacks, "s")
        except ConfigError as error:
            return ("error", error.lines)
    return (loaded.config, loaded.secret_keys, loaded.lines, loaded.config_line, loaded.environments, loaded.environment_line)


def _same_both_ways(stacks: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(stacks, text, fast=True, monkeypatch=monkeypatch) == _load(stacks, text, fast=False, monkeypatch=monkeypatch), text


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_fast_path_reads_what_ruamel_reads(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_both_ways(tmp_path, text, monkeypatch)


def test_repository_and_bench_stack_files_read_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [*ROOT.glob("stacks/Pulumi.*.yaml"), *ROOT.glob("examples/**/Pulumi.*.yaml")]
    files.append(write_stack(tmp_path / "gen", "bench5", 5))
    assert len(files) > 3
    for path in files:
        _same_both_ways(tmp_path, path.read_text(encoding="utf-8-sig"), monkeypatch)


def test_bench_stack_file_takes_the_fast_path(tmp_path: Path) -> None:
    """The path is really taken for a large generated file (else this whole module tests nothing)."""
    text = write_stack(tmp_path, "bench5", 5).read_text(encoding="utf-8")
    node = stackfile._compose_fast(text)
    assert node is not stackfile._NOT_FAST and node.id == "mapping"


def test_text_outside_the_subset_goes_to_ruamel() -> None:
    for text in ("config: {a: 1}\n", "config:\n  a: [1]\n", "config:\n  a: !!str 1\n", "%YAML 1.2\n---\na: 1\n",
                 "config:\n  a: \"\\/\"\n", "config:\n\ta: 1\n", "config:\n  a: x\u2028y\n", "config:\n  a: x\x85y\n"):
        assert stackfile._compose_fast(text) is stackfile._NOT_FAST, text


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=stack_file())
def test_fuzzed_stack_files_read_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    _same_both_ways(tmp_path, text, monkeypatch)
