"""`policyFiles`: policy documents kept as files beside the stack file, read into an entry's Args.

An entry lists paths relative to the stack file's folder (`stacks/` in this project); each file holds
one IAM policy document, JSON exactly as the vendor publishes it, named by its file name without
`.json`. The stack layer reads them, so every error names the stack file's line and key and the
file itself (its own line and column for invalid JSON); a program passes documents instead (the
components' `policy_documents`). What is refused, before anything is registered: a path that is
absolute or leaves the project folder (the folder holding Pulumi.yaml, symbolic links followed), a
missing file, one that is not a regular file or is over `MAX_BYTES`, text that is not UTF-8 JSON, a
JSON value that is not an object, a key given twice.

The offline plan reads every file once, with the stack file (`preload`): their bytes are part of the
plan cache key and of what the program plans, so a plan never mixes two versions of a file. A
deploy (`pulumi up`) reads them from the stack files' folder (`stackConfigDir` of the project's
Pulumi.yaml; the program runs in the project folder).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam.safe_io import NotRegularFile, read_regular

# A published policy is at most a few thousand characters (IAM holds 6,144 per managed policy, 10,240
# inline per role); a file far larger is a mistake, never a policy, and is not read.
MAX_BYTES = 256 * 1024
SUFFIX = ".json"
PROJECT_FILE = "Pulumi.yaml"


class PolicyFileError(ValueError):
    """A policy file that cannot be a policy document: the message names the file and the problem."""


@dataclass(frozen=True)
class FileRead:
    """What reading one listed path gave: its bytes, or why it could not be read."""

    data: bytes | None = None
    error: str | None = None


@dataclass(frozen=True)
class Source:
    """Where an entry's paths are read from: the stack files' folder, and the files the plan read
    already (path as listed -> what reading it gave), used instead of reading them again."""

    stacks_dir: Path
    preloaded: Mapping[str, FileRead] = field(default_factory=dict)


_CURRENT: list[Source] = []  # the source a plan set for the program it runs (the innermost `using`)


def deployed_stacks_dir(project_dir: Path | None = None) -> Path:
    """The stack files' folder when the program runs under Pulumi: `stackConfigDir` of the project's
    Pulumi.yaml (the program's working directory is the project folder), else the project folder."""
    project = project_dir or Path.cwd()
    try:
        text = (project / PROJECT_FILE).read_text(encoding="utf-8")
    except OSError:
        return project
    found = re.search(r"(?m)^stackConfigDir:\s*['\"]?([^'\"#\n]+?)['\"]?\s*(?:#.*)?$", text)
    return project / found.group(1) if found else project


def current() -> Source:
    """The source of the running program's policy files: the plan's, else the deployed project's."""
    return _CURRENT[-1] if _CURRENT else Source(deployed_stacks_dir())


@contextlib.contextmanager
def using(source: Source) -> Iterator[Source]:
    """Run the program (or check a stack's config) with `source` as where its policy files are."""
    _CURRENT.append(source)
    try:
        yield source
    finally:
        _CURRENT.pop()


def project_root(stacks_dir: Path) -> Path:
    """The project folder a policy file must stay in: the nearest folder holding Pulumi.yaml from the
    stack files' folder up, else that folder itself."""
    folder = Path(stacks_dir).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    return folder


def read(stacks_dir: Path, path: Any) -> FileRead:
    """The bytes of one listed path, or the reason it is refused (never raises for a bad path)."""
    try:
        return FileRead(data=_read(Path(stacks_dir), path))
    except PolicyFileError as exc:
        return FileRead(error=str(exc))


def _read(stacks_dir: Path, path: Any) -> bytes:
    if not isinstance(path, str) or not path.strip():
        raise PolicyFileError(f"a policy file is a path relative to the stack file's folder, got {path!r}")
    given = Path(path)
    if given.is_absolute():
        raise PolicyFileError(f"{path!r} is an absolute path; give it relative to the stack file's folder ({stacks_dir})")
    if not path.endswith(SUFFIX):
        raise PolicyFileError(f"{path!r} is not a .json file (a policy file holds one JSON policy document)")
    root = project_root(stacks_dir)
    target = (Path(stacks_dir) / given).resolve()
    if not target.is_relative_to(root):
        raise PolicyFileError(f"{path!r} leaves the project folder {root} (resolved to {target}); keep policy files in the project")
    try:
        return read_regular(target, MAX_BYTES, follow_links=True)
    except FileNotFoundError:
        raise PolicyFileError(f"no such file: {path!r} (looked in {Path(stacks_dir)})") from None
    except NotRegularFile as exc:
        raise PolicyFileError(f"{path!r} is {exc}; a policy file is a regular file of at most {MAX_BYTES:,} bytes") from None
    except OSError as exc:
        raise PolicyFileError(f"{path!r} cannot be read ({exc.strerror or exc})") from None


def document_name(path: str) -> str:
    """A document's name: its file's name without `.json` (`vendor/WizFullPolicy.json` -> `WizFullPolicy`)."""
    return Path(path).name.removesuffix(SUFFIX)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = next((k for k in keys if keys.count(k) > 1), None)
    if repeated is not None:
        raise PolicyFileError(f"the key {repeated!r} is given twice in one object (JSON keeps only one of them)")
    return dict(pairs)


def parse(path: str, data: bytes) -> dict[str, Any]:
    """The JSON object of a policy file; PolicyFileError with the file's own line and column otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyFileError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise PolicyFileError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except PolicyFileError as exc:
        raise PolicyFileError(f"{path}: {exc}") from None
    except RecursionError:
        raise PolicyFileError(f"{path}: nested too deeply to be a policy document") from None
    if not isinstance(value, dict):
        raise PolicyFileError(f"{path}: a policy document is a JSON object, not {type(value).__name__}")
    return value


def documents(paths: Sequence[Any], source: Source | None = None) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The documents of an entry's `policyFiles` as the components' `policy_documents` (`{name,
    document}`, in order), and the problems as `(index in the list, message)`."""
    source = source or current()
    found: list[dict[str, Any]] = []
    problems: list[tuple[int, str]] = []
    for index, path in enumerate(paths):
        result = source.preloaded.get(path) if isinstance(path, str) else None
        if result is None:
            result = read(source.stacks_dir, path)
        if result.error is not None or result.data is None:
            problems.append((index, result.error or f"{path!r} cannot be read"))
            continue
        try:
            found.append({"name": document_name(path), "document": parse(path, result.data)})
        except PolicyFileError as exc:
            problems.append((index, str(exc)))
    return found, problems


def preload(stacks_dir: Path, paths: Sequence[Any]) -> dict[str, FileRead]:
    """Every listed path read once (the plan's stack file loader: these bytes are what it plans and keys)."""
    return {path: read(stacks_dir, path) for path in dict.fromkeys(p for p in paths if isinstance(p, str))}
