"""The `agent-iam` command's exit codes: one home, so CI scripts and every subcommand agree.

0 clean; 1 an unexpected failure (a bug: the traceback is printed); 2 a config or usage error
(nothing written for that stack); 3 a plan is blocked (written, but a mandatory guardrail, a
blocking IAM finding or an invalid manifest stops it); 4 `diff` found widening.
"""

OK = 0
FAILED = 1
CONFIG_ERROR = 2
BLOCKED = 3
WIDENED = 4
