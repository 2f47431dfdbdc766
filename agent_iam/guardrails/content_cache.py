"""Check results kept by content between plans, so a re-plan checks only what changed.

One JSON file per stack and checker (`build/.cache/<checker>.<stack>.json`): `{"version",
"entries"}`, entries keyed by a hash of what was checked. The file is trusted only while the
checker's version string is the same (its library, its data, the checking module's own code),
and is replaced atomically, so parallel plans or an interrupted one never leave half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def content_key(*parts: Any) -> str:
    """A stable hash of JSON-able parts (mapping key order does not matter)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def module_fingerprint(module_file: str) -> str:
    """A short hash of a checker module's source: changing its settings invalidates its cache."""
    return hashlib.sha256(Path(module_file).read_bytes()).hexdigest()[:16]


def read(cache_file: Path | None, version: str) -> dict[str, Any]:
    """The cached entries, or none when there is no file, it is unreadable or another version wrote it."""
    if cache_file is None or not cache_file.is_file():
        return {}
    try:
        cached = json.loads(cache_file.read_text())
    except ValueError:
        return {}
    if not isinstance(cached, dict) or cached.get("version") != version:
        return {}
    entries = cached.get("entries")
    return entries if isinstance(entries, dict) else {}


def write(cache_file: Path, version: str, entries: dict[str, Any]) -> None:
    """Replace the cache with exactly `entries` (what this plan checked), atomically."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"version": version, "entries": entries}, separators=(",", ":")))
    os.replace(temporary, cache_file)


def update(cache_file: Path | None, version: str, cached: dict[str, Any], current: dict[str, Any]) -> None:
    """Write `current` when it differs from what was read (new results, or entries no longer used)."""
    if cache_file is not None and current != cached:
        write(cache_file, version, current)
