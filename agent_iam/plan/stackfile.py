"""Read `stacks/Pulumi.<stack>.yaml` as the Pulumi CLI would hand it to the program, with line numbers.

The file is parsed as YAML 1.2 (ruamel.yaml composes the node graph, or libyaml with ruamel's 1.2
resolver when the text is in the subset where both compose alike: `_compose_fast`; the values are built here),
as Pulumi reads it: `no` is text, `0x1F` and `0o17` are numbers, a date is its text. Whatever a
YAML file can hold ends as a value the program understands or as a ConfigError naming the file,
the line and the key: a duplicate key (both lines), a binary or custom-tagged value, a number too
odd for JSON, a key that is a list, a recursive or exploding alias, a root that is not a mapping.

Top-level config values that are scalars reach the program as their text, as the Pulumi CLI
passes them; lists and mappings as typed values (JSON for the program). `secure:` values cannot
be decrypted offline: each becomes `[secret]` in place and its top-level key is marked secret, just
as the CLI marks it for a real deploy. Every key's line is kept, so a config error raised later
(by the models, the settings, the program) is located in the file too (`StackFile.locate`).
"""

from __future__ import annotations

import difflib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam.stack_config import NAMESPACE, REDACTED, ConfigError, stack_file
from agent_iam.stack_config import policy_files as policy_file_reader
from agent_iam.stack_config.errors import key_path
from agent_iam.stack_config.models import ENTRIES
from agent_iam.stack_config.policy_documents import CONDITION, NULL_OPERATOR

from agent_iam.safe_io import NotRegularFile, read_regular

from .paths import STACK_FILE_MAX_BYTES, UnsafePath, check_stack_name

# Keys a Pulumi stack file holds at its root (https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/).
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")
# An alias may be used many times; more values than this is an alias bomb, not a stack file.
MAX_VALUES = 200_000
# Nor may aliases repeat more text (keys and values, as the plan would hold and serialize them) than
# a file without aliases could hold: a few values under MAX_VALUES can otherwise expand to gigabytes.
MAX_TEXT = STACK_FILE_MAX_BYTES
MAX_DEPTH = 100

_TAG = "tag:yaml.org,2002:"
_UNSUPPORTED_TAG = (
    "agent-iam config takes text, numbers, true/false, null, lists and mappings; remove the tag or quote the value"
)


class _Problem(Exception):
    """One problem in the file, at a node."""

    def __init__(self, line: int, key: str, message: str):
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


class _Fatal(_Problem):
    """A problem that stops reading the file (an alias bomb): nothing after it is worth reporting."""


@dataclass
class StackFile:
    """A stack file's config (full `namespace:key` keys), where each key is, and what the plan cannot see."""

    source: str  # the file as errors name it (stacks/Pulumi.<stack>.yaml in a project, else the path given)
    program_source: str = ""  # the name the program's own errors use (stack_config.stack_file)
    config: dict[str, Any] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # rendered key path -> 1-based line
    config_line: int = 1
    environments: tuple[str, ...] = ()
    environment_line: int = 0
    # Each `secure:` value's key path -> the digest of its ciphertext: the plan cannot read the value,
    # but plan.json records which one it was planned with, so a diff sees that it changed.
    secure_values: dict[str, str] = field(default_factory=dict)
    # The files the entries' `policyFiles` list, read once (path as listed -> bytes or why not): what the
    # plan plans and keys its cache on; and the folder they were read from (where the stack file is).
    policy_files: dict[str, Any] = field(default_factory=dict)
    stacks_dir: str = ""

    def policy_source(self) -> policy_file_reader.Source:
        """Where the program reads the entries' policy files: the bytes read with the stack file."""
        return policy_file_reader.Source(Path(self.stacks_dir or "."), self.policy_files)

    @property
    def advisories(self) -> list[str]:
        """What the offline plan cannot show: config that comes from Pulumi ESC environments."""
        if not self.environments:
            return []
        return [
            f"{self.source}:{self.environment_line}: environment: this stack imports the Pulumi ESC environment(s) "
            f"{', '.join(self.environments)}; the offline plan cannot open them, so it shows only the values in the "
            "stack file itself: any config those environments supply (pulumiConfig) is missing from this plan"
        ]

    def locate(self, error: ConfigError) -> ConfigError:
        """The same error with `file:line:` for each line that names this file (the key's line, else the
        nearest enclosing key's, else the `config:` line), and a note when ESC environments may hold the value."""
        located = [self._locate_line(line) for line in error.lines]
        if self.environments:
            located.append(
                f"{self.source}:{self.environment_line}: environment: note: this stack imports the Pulumi ESC "
                f"environment(s) {', '.join(self.environments)}, which the offline plan cannot open; a value they "
                "supply is not seen here (set it in the stack file to plan offline)"
            )
        result = ConfigError(located)
        result.__cause__ = error.__cause__
        return result

    def _locate_line(self, line: str) -> str:
        prefix = f"{self.program_source or self.source}: "
        if not line.startswith(prefix):
            return line
        rest = line[len(prefix):]
        best, best_line = "", self.config_line
        for key, number in self.lines.items():
            if len(key) > len(best) and rest.startswith(key) and rest[len(key):len(key) + 1] in (":", ".", "["):
                best, best_line = key, number
        return f"{self.source}:{best_line}: {rest}"


_TAG_TEXTS: dict[Any, str] = {}  # a file has a handful of distinct tags and thousands of nodes


def _tag(node: Any) -> str:
    tag = node.tag
    try:
        return _TAG_TEXTS[tag]
    except (KeyError, TypeError):
        text = str(getattr(tag, "value", tag) or "")
        if len(_TAG_TEXTS) < 1000:
            try:
                _TAG_TEXTS[tag] = text
            except TypeError:  # an unhashable tag: nothing to remember
                pass
        return text


def _int(text: str) -> int:
    """A YAML 1.2 integer as ruamel resolves it (decimal, 0x, 0o, 0b; `_` separators)."""
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if digits.lower().startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits, 10)


class _Builder:
    """Values from the composed node graph, with every key's line recorded."""

    def __init__(self, source: str):
        self.source = source
        self.lines: dict[str, int] = {}
        self.count = 0
        self.text = 0  # characters of keys and scalar values built so far, aliases expanded
        self.problems: list[_Problem] = []  # every problem below a top-level key, in file order

    def child(self, node: Any, top: str, loc: tuple[str | int, ...], stack: tuple[int, ...]) -> Any:
        """The value of a list item or mapping value; a problem in it is recorded and reading goes on."""
        try:
            return self.value(node, top, loc, stack)
        except _Fatal:
            raise
        except _Problem as problem:
            self.problems.append(problem)
            return None

    def where(self, top: str, loc: tuple[str | int, ...]) -> str:
        if not top:
            return "config"
        namespace, _, name = top.partition(":")
        return key_path(namespace, (name, *loc)) if name else key_path(NAMESPACE, (top, *loc))

    def scalar(self, node: Any, top: str, loc: tuple[str | int, ...], *, as_text: bool) -> Any:
        tag, text = _tag(node), node.value
        short = tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag

        def problem(message: str) -> _Problem:  # the line and key path are only worked out for an error
            return _Problem(node.start_mark.line + 1, self.where(top, loc), message)

        self.text += len(text)
        if self.text > MAX_TEXT:  # counted before anything holds or serializes the expansion
            raise _Fatal(node.start_mark.line + 1, self.where(top, loc),
                         f"the file expands to more than {MAX_TEXT:,} characters of keys and values (aliases)")

        if not text.isascii():  # ASCII text holds no surrogates: the common case skips the scan
            surrogates = sorted({c for c in text if "\ud800" <= c <= "\udfff"})
            if surrogates:
                escapes = " ".join(f"\\u{ord(c):04x}" for c in surrogates[:4])
                raise problem(f"holds {escapes}, an escape that is no Unicode character (half of a UTF-16 pair)")
        if short in ("binary",):
            raise problem(f"a !!binary value; {_UNSUPPORTED_TAG}")
        if short not in ("str", "int", "float", "bool", "null", "timestamp", "value", "merge"):
            raise problem(f"the YAML tag {tag!r} is not supported; {_UNSUPPORTED_TAG}")
        if short == "null":
            if text not in ("", "~", "null", "Null", "NULL"):
                raise problem(f"!!null with a value ({text!r})")
            return "" if as_text else None
        if as_text or short in ("str", "timestamp", "value", "merge"):
            return text  # as the CLI passes top-level values; a date stays the text it was written as
        if short == "bool":
            if text.lower() not in ("true", "false"):
                raise problem(f"not a YAML 1.2 boolean (true or false): {text!r}")
            return text.lower() == "true"
        if short == "int":
            try:
                return _int(text)
            except ValueError:
                raise problem(f"not an integer: {text!r}") from None
        try:
            number = float(text.replace("_", "").lower().replace(".inf", "inf").replace(".nan", "nan"))
        except ValueError:
            raise problem(f"not a number: {text!r}") from None
        if not math.isfinite(number):
            raise problem(f"not a finite number ({text!r}); quote it in YAML if it is meant as text")
        return number

    def key_text(self, node: Any, top: str, loc: tuple[str | int, ...]) -> str:
        """A mapping key as text (`1:` is the key "1"); a null or a list is no key, but for IAM's `Null`
        operator written unquoted in a policy's Condition block (`policy_documents.CONDITION_NULL_KEYS`)."""
        line = node.start_mark.line + 1
        if node.id != "scalar":
            raise _Problem(line, self.where(top, loc), "a key must be text, not a list or a mapping")
        if _tag(node).removeprefix(_TAG) == "null":
            if loc and loc[-1] == CONDITION and node.value.lower() == "null":
                return NULL_OPERATOR
            raise _Problem(line, self.where(top, loc), "a key must be text, not null (an empty key)")
        self.scalar(node, top, loc, as_text=False)  # refuses binary and custom tags on keys too
        return node.value

    def value(self, node: Any, top: str, loc: tuple[str | int, ...], stack: tuple[int, ...] = ()) -> Any:
        """The value of `node`, at key path `loc` under top-level key `top`."""
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Fatal(node.start_mark.line + 1, self.where(top, loc), f"the file expands to more than {MAX_VALUES:,} values (aliases)")
        if id(node) in stack:
            raise _Problem(node.start_mark.line + 1, self.where(top, loc), "an alias refers to a value that contains it (a cycle)")
        if len(stack) > MAX_DEPTH:
            raise _Problem(node.start_mark.line + 1, self.where(top, loc), f"nested more than {MAX_DEPTH} levels deep")
        kind = node.id
        if kind == "scalar":
            return self.scalar(node, top, loc, as_text=False)
        inner = (*stack, id(node))
        tag = _tag(node).removeprefix(_TAG)
        if kind == "sequence":
            if tag != "seq":
                raise _Problem(node.start_mark.line + 1, self.where(top, loc),
                               f"the YAML tag {_tag(node)!r} is not supported; {_UNSUPPORTED_TAG}")
            items = []
            for index, item in enumerate(node.value):
                self.lines.setdefault(self.where(top, (*loc, index)), item.start_mark.line + 1)
                items.append(self.child(item, top, (*loc, index), inner))
            return items
        if kind == "mapping":
            if tag != "map":
                raise _Problem(node.start_mark.line + 1, self.where(top, loc),
                               f"the YAML tag {_tag(node)!r} is not supported; {_UNSUPPORTED_TAG}")
            return self.mapping(node, top, loc, inner)
        return self.scalar(node, top, loc, as_text=False)

    def mapping(self, node: Any, top: str, loc: tuple[str | int, ...], stack: tuple[int, ...]) -> Any:
        result: dict[str, Any] = {}
        first: dict[str, int] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if _tag(key_node).removeprefix(_TAG) == "merge":
                merged.extend(self.merge_sources(value_node, top, loc))
                continue
            try:
                key = self.key_text(key_node, top, loc)
            except _Fatal:
                raise
            except _Problem as problem:
                self.problems.append(problem)
                continue
            line = key_node.start_mark.line + 1
            if key in first:
                self.problems.append(
                    _Problem(
                        line,
                        self.where(top, (*loc, key)),
                        f"duplicate key: also set at line {first[key]} (YAML keeps only one of them; remove one)",
                    )
                )
                continue
            first[key] = line
            self.lines.setdefault(self.where(top, (*loc, key)), line)
            result[key] = self.child(value_node, top, (*loc, key), stack)
        for source in merged:  # `<<: *defaults`: keys set here win over merged ones
            for key_node, value_node in source.value:
                key = self.key_text(key_node, top, loc)
                if key not in result:
                    self.lines.setdefault(self.where(top, (*loc, key)), key_node.start_mark.line + 1)
                    result[key] = self.child(value_node, top, (*loc, key), stack)
        if set(result) == {"secure"}:
            return _Secure(result["secure"])
        return result

    def merge_sources(self, node: Any, top: str, loc: tuple[str | int, ...]) -> list[Any]:
        sources = node.value if node.id == "sequence" else [node]
        for source in sources:
            if source.id != "mapping":
                raise _Problem(
                    source.start_mark.line + 1, self.where(top, (*loc, "<<")), "a merge key (<<) takes a mapping or a list of mappings"
                )
        return list(sources)


class _Secure(str):
    """A `secure:` value: redacted in the config, its top-level key marked secret."""


def _redact(value: Any, loc: tuple[str | int, ...] = (), found: dict[tuple[str | int, ...], str] | None = None) -> tuple[Any, bool]:
    """The value with each `secure:` value as `[secret]`, and whether it held one; `found` gets each
    one's location and the digest of its ciphertext."""
    if isinstance(value, _Secure):
        if found is not None:
            found[loc] = secure_digest(value)
        return REDACTED, True
    if isinstance(value, dict):
        items = [(k, *_redact(v, (*loc, k), found)) for k, v in value.items()]
        return {k: v for k, v, _ in items}, any(s for _, _, s in items)
    if isinstance(value, list):
        items = [_redact(v, (*loc, i), found) for i, v in enumerate(value)]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def secure_digest(ciphertext: str) -> str:
    """What plan.json records of a `secure:` value: a digest of its ciphertext (never the value)."""
    import hashlib

    return "sha256:" + hashlib.sha256(ciphertext.encode()).hexdigest()[:16]


# Text with none of these goes through libyaml: there YAML 1.1 and 1.2 compose the same node graph
# (no tabs, escapes, flow collections, tags, directives or 1.1-only line breaks), and the 1.2 tags
# come from ruamel's own resolver. Anything else, and any file libyaml refuses, is composed by
# ruamel, which then words the error: the fast path never changes a value, a line or a message.
_NOT_FAST_CHARACTERS = "\t\\[]{}!\x85\u2028\u2029"
_NOT_FAST = object()


def _fast_text(text: str) -> bool:
    """No character of `_NOT_FAST_CHARACTERS` and no line starting with `%` (one fast search each,
    where a regular expression would try every character of a large file)."""
    return not (any(c in text for c in _NOT_FAST_CHARACTERS) or text.startswith("%") or "\n%" in text)


def _compose_fast(text: str) -> Any:
    """The node graph as `_compose` would build it, by libyaml; `_NOT_FAST` when ruamel must compose it."""
    if not _fast_text(text):
        return _NOT_FAST
    try:
        import yaml
        import yaml._yaml
        from ruamel.yaml import nodes
        from ruamel.yaml.resolver import VersionedResolver

        parser_class = yaml._yaml.CParser  # libyaml: yaml.CLoader minus constructor and resolver
    except (ImportError, AttributeError):  # PyYAML without libyaml
        return _NOT_FAST
    class Resolver(VersionedResolver):
        processing_version = (1, 2)  # fixed: no directive reaches here (the property looks for a loader)

    resolver = Resolver()
    kinds = {yaml.ScalarNode: nodes.ScalarNode, yaml.SequenceNode: nodes.SequenceNode, yaml.MappingNode: nodes.MappingNode}
    # ruamel's resolver is a function of (kind, value, implicit) here (fixed version, no path
    # resolvers); keys and collections repeat throughout a file, so each is resolved once.
    resolved: dict[tuple[Any, Any, Any], Any] = {}

    class Parser(parser_class):
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            key = (kind, value, implicit)
            tag = resolved.get(key)
            if tag is None:
                tag = resolved[key] = resolver.resolve(kinds[kind], value, implicit)
            return tag

        def descend_resolver(self, *_: Any) -> None:  # no path resolvers: nothing to track
            return None

        def ascend_resolver(self, *_: Any) -> None:
            return None

    parser = Parser(text)
    try:
        return parser.get_single_node()
    except Exception:  # noqa: BLE001 - any refusal: ruamel composes the file and says what is wrong
        return _NOT_FAST
    finally:
        parser.dispose()


def _compose(text: str, source: str) -> Any:
    """The one document of the file as a node graph (None when empty)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    directive = re.search(r"(?m)^%YAML[ \t]+(\S+)", text)
    if directive and directive.group(1) != "1.2":
        line = text.count("\n", 0, directive.start()) + 1
        raise ConfigError([f"{source}:{line}: %YAML {directive.group(1)}: Pulumi reads stack files as YAML 1.2; remove the directive"])
    fast = _compose_fast(text)
    if fast is not _NOT_FAST:
        return fast
    loader = YAML(typ="safe", pure=True)
    try:
        documents = list(loader.compose_all(io.StringIO(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError([f"{source}{line}: not valid YAML: {problem}"]) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:  # the reader refuses control characters, etc.
        position = getattr(exc, "position", None)
        line = f":{text.count(chr(10), 0, position) + 1}" if isinstance(position, int) else ""
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError([f"{source}{line}: not valid YAML: {first}"]) from None
    documents = [d for d in documents if d is not None]
    if len(documents) > 1:
        line = documents[1].start_mark.line + 1
        raise ConfigError([f"{source}:{line}: a stack file is one YAML document; this is a second one (---)"])
    return documents[0] if documents else None


def shown_source(stacks_dir: Path, stack: str) -> str:
    """How errors name a stack file: `stacks/Pulumi.<stack>.yaml` in a Pulumi project's own stacks folder
    (as the program names it), else the path given, so that `--stacks-dir` errors point at the real file."""
    folder = Path(stacks_dir)
    if folder.name == "stacks" and (folder.parent / "Pulumi.yaml").is_file():
        return stack_file(stack)
    return str(folder / f"Pulumi.{stack}.yaml")


def load_stack_file(stacks_dir: Path, stack: str) -> StackFile:
    """The stack's config, secret keys, key lines and ESC environments; ConfigError for any problem."""
    try:
        check_stack_name(stack)
    except UnsafePath as exc:
        raise ConfigError([f"--stack: {exc}"]) from None
    path = Path(stacks_dir) / f"Pulumi.{stack}.yaml"
    source = shown_source(stacks_dir, stack)
    try:
        data = read_regular(path, STACK_FILE_MAX_BYTES, follow_links=True)
    except FileNotFoundError:
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in Path(stacks_dir).glob("Pulumi.*.yaml"))
        raise ConfigError([f"{source}: no such stack file (stacks: {', '.join(known) or 'none'})"]) from None
    except NotRegularFile as exc:
        raise ConfigError([f"{source}: {exc}; a stack file is a regular file of at most {STACK_FILE_MAX_BYTES:,} bytes "
                           "(8 MiB)"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot be read ({exc.strerror or exc})"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{source}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"]) from None
    root = _compose(text, source)
    result = StackFile(source, program_source=stack_file(stack))
    if root is None:
        return result
    if root.id != "mapping" or _tag(root).removeprefix(_TAG) != "map":
        kind = "a list" if root.id == "sequence" else "a single value"
        raise ConfigError(
            [f"{source}:{root.start_mark.line + 1}: a stack file is a mapping with a config: key; this one is {kind}"]
        )
    builder = _Builder(source)
    problems: list[str] = []
    seen: dict[str, int] = {}
    sections: dict[str, Any] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        try:
            name = builder.key_text(key_node, "", ())
        except _Problem as problem:
            problems.append(f"{source}:{problem.line}: {problem.message}")
            continue
        shown = name if re.fullmatch(r"[\w:.-]+", name) else repr(name)  # an empty or odd key stays visible
        if name in seen:
            problems.append(f"{source}:{line}: {shown}: duplicate key: also at line {seen[name]} (YAML keeps only one; remove one)")
            continue
        seen[name] = line
        if name not in STACK_FILE_KEYS:
            hint = difflib.get_close_matches(name, STACK_FILE_KEYS, n=1)
            problems.append(
                f"{source}:{line}: {shown}: not a stack file key"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" (a stack file holds: {', '.join(STACK_FILE_KEYS)})"
            )
            continue
        sections[name] = (line, value_node)
    if "config" in sections:
        result.config_line, node = sections["config"]
        problems += _read_config(builder, node, result)
    if "environment" in sections:
        result.environment_line, node = sections["environment"]
        problems += _read_environment(node, result)
    result.lines = builder.lines
    if problems:
        raise ConfigError(problems)
    result.stacks_dir = str(stacks_dir)
    result.policy_files = policy_file_reader.preload(Path(stacks_dir), listed_policy_files(result.config))
    return result


def listed_policy_files(config: dict[str, Any]) -> list[Any]:
    """Every path the entries' `policyFiles` list, in file order (what is not a list of paths is left to the
    config's checks, which name it)."""
    paths: list[Any] = []
    for family in ENTRIES:
        entries = config.get(f"{NAMESPACE}:{family}")
        for entry in entries if isinstance(entries, list) else []:
            listed = entry.get("policyFiles") if isinstance(entry, dict) else None
            paths += listed if isinstance(listed, list) else []
    return paths


def _read_config(builder: _Builder, node: Any, result: StackFile) -> list[str]:
    source = result.source
    if node.id == "scalar" and _tag(node).removeprefix(_TAG) == "null":
        return []
    if node.id != "mapping":
        return [f"{source}:{node.start_mark.line + 1}: config: must be a mapping of keys to values"]
    problems = []
    first: dict[str, int] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        try:
            key = builder.key_text(key_node, "", ())
            full = key if ":" in key else f"{NAMESPACE}:{key}"
            if full in first:
                raise _Problem(line, full, f"duplicate key: also set at line {first[full]} (YAML keeps only one; remove one)")
            first[full] = line
            builder.lines[builder.where(full, ())] = line
            if value_node.id == "scalar":
                value = builder.scalar(value_node, full, (), as_text=True)
            else:
                value = builder.value(value_node, full, ())
        except _Problem as problem:
            problems.append(f"{source}:{problem.line}: {problem.key}: {problem.message}")
            if isinstance(problem, _Fatal):
                break
            continue
        found: dict[tuple[str | int, ...], str] = {}
        result.config[full], secret = _redact(value, (), found)
        if secret:
            result.secret_keys.append(full)
            result.secure_values.update((builder.where(full, loc), digest) for loc, digest in found.items())
    for problem in sorted(builder.problems, key=lambda p: p.line):
        problems.append(f"{source}:{problem.line}: {problem.key}: {problem.message}")
    return problems


def _read_environment(node: Any, result: StackFile) -> list[str]:
    """`environment: [env, ...]` or `environment: {imports: [env, ...]}`: the ESC environments imported."""
    source, line = result.source, node.start_mark.line + 1
    imports = node
    if node.id == "mapping":
        keys = {str(k.value): v for k, v in node.value if k.id == "scalar"}
        imports = keys.get("imports")
        if imports is None or set(keys) - {"imports"}:
            return [f"{source}:{line}: environment: expected a list of Pulumi ESC environment names (or imports: [...])"]
    if imports.id == "scalar" and _tag(imports).removeprefix(_TAG) == "null":
        return []
    if imports.id != "sequence":
        return [f"{source}:{line}: environment: expected a list of Pulumi ESC environment names"]
    names = []
    for index, item in enumerate(imports.value):
        if item.id != "scalar" or not str(item.value).strip():
            return [f"{source}:{item.start_mark.line + 1}: environment[{index}]: expected an environment name"]
        names.append(str(item.value))
    result.environments = tuple(names)
    return []


def read_stack_file(stacks_dir: Path, stack: str) -> tuple[dict[str, Any], list[str]]:
    """The stack's config (full `namespace:key` keys) and the keys that hold secrets."""
    loaded = load_stack_file(stacks_dir, stack)
    return loaded.config, loaded.secret_keys


def located(loaded: StackFile | None, error: ConfigError) -> ConfigError:
    """`error` with line numbers from `loaded` (unchanged when the file was never read)."""
    return loaded.locate(error) if loaded is not None else error


__all__ = ["STACK_FILE_KEYS", "StackFile", "load_stack_file", "located", "read_stack_file"]

