"""Check results kept by content between plans, so a re-plan checks only what changed.

One JSON file per stack and checker (`build/.cache/<checker>.<stack>.json`): `{"version",
"entries"}`, entries keyed by a hash of what was checked. The file is trusted only while the
checker's version string is the same (its library, its data, the checking module's own code),
and is replaced atomically, so parallel plans or an interrupted one never leave half a file. A link
planted as the cache folder or file is never followed (agent_iam/safe_io.py): nothing is read
through it, and a write replaces it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agent_iam.safe_io import read_or_none, real_folder, replace_file


def content_key(*parts: Any) -> str:
    """A stable hash of JSON-able parts (mapping key order does not matter)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def module_fingerprint(module_file: str) -> str:
    """A short hash of a checker module's source: changing its settings invalidates its cache."""
    return hashlib.sha256(Path(module_file).read_bytes()).hexdigest()[:16]


def read(cache_file: Path | None, version: str) -> dict[str, Any]:
    """The cached entries, or none when there is no file, it is unreadable or another version wrote it."""
    if cache_file is None or real_folder(cache_file.parent.parent, cache_file.parent, create=False) is None:
        return {}
    data = read_or_none(cache_file)
    try:
        cached = json.loads(data) if data is not None else None
    except ValueError:
        return {}
    if not isinstance(cached, dict) or cached.get("version") != version:
        return {}
    entries = cached.get("entries")
    return entries if isinstance(entries, dict) else {}


def write(cache_file: Path, version: str, entries: dict[str, Any]) -> None:
    """Replace the cache with exactly `entries` (what this plan checked), atomically."""
    real_folder(cache_file.parent.parent, cache_file.parent, create=True)
    replace_file(cache_file, json.dumps({"version": version, "entries": entries}, separators=(",", ":")).encode())


def update(cache_file: Path | None, version: str, cached: dict[str, Any], current: dict[str, Any]) -> None:
    """Write `current` when it differs from what was read (new results, or entries no longer used)."""
    if cache_file is not None and current != cached:
        write(cache_file, version, current)
