"""The agent-iam guardrails policy pack: `pulumi preview --policy-pack policy`.

Every policy is one rule of `guardrails/rules.py`, the module `make plan` runs, so a
security team and a reviewer see the same rule names and messages. Enforcement levels come
from the pack config (`--policy-pack-config build/prod/policy-pack-config.json`, written by
`agent-iam plan --stack prod` or `agent-iam pack-config --stack prod`); the pack's default is mandatory.
Constructing PolicyPack starts the analyzer server and never returns: nothing imports this file.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The bundled copy first (`make policy-bundle` puts agent_iam/guardrails/ next to this file for
# `pulumi policy publish`), then the repository the pack lives in.
for folder in (HERE, HERE.parent):
    if (folder / "agent_iam" / "guardrails" / "rules.py").is_file():
        sys.path.insert(0, str(folder))
        break

import pulumi_policy  # noqa: E402

from agent_iam.guardrails.pulumi_policy_adapter import PACK_NAME, build_policies  # noqa: E402

pulumi_policy.PolicyPack(
    PACK_NAME,
    policies=build_policies(pulumi_policy),
    enforcement_level=pulumi_policy.EnforcementLevel.MANDATORY,
)
