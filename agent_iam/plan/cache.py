"""The plan cache: an unchanged stack's plan is restored, not run again.

A plan is a function of three things, and the cache key is their content:
- the stack file as the plan reads it (the stack name and `load_stack_file`'s result: the parsed
  config, its secret keys and its advisories, the bytes of the policy files its entries list, not
  the lines kept for error messages),
- the project's code: the program (`__main__.py`), `Pulumi.yaml` and every file of the
  `agent_iam` package (sources and data),
- the interpreter and the installed distributions (every `*.dist-info` on `sys.path`, whose
  names carry the versions, and the hash of each one's RECORD, which lists every installed file
  with its own hash: a package reinstalled or patched in place changes it), and the `PULUMI_*`
  environment variables (the SDK reads config from `PULUMI_CONFIG`).

An entry holds what the plan produced: its files (plan.json, iam/, k8s/, access.md), what the
terminal showed (rich renderables, replayed so they fit the terminal of the re-plan) and the exit
code. Entries live under `<out>/.cache/plans/` beside the judge's content caches.

Two levels keep a re-plan light. The *quick key* hashes the stack file's bytes with the code and
dependencies; it names the parsed key it was last seen with, so an unchanged file is served
without parsing it or importing Pulumi. A stack whose entries list policy files has no quick key
(the plan depends on those files' bytes as well): it is parsed, and its config key found. When the bytes changed (a comment, a reordered key), the
file is parsed and the *config key* looked up; only a changed config runs the program.
On a hit, files are compared by size and modification time with what the cache last wrote and
rewritten from the entry only when they differ. Failed plans (config errors) are never cached.
Entries are pickles, so the output folder is trusted like the checkout it belongs to (CI builds
it fresh or restores it from its own cache); delete `<out>/.cache/plans/` to drop them all.
Still, nothing below the output folder is followed out of it (agent_iam/safe_io.py): a link where
a cache folder or file belongs is a miss to a read, replaced by a write, and never pruned through.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import stat
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam.safe_io import NotRegularFile, read_or_none, read_regular, real_folder, replace_file

from .project import PROGRAM, PROJECT_DIR

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # agent_iam/
# Bump when an entry's layout changes: older entries are then misses, never misread.
FORMAT = 1
ENTRIES_PER_STACK = 4
NO_CACHE_HINT = "--no-cache plans again"
# The printouts a plan can show: the default (tree, or a summary for a large plan) and the full tree.
MODES = ("default", "tree")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two part lists hash alike
        h.update(part)
    return h.hexdigest()


def _first(pair: list) -> Any:
    return pair[0]


def canonical(value: Any) -> Any:
    """A JSON value that differs whenever `value` does: mapping order ignored, types kept apart
    (1, 1.0, True and "1" stay distinct), anything else by its type and repr."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, Mapping):
        items = [[canonical(k), canonical(v)] for k, v in value.items()]
        if all(type(k) is str for k, _ in items):  # text keys (a stack file's): ordered as they are, no JSON per key
            return ["map", sorted(items, key=_first)]
        return ["map", sorted(items, key=lambda kv: json.dumps(kv[0], sort_keys=True))]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [canonical(v) for v in value]]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return ["object", type(value).__qualname__, canonical(fields)]
    if hasattr(value, "__dict__"):
        return ["object", type(value).__qualname__, canonical(vars(value)), canonical(str(value))]
    return ["value", type(value).__qualname__, repr(value)]


def stack_file_path(stacks_dir: Path, stack: str) -> Path:
    """The file `load_stack_file` reads for `stack` (a test holds the two to the same file)."""
    return stacks_dir / f"Pulumi.{stack}.yaml"


def _files_under(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info"))
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(root) / name


def code_files(package_dir: Path = PACKAGE_DIR, project_dir: Path = PROJECT_DIR, program: Path = PROGRAM) -> list[Path]:
    """The files whose content the plan depends on: the program, Pulumi.yaml, the package."""
    return [program, project_dir / "Pulumi.yaml", *_files_under(package_dir)]


def code_digest(files: Iterable[Path], root: Path = PROJECT_DIR) -> str:
    """Paths (relative to `root` where possible) and contents of `files`; a missing file counts as such."""
    parts = []
    for path in files:
        try:
            name = str(path.resolve().relative_to(root))
        except ValueError:
            name = str(path.resolve())
        try:
            content = b"file:" + path.read_bytes()
        except OSError:
            content = b"missing"
        parts += [name.encode(), content]
    return _digest(*parts)


def installed_distributions(paths: Iterable[str] | None = None) -> list[str]:
    """Every `<name>-<version>.dist-info` (and `.egg-info`) on `sys.path`, sorted: the same set from
    `python -m`, `python -c` or the console script, whose `sys.path[0]` differ. The project folder
    itself is left out (an editable install's egg-info there is the project's code, hashed already)."""
    found: set[str] = set()
    for entry in sys.path if paths is None else paths:
        try:
            if Path(entry or ".").resolve() == PROJECT_DIR:
                continue
            found.update(e.name for e in os.scandir(entry or ".") if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(found)


_RECORDS: dict[tuple[str, ...], list[str]] = {}  # sys.path -> RECORD hashes: read once per process


def distribution_records(paths: Iterable[str] | None = None) -> list[str]:
    """`<dist-info>:<sha256 of its RECORD>` for every distribution `installed_distributions` finds
    (`-` for one without a RECORD, such as an egg-info): the installed files' content, by the hashes
    pip recorded for them. Read once per process for `sys.path` (some 80 files, 4 MB)."""
    entries = tuple(sys.path if paths is None else paths)
    if paths is None and entries in _RECORDS:
        return _RECORDS[entries]
    records = []
    for entry in entries:
        try:
            if Path(entry or ".").resolve() == PROJECT_DIR:
                continue
            found = sorted(e.name for e in os.scandir(entry or ".") if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for name in found:
            data = read_or_none(Path(entry or ".") / name / "RECORD")
            records.append(f"{name}:{hashlib.sha256(data).hexdigest() if data is not None else '-'}")
    records.sort()
    if paths is None:
        _RECORDS[entries] = records
    return records


def pulumi_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """`PULUMI_*` environment variables: the SDK reads config from some (`PULUMI_CONFIG`)."""
    environ = os.environ if environ is None else environ
    return [f"{k}={environ[k]}" for k in sorted(environ) if k.startswith("PULUMI_")]


def environment_digest(
    distributions: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
    records: Iterable[str] | None = None,
) -> str:
    """The interpreter, the installed distributions' versions and contents (`distribution_records`)
    and the SDK's environment variables."""
    dists = installed_distributions() if distributions is None else list(distributions)
    hashes = distribution_records() if records is None else list(records)
    return _digest(
        sys.version.encode(),
        sys.implementation.cache_tag.encode(),
        *(d.encode() for d in dists),
        b"records",
        *(r.encode() for r in hashes),
        b"environment",
        *(v.encode() for v in pulumi_variables(environ)),
    )


@dataclass(frozen=True)
class Fingerprint:
    """The code and environment part of every key, computed once per process."""

    code: str
    environment: str

    @classmethod
    def current(cls) -> Fingerprint:
        return cls(code_digest(code_files()), environment_digest())


# What a loaded stack file keeps only to place an error message (errors are never cached): a
# comment that shifts lines leaves the plan as it was.
ERROR_LOCATION_FIELDS = frozenset({"lines", "config_line"})
# Where the stack file was read from: the plan depends on the policy files' bytes (a field of their own), not on it.
READ_FROM_FIELDS = frozenset({"stacks_dir"})


def stack_file_material(loaded: Any) -> Any:
    """What of a loaded stack file the plan depends on: every field but the error locations, and its advisories."""
    if not dataclasses.is_dataclass(loaded) or isinstance(loaded, type):
        return loaded
    skipped = ERROR_LOCATION_FIELDS | READ_FROM_FIELDS
    material = {f.name: getattr(loaded, f.name) for f in dataclasses.fields(loaded) if f.name not in skipped}
    if hasattr(loaded, "advisories"):
        material["advisories"] = loaded.advisories
    return ["stack file", type(loaded).__qualname__, material]


def quick_key(fingerprint: Fingerprint, stack: str, stack_file_bytes: bytes) -> str:
    return _digest(b"quick", str(FORMAT).encode(), fingerprint.code.encode(), fingerprint.environment.encode(),
                   stack.encode(), stack_file_bytes)


def config_key(fingerprint: Fingerprint, stack: str, stack_file_read: Any) -> str:
    """The key of a plan: the code, the environment, the stack and the loaded stack file (`load_stack_file`)."""
    material = json.dumps(canonical(stack_file_material(stack_file_read)), sort_keys=True, separators=(",", ":")).encode()
    return _digest(b"config", str(FORMAT).encode(), fingerprint.code.encode(), fingerprint.environment.encode(),
                   stack.encode(), material)


class Recorder:
    """A console stand-in that keeps what was printed (and passes it on to `console`, if any)."""

    def __init__(self, console: Any = None):
        self.console = console
        self.records: list[tuple[tuple, dict]] = []

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.records.append((objects, kwargs))
        if self.console is not None:
            self.console.print(*objects, **kwargs)


@dataclass
class Entry:
    """One cached plan: its exit code, printouts and the stat of the files it last wrote."""

    stack: str
    exit_code: int
    printouts: dict[str, list]  # mode ("quiet", "default", "tree") -> [(args, kwargs)] printed on stdout
    stderr: list  # [(args, kwargs)] printed on stderr (the blocked message)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)  # file -> (size, mtime_ns)
    created: float = field(default_factory=time.time)


def _regular(path: Path) -> bool:
    """A regular file, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _stat_files(target: Path) -> dict[str, tuple[int, int]] | None:
    """name -> (size, mtime_ns) of every file in a plan folder (iam/ and k8s/ included)."""
    stats: dict[str, tuple[int, int]] = {}
    try:
        entries = list(os.scandir(target))
    except OSError:
        return None
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            try:
                inner = [(f"{entry.name}/{f.name}", f) for f in os.scandir(entry.path)]
            except OSError:
                return None
        else:
            inner = [(entry.name, entry)]
        for name, item in inner:
            if not item.is_file(follow_symlinks=False):
                stats[name] = (-1, -1)  # a folder or link where a plan holds none: never matches
                continue
            st = item.stat(follow_symlinks=False)
            stats[name] = (st.st_size, st.st_mtime_ns)
    return stats


class PlanCache:
    """Plans of one output folder, by key (`<out>/.cache/plans/<stack digest>/<key>/`)."""

    def __init__(self, out_dir: Path, fingerprint: Fingerprint | None = None):
        self.out_dir = out_dir
        self.root = out_dir / ".cache" / "plans"
        self._fingerprint = fingerprint

    @property
    def fingerprint(self) -> Fingerprint:
        if self._fingerprint is None:
            self._fingerprint = Fingerprint.current()
        return self._fingerprint

    def _stack_dir(self, stack: str) -> Path:
        return self.root / _digest(stack.encode())[:16]

    def _folder(self, stack: str, *parts: str, create: bool = False) -> Path | None:
        """`<stack dir>/<parts>` when it is a real folder below the output folder (None: a miss);
        with `create` made so, a link in the way replaced, never followed."""
        return real_folder(self.out_dir, self._stack_dir(stack).joinpath(*parts), create=create)

    # -- keys ---------------------------------------------------------------------------------
    def quick_key(self, stack: str, stack_file: Path) -> str | None:
        """None for a name that is not a stack's (the plan then reports it) or a file that cannot be read."""
        from .paths import STACK_FILE_MAX_BYTES, UnsafePath, check_stack_name

        try:
            check_stack_name(stack)
            data = read_regular(stack_file, STACK_FILE_MAX_BYTES, follow_links=True)  # no FIFO, no /dev/zero
        except (OSError, UnsafePath, NotRegularFile):
            return None  # the plan reads the file and says what is wrong with it
        return quick_key(self.fingerprint, stack, data)

    def config_key(self, stack: str, stack_file_read: Any) -> str:
        return config_key(self.fingerprint, stack, stack_file_read)

    # -- lookup -------------------------------------------------------------------------------
    def key_for_quick(self, stack: str, quick: str) -> str | None:
        folder = self._folder(stack, "quick")
        data = read_or_none(folder / quick, 1024) if folder else None
        return data.decode("ascii", "replace").strip() or None if data else None

    def load(self, stack: str, key: str, mode: str) -> Entry | None:
        """The entry for `key` if it is complete and holds the printout `mode` needs."""
        folder = self._folder(stack, key)
        data = read_or_none(folder / "entry.pickle") if folder else None
        if data is None:
            return None
        try:
            entry = pickle.loads(data)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None
        if not isinstance(entry, Entry) or entry.stack != stack or not _regular(folder / "files.pickle"):
            return None
        if mode not in entry.printouts:
            return None
        return entry

    def restore(self, stack: str, key: str, entry: Entry) -> Path | None:
        """Make `<out>/<stack>/` hold the entry's files; rewrite only when they differ from what was
        written. None when the entry's files cannot be read (a miss: the plan runs)."""
        from .paths import plan_folder

        target = plan_folder(self.out_dir, stack)
        if _stat_files(target) != entry.stats:
            from .render import write_files

            folder = self._folder(stack, key)
            data = read_or_none(folder / "files.pickle") if folder else None
            try:
                files = pickle.loads(data) if data is not None else None
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
                files = None
            if not isinstance(files, dict):
                return None
            write_files(target, files)
            entry.stats = _stat_files(target) or {}
            try:
                self._write_pickle(folder / "entry.pickle", entry)
            except OSError:
                pass  # the plan is restored; the next restore compares the files again
        return target

    # -- store --------------------------------------------------------------------------------
    def store(self, stack: str, key: str, files: Mapping[str, bytes], entry: Entry, quick: str | None) -> None:
        """Keep a finished plan (and the quick key it was read from); failures to write are not the plan's."""
        try:
            folder = self._folder(stack, key, create=True)
            entry.stats = _stat_files(self.out_dir / stack) or {}
            self._write_pickle(folder / "files.pickle", dict(files))
            self._write_pickle(folder / "entry.pickle", entry)
            if quick:
                self.remember_quick(stack, quick, key)
            self._prune(stack, keep=key)
        except OSError:
            return

    def remember_quick(self, stack: str, quick: str, key: str) -> None:
        folder = self._folder(stack, "quick", create=True)
        replace_file(folder / quick, key.encode())

    @staticmethod
    def _write_pickle(path: Path, value: Any) -> None:
        replace_file(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))  # the old entry or the new one

    def _prune(self, stack: str, keep: str) -> None:
        """Keep the newest few entries per stack (a review loop flips between a few configs). Only
        real folders of the stack's own folder are removed: a link there is never followed."""
        stack_dir = self._folder(stack)
        if stack_dir is None:
            return
        entries = [e for e in os.scandir(stack_dir) if e.is_dir(follow_symlinks=False) and e.name != "quick"]
        entries.sort(key=lambda e: (e.name == keep, e.stat(follow_symlinks=False).st_mtime), reverse=True)
        stale = {e.name for e in entries[ENTRIES_PER_STACK:]}
        for entry in entries[ENTRIES_PER_STACK:]:
            shutil.rmtree(entry.path, ignore_errors=True)  # removes links inside, never what they point to
        quick_dir = self._folder(stack, "quick")
        if stale and quick_dir is not None:
            for alias in os.scandir(quick_dir):
                data = read_or_none(Path(alias.path), 1024)
                if data is not None and data.decode("ascii", "replace").strip() in stale:
                    try:
                        os.unlink(alias.path)
                    except OSError:
                        pass


RESTORED = "[dim]plan restored from the plan cache: config, code and dependencies unchanged (--no-cache plans again)[/dim]"


def restore_unchanged(stack: str, stacks_dir: Path, cache: PlanCache, mode: str, key: str | None = None) -> int | None:
    """The hook a plan command calls first: restore and print the cached plan of an unchanged
    stack file (no parsing, no Pulumi) and return its exit code; None on a miss. With `key` (the
    config key of a stack file already loaded), the entry of that config."""
    if key is None:
        quick = cache.quick_key(stack, stack_file_path(stacks_dir, stack))
        key = cache.key_for_quick(stack, quick) if quick else None
    entry = cache.load(stack, key, mode) if key else None
    if entry is None:
        return None
    from .consoles import console as new_console

    if cache.restore(stack, key, entry) is None:
        return None
    console = new_console()  # the plan's consoles (plan/consoles.py)
    console.print(RESTORED, soft_wrap=True)
    replay(entry, mode, console, new_console(stderr=True, soft_wrap=True))
    return entry.exit_code


def replay(entry: Entry, mode: str, console: Any, stderr: Any) -> None:
    """Print what the plan printed, through today's consoles (so it fits this terminal)."""
    for args, kwargs in entry.printouts[mode]:
        console.print(*args, **kwargs)
    for args, kwargs in entry.stderr:
        stderr.print(*args, **kwargs)
