"""Where the Pulumi project the plan runs lives; no Pulumi import, so a cached re-plan stays light."""

from __future__ import annotations

from pathlib import Path


def find_project_dir(start: Path | None = None) -> Path:
    """The Pulumi project the plan runs: the nearest folder holding Pulumi.yaml, from the working directory up."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return here


PROJECT_DIR = find_project_dir()
PROGRAM = PROJECT_DIR / "__main__.py"
