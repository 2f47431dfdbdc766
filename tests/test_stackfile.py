"""The stack file as Pulumi reads it (YAML 1.2): every value type a file can hold is a value or a
config error naming `file:line: key`, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_iam.plan.__main__ import main
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import load_stack_file
from agent_iam.stack_config import REDACTED, ConfigError

HEAD = "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: '111111111111'\n"
FILE = "stacks/Pulumi.t.yaml"


@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """The stacks/ folder of a Pulumi project, so that errors name the file stacks/Pulumi.t.yaml."""
    (tmp_path / "Pulumi.yaml").write_text("name: t\n")
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    return stacks


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Pulumi.t.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def error_of(tmp_path: Path, text: str) -> str:
    """The config error the plan prints for this stack file (reading it, or running the program on it)."""
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        loaded = load_stack_file(tmp_path, "t")
        try:
            run_program("t", loaded.config, loaded.secret_keys)
        except ConfigError as exc:
            raise loaded.locate(exc) from None
    return str(caught.value)


def plan_exit(tmp_path: Path, text: str, capsys) -> tuple[int, str]:
    write(tmp_path, text)
    code = main(["--stack", "t", "--stacks-dir", str(tmp_path), "--out", str(tmp_path / "build"), "--quiet"])
    return code, capsys.readouterr().err


# --- YAML 1.2, duplicate keys, lines -----------------------------------------------


def test_a_duplicate_key_names_both_lines(tmp_path):
    text = HEAD + (
        "  agent-iam:saasRoles:\n"
        "    - name: v\n"
        "      vendor:\n"
        "        principalArn: arn:aws:iam::222222222222:role/a\n"
        "        principalArn: arn:aws:iam::222222222222:role/b\n"
        "      externalId: abcdefgh\n"
        "      externalId: other-id\n"
    )
    message = error_of(tmp_path, text)
    assert f"{FILE}:8: agent-iam:saasRoles[0].vendor.principalArn: duplicate key: also set at line 7" in message
    assert f"{FILE}:10: agent-iam:saasRoles[0].externalId: duplicate key: also set at line 9" in message  # every one
    assert "other-id" not in message and "abcdefgh" not in message


def test_duplicate_top_level_config_keys_and_root_keys(tmp_path):
    message = error_of(tmp_path, HEAD + "  agent-iam:accountId: '222222222222'\n")
    assert f"{FILE}:4: agent-iam:accountId: duplicate key: also set at line 3" in message
    message = error_of(tmp_path, HEAD + "config:\n  aws:region: us-east-1\n")
    assert f"{FILE}:4: config: duplicate key: also at line 1" in message


def test_the_nested_unquoted_key_and_the_full_key_are_one_key(tmp_path):
    message = error_of(tmp_path, HEAD + "  accountId: '222222222222'\n")
    assert f"{FILE}:4: agent-iam:accountId: duplicate key: also set at line 3" in message


def test_yaml_1_2_scalars(tmp_path):
    """`no` is text, 0x/0o are numbers, a date stays the text it was written as."""
    text = HEAD + (
        "  agent-iam:defaults:\n"
        "    tags:\n"
        "      created: 2024-01-01\n"
        "      reviewed: no\n"
        "  agent-iam:probe: [no, yes, On, 0x1F, 0o17, 012, 1e3, ~, true, 2001-12-14t21:59:43.10-05:00]\n"
    )
    loaded = load_stack_file(write(tmp_path, text), "t")
    assert loaded.config["agent-iam:defaults"]["tags"] == {"created": "2024-01-01", "reviewed": "no"}
    assert loaded.config["agent-iam:probe"] == [
        "no", "yes", "On", 31, 15, 12, 1000.0, None, True, "2001-12-14t21:59:43.10-05:00"
    ]


def test_top_level_scalars_reach_the_program_as_their_text(tmp_path):
    """As the Pulumi CLI passes them: an unquoted account ID keeps its leading zero."""
    loaded = load_stack_file(write(tmp_path, "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: 012345678901\n"), "t")
    assert loaded.config["agent-iam:accountId"] == "012345678901"
    run = run_program("t", loaded.config, loaded.secret_keys)
    assert run.settings.account_id == "012345678901"


def test_a_date_is_a_valid_tag_value_and_a_config_error_as_an_account_id(tmp_path, capsys):
    code, err = plan_exit(tmp_path, HEAD.replace("'111111111111'", "2024-01-01") + "  agent-iam:defaults:\n    tags:\n      created: 2024-01-01\n", capsys)
    assert code == 2
    assert f"{FILE}:3: agent-iam:accountId: not a 12-digit AWS account ID: '2024-01-01'" in err
    assert "Traceback" not in err and "serializable" not in err


def test_hex_account_id_is_refused(tmp_path):
    message = error_of(tmp_path, "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: 0x1CBE991A14\n")
    assert f"{FILE}:3: agent-iam:accountId: not a 12-digit AWS account ID: '0x1CBE991A14'" in message
    message = error_of(tmp_path, HEAD + "  agent-iam:saasRoles:\n    - name: v\n      vendor: {accountId: 0x1CBE991A14}\n      externalId: abcdefgh\n")
    assert f"{FILE}:6: agent-iam:saasRoles[0].vendor.accountId: must be text, not a number: quote it in YAML (got 123456789012)" in message


def test_unquoted_numeric_ids_say_quote_it_everywhere(tmp_path):
    message = error_of(tmp_path, HEAD + "  agent-iam:saasRoles:\n    - name: v\n      vendor:\n        accountId: 21913025\n      externalId: abcdefgh\n")
    assert f"{FILE}:7: agent-iam:saasRoles[0].vendor.accountId: must be text, not a number: quote it in YAML (got 21913025)" in message
    message = error_of(tmp_path, "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: 21913025\n")
    assert f"{FILE}:3: agent-iam:accountId: not a 12-digit AWS account ID: '21913025'; quote it in YAML" in message
    message = error_of(tmp_path, HEAD + "  agent-iam:saasRoles:\n    - name: v\n      vendor: {accountId: '377488441568'}\n      externalId: 12345678\n")
    assert "agent-iam:saasRoles[0].externalId: must be text, not a number: quote it in YAML" in message
    assert "12345678" not in message.replace("377488441568", "")  # an external ID is never echoed


# --- shapes and types that used to crash ----------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("- config\n", f"{FILE}:1: a stack file is a mapping with a config: key; this one is a list"),
        ("just text\n", f"{FILE}:1: a stack file is a mapping with a config: key; this one is a single value"),
        ("config: [a, b]\n", f"{FILE}:1: config: must be a mapping of keys to values"),
        (HEAD + "  7: x\n", f"{FILE}:4: agent-iam:7: unknown key"),
        (HEAD + "  ? [a, b]\n  : x\n", f"{FILE}:4: config: a key must be text, not a list or a mapping"),
        (HEAD + "  agent-iam:defaults:\n    ? {a: 1}\n    : x\n", f"{FILE}:5: agent-iam:defaults: a key must be text"),
        (HEAD + "  agent-iam:defaults:\n    tags:\n      ~: x\n", f"{FILE}:6: agent-iam:defaults.tags: a key must be text, not null"),
        (HEAD + "  agent-iam:ecsAgents: null\n", f"{FILE}:4: agent-iam:ecsAgents: is empty (null); give a list, or remove the key"),
        (HEAD + "  agent-iam:ecsAgents:\n", f"{FILE}:4: agent-iam:ecsAgents: is empty (null); give a list, or remove the key"),
        (HEAD + "  agent-iam:defaults: ''\n", f"{FILE}:4: agent-iam:defaults: is empty (null); give a mapping of keys to values"),
        (HEAD + "  agent-iam:ecsAgents: [{name: a, secretArns: !!binary aGVsbG8=}]\n", f"{FILE}:4: agent-iam:ecsAgents[0].secretArns: a !!binary value"),
        (HEAD + "  agent-iam:ecsAgents: [{name: !custom a}]\n", f"{FILE}:4: agent-iam:ecsAgents[0].name: the YAML tag '!custom' is not supported"),
        (HEAD + "  agent-iam:ecsAgents: !!set {a: null}\n", f"{FILE}:4: agent-iam:ecsAgents: the YAML tag 'tag:yaml.org,2002:set' is not supported"),
        (HEAD + "  agent-iam:defaults: {maxSessionDuration: .inf}\n", f"{FILE}:4: agent-iam:defaults.maxSessionDuration: not a finite number"),
        (HEAD + "  agent-iam:defaults: {maxSessionDuration: !!int abc}\n", f"{FILE}:4: agent-iam:defaults.maxSessionDuration: not an integer: 'abc'"),
        (HEAD + "  agent-iam:defaults: {protect: !!bool yes}\n", f"{FILE}:4: agent-iam:defaults.protect: not a YAML 1.2 boolean"),
        (HEAD + "  agent-iam:a: &x [*x]\n", f"{FILE}:4: agent-iam:a[0]: an alias refers to a value that contains it (a cycle)"),
        (HEAD + "---\nconfig: {}\n", f"{FILE}:5: a stack file is one YAML document; this is a second one"),
        ("%YAML 1.1\n---\n" + HEAD, f"{FILE}:1: %YAML 1.1: Pulumi reads stack files as YAML 1.2"),
        (HEAD + "confg: {}\n", f"{FILE}:4: confg: not a stack file key; did you mean 'config'?"),
        (HEAD + "' ': {}\n", f"{FILE}:4: ' ': not a stack file key"),
        (HEAD + "  agent-iam:ecsAgents: [a\n", f"{FILE}:5: not valid YAML:"),
        (HEAD + "  agent-iam:x: \"\\x01\"\n\x07", f"{FILE}:5: not valid YAML: unacceptable character #x0007"),
        (HEAD + "  agent-iam:ecsAgents: {secretArns: [a]}\n", f"{FILE}:4: agent-iam:ecsAgents: must be a list (got a mapping)"),
        (HEAD + '  agent-iam:ecsAgents: [{"\\ud800": 1}]\n', f"{FILE}:4: agent-iam:ecsAgents[0]: holds \\ud800, an escape that is no Unicode"),
        ("config:\n  aws:region: eu-west-1\n  agent-iam:accountId:\n    secure: v1:abc\n",
         f"{FILE}:3: agent-iam:accountId: not a 12-digit AWS account ID: '[secret]'"),
        (HEAD.replace("'111111111111'", "'[1111'"), f"{FILE}:3: agent-iam:accountId: not a 12-digit AWS account ID: '[1111'"),
        (HEAD + "  agent-iam:ecsAgents: [[a]]\n", f"{FILE}:4: agent-iam:ecsAgents[0]: must be a mapping of keys to values (got a list)"),
        (HEAD + "  agent-iam:ecsAgents: [{name: a, trustEc2: 2024-01-01}]\n", f"{FILE}:4: agent-iam:ecsAgents[0].trustEc2:"),
    ],
)
def test_every_value_type_is_a_keyed_config_error(tmp_path, capsys, text, expected):
    code, err = plan_exit(tmp_path, text, capsys)
    assert code == 2, err
    assert expected in err, err
    assert "Traceback" not in err
    for line in err.strip().splitlines()[1:]:
        assert re.match(rf"^{re.escape(FILE)}(:\d+)?: \S", line), line


def test_an_alias_bomb_is_refused(tmp_path, capsys):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = HEAD + "".join(f"  agent-iam:{line}\n" for line in lines)
    code, err = plan_exit(tmp_path, text, capsys)
    assert code == 2 and "expands to more than 200,000 values (aliases)" in err


def test_anchors_and_merge_keys_work_as_pulumi_reads_them(tmp_path):
    text = HEAD + (
        "  agent-iam:defaults:\n"
        "    tags: &tags {team: platform, env: dev}\n"
        "  agent-iam:ecsAgents:\n"
        "    - name: a\n"
        "      tags:\n"
        "        <<: *tags\n"
        "        env: prod\n"
    )
    loaded = load_stack_file(write(tmp_path, text), "t")
    assert loaded.config["agent-iam:ecsAgents"][0]["tags"] == {"env": "prod", "team": "platform"}


def test_secure_values_are_redacted_and_their_key_marked_secret(tmp_path):
    text = HEAD + "  agent-iam:saasRoles:\n    - name: v\n      vendor: {accountId: '377488441568'}\n      externalId:\n        secure: v1:abc\n"
    loaded = load_stack_file(write(tmp_path, text), "t")
    assert loaded.config["agent-iam:saasRoles"][0]["externalId"] == REDACTED
    assert loaded.secret_keys == ["agent-iam:saasRoles"]


def test_pydantic_and_settings_errors_carry_the_line_of_their_key(tmp_path):
    text = HEAD + (
        "  agent-iam:ecsAgents:\n"
        "    - name: ok\n"
        "    - name: bad\n"
        "      secretArns:\n"
        "        - not-an-arn\n"
        "      taskRoleName: " + "r" * 65 + "\n"
    )
    message = error_of(tmp_path, text)
    assert f"{FILE}:8: agent-iam:ecsAgents[1].secretArns[0]: not a Secrets Manager ARN: 'not-an-arn'" in message
    assert f"{FILE}:9: agent-iam:ecsAgents[1].taskRoleName: IAM role names are at most 64 characters" in message
    message = error_of(tmp_path, "config:\n  aws:region: eu-west-1\n")
    assert f"{FILE}:1: agent-iam:accountId: required, but not set" in message


# --- Pulumi ESC environments -------------------------------------------------------------


def test_esc_environments_are_named_in_an_advisory(tmp_path, capsys):
    text = "environment:\n  - acme/shared-aws\n  - acme/agents\n" + HEAD
    code, _ = plan_exit(tmp_path, text, capsys)
    assert code == 0
    import json

    advisories = json.loads((tmp_path / "build" / "t" / "plan.json").read_text())["advisories"]
    assert advisories[0].startswith(f"{FILE}:1: environment: this stack imports the Pulumi ESC environment(s) acme/shared-aws, acme/agents")
    assert "missing from this plan" in advisories[0]


def test_esc_environments_are_named_when_a_required_key_is_missing(tmp_path, capsys):
    text = "environment:\n  imports:\n    - acme/shared-aws\nconfig:\n  aws:region: eu-west-1\n"
    code, err = plan_exit(tmp_path, text, capsys)
    assert code == 2
    assert f"{FILE}:4: agent-iam:accountId: required, but not set" in err
    assert "environment: note: this stack imports the Pulumi ESC environment(s) acme/shared-aws" in err


def test_a_malformed_environment_list_is_an_error(tmp_path, capsys):
    code, err = plan_exit(tmp_path, "environment: shared\n" + HEAD, capsys)
    assert code == 2 and f"{FILE}:1: environment: expected a list of Pulumi ESC environment names" in err


# --- values that pass a loose regex but not IAM ---------------------------------------------


@pytest.mark.parametrize(
    "account, name",
    [('"111111111111\\n"', "agent"), ('"１１１１１１１１１１１１"', "agent"), ("'111111111111'", "agént-ＡＢ"), ("'111111111111'", "agent\\n")],
)
def test_unicode_digits_letters_and_trailing_newlines_are_refused(tmp_path, capsys, account, name):
    text = f"config:\n  aws:region: eu-west-1\n  agent-iam:accountId: {account}\n  agent-iam:ecsAgents:\n    - name: \"{name}\"\n"
    code, err = plan_exit(tmp_path, text, capsys)
    assert code == 2, err
    if account != "'111111111111'":
        assert f"{FILE}:3: agent-iam:accountId: not a 12-digit AWS account ID" in err
    else:
        assert f"{FILE}:5: agent-iam:ecsAgents[0].name: not a valid name (ASCII letters" in err


def test_a_stacks_dir_outside_a_project_is_named_by_its_real_path(tmp_path_factory, capsys):
    """`--stacks-dir /elsewhere`: the error points at the file that was read, not at stacks/ of the project."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "Pulumi.t.yaml").write_text(HEAD + "  agent-iam:ecsAgents:\n    - name: [a]\n", encoding="utf-8")
    code = main(["--stack", "t", "--stacks-dir", str(folder), "--out", str(folder / "build"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{folder / 'Pulumi.t.yaml'}:5: agent-iam:ecsAgents[0].name: must be text, not a list (got ['a'])" in err
    assert "stacks/Pulumi.t.yaml" not in err


# --- what a stack file is: a regular file under the size cap, its aliases bounded ----------------


def test_aliases_that_repeat_more_text_than_a_file_may_hold_are_refused_as_read(tmp_path, capsys):
    """A few thousand aliases of one long value, far under the 200,000-value cap, once expanded to
    gigabytes (MemoryError while the cache key was computed, `--no-cache` included): the reader
    counts the text as it builds the values and stops at the limit, naming the file, line and limit."""
    from agent_iam.plan.stackfile import MAX_TEXT

    value = "x" * 4000
    refs = MAX_TEXT // len(value) + 10
    text = HEAD + f"  agent-iam:blob: &b {value}\n  agent-iam:many: [" + ", ".join(["*b"] * refs) + "]\n"
    assert refs < 200_000 and len(text) < 50_000
    for flags in ((), ("--no-cache",)):
        write(tmp_path, text)
        code = main(["--stack", "t", "--stacks-dir", str(tmp_path), "--out", str(tmp_path / "build"), "--quiet", *flags])
        err = " ".join(capsys.readouterr().err.split())
        assert code == 2, err
        # the line of the value the aliases repeat, the key path of the alias that crossed the limit
        assert re.search(rf"{re.escape(FILE)}:4: agent-iam:many\[\d+\]: the file expands to more than "
                         rf"{MAX_TEXT:,} characters of keys and values \(aliases\)", err), err
        assert not (tmp_path / "build" / "t").exists()


def test_a_stack_file_over_the_size_cap_is_refused_naming_its_size(tmp_path):
    from agent_iam.plan.cache import PlanCache
    from agent_iam.plan.paths import STACK_FILE_MAX_BYTES

    path = tmp_path / "Pulumi.t.yaml"
    with open(path, "wb") as f:
        f.truncate(STACK_FILE_MAX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ConfigError) as caught:
        load_stack_file(tmp_path, "t")
    assert str(caught.value) == (
        f"{FILE}: {STACK_FILE_MAX_BYTES + 1:,} bytes, over the limit of {STACK_FILE_MAX_BYTES:,}; "
        f"a stack file is a regular file of at most {STACK_FILE_MAX_BYTES:,} bytes (8 MiB)"
    )
    assert PlanCache(tmp_path / "out").quick_key("t", path) is None  # the cache never reads it either


def test_a_link_to_a_stack_file_is_read_and_a_folder_is_refused(tmp_path):
    real = tmp_path.parent / "shared.yaml"
    real.write_text(HEAD + "  agent-iam:ecsAgents:\n    - name: a\n")
    (tmp_path / "Pulumi.t.yaml").symlink_to(real)
    assert load_stack_file(tmp_path, "t").config["agent-iam:ecsAgents"] == [{"name": "a"}]
    (tmp_path / "Pulumi.t.yaml").unlink()
    (tmp_path / "Pulumi.t.yaml").mkdir()
    with pytest.raises(ConfigError) as caught:
        load_stack_file(tmp_path, "t")
    assert str(caught.value).startswith(f"{FILE}: a folder; a stack file is a regular file of at most ")


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_stack_file_that_never_ends_or_never_opens_is_a_config_error(tmp_path, kind):
    """`Pulumi.t.yaml -> /dev/zero` exhausted memory and a FIFO hung the plan. The command runs in a
    process held to 1 GiB and 60 s, so a plan that reads either fails here instead of hurting the machine."""
    import os
    import resource
    import subprocess
    import sys

    path = tmp_path / "Pulumi.t.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(kind)

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run(
        [sys.executable, "-m", "agent_iam", "plan", "--stack", "t", "--stacks-dir", str(tmp_path), "--out", str(tmp_path / "build")],
        capture_output=True, text=True, timeout=60, preexec_fn=limited, env={**os.environ, "COLUMNS": "400"},
    )
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{FILE}: {what}; a stack file is a regular file of at most 8,388,608 bytes (8 MiB)" in done.stderr
    assert not (tmp_path / "build" / "t").exists()
