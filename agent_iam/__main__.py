"""`python -m agent_iam ...`: the `agent-iam` command (see `agent_iam.cli`)."""

from agent_iam.cli import run

if __name__ == "__main__":
    run()
