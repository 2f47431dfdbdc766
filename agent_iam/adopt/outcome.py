"""What became of each role of an export (`RoleOutcome`) and of the whole import (`Imported`): what
the stack file, the summary and the command's output say about them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .export import Export, ExportedRole
from .importfile import ImportFile
from .select import Choice

if TYPE_CHECKING:
    from agent_iam.plan.planner import StackPlan

IMPORTED, LEFT, REFUSED = "imported", "left out", "not imported"
IMPORT_FILE, SUMMARY_FILE = "import.json", "import.md"


@dataclass
class RoleOutcome:
    """What became of one role of the export."""

    role: ExportedRole
    status: str
    reason: str = ""
    choice: Choice | None = None
    proof: Any = None  # agent_iam.adopt.proof.Proof of the entry written

    @property
    def entry(self) -> dict[str, Any] | None:
        chosen = self.choice.chosen if self.choice else None
        return chosen.entry if chosen else None

    def considered(self) -> list[str]:
        """Why the entry is not the first way considered (a preset that is not the role, a provider's
        subject shape the role's subjects do not have)."""
        if self.choice is None or self.choice.index == 0 or not self.choice.problems:
            return []
        first = self.choice.candidates[0]
        what = f"preset {first.preset}" if first.preset else f"provider {first.entry.get('provider')}" \
            if "provider" in first.entry else "the first way"
        return [f"{what} was considered first: " + refusal(self.choice.problems, first.family)]

    def proven(self) -> list[str]:
        """The proof's verdict on the entry, with the request that shows any difference."""
        if self.proof is None:
            return []
        verdict = self.proof.verdict()
        if verdict == "equal":
            return ["proven equal to the role (permissions and trust, by the model of effective access)"]
        return [f"proof: {verdict}", *self.proof.lines()]


@dataclass
class Imported:
    stack: str
    export: Export
    region: str
    region_reason: str
    stack_file: Path
    folder: Path  # build/<stack>: the plan, import.json, import.md
    outcomes: list[RoleOutcome]
    plan: StackPlan
    imports: ImportFile
    written: list[Path] = field(default_factory=list)
    policy_files: list[Path] = field(default_factory=list)  # the documents the entries list as policyFiles

    @property
    def blocked(self) -> bool:
        return self.plan.blocked

    @property
    def import_file(self) -> Path:
        return self.folder / IMPORT_FILE

    @property
    def summary_file(self) -> Path:
        return self.folder / SUMMARY_FILE

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)



def refusal(lines: Sequence[str], family: str) -> str:
    """The stack config's refusal, without the stack file and entry prefix (`subjects[0]: ...`)."""
    out = []
    for line in lines:
        text = line.split(": ", 1)[1] if line.startswith(("stacks/", "Pulumi.")) or ".yaml: " in line.split(" ", 1)[0] else line
        text = re.sub(rf"^agent-iam:{family}\[\d+\]\.?", "", text)
        out.append(text.lstrip(": "))
    return "; ".join(dict.fromkeys(out))
