"""`python -m agent_iam.plan --stack dev`: the same as `agent-iam plan --stack dev`.

Kept as the single-stack entry every commit of the project has: `plan-all` runs one such process
per stack, and `agent-iam diff` plans an older commit through it. Exit codes as `agent-iam plan`:
0 written and clean, 2 config error (nothing written), 3 written but blocked.
"""

from __future__ import annotations

import sys

from agent_iam.cli import main as cli_main
from agent_iam.plan.runtime import exit_process


def main(argv: list[str] | None = None) -> int:
    return cli_main(["plan", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    exit_process(main())
