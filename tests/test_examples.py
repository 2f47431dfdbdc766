"""The examples run as written, under Pulumi's mocks, and produce what their docs say."""

from __future__ import annotations

import json
import runpy

from conftest import ACCOUNT, REGION, ROOT, run_components

EXAMPLE = ROOT / "examples" / "python-own-program" / "__main__.py"


def test_own_program_example_scopes_the_agent_to_its_secret_and_trusts_the_vendor():
    run, _ = run_components(lambda: runpy.run_path(str(EXAMPLE), run_name="__main__"))
    secret_arn = run.named("aws:secretsmanager/secret:Secret", "agent-key").outputs["arn"]
    assert secret_arn.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:superblocks/agent-key-")
    policy = json.loads(run.named("aws:iam/rolePolicy:RolePolicy", "superblocks-agent-execution-agent-secrets").inputs["policy"])
    assert policy["Statement"] == [
        {"Sid": "ReadAgentSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
    ]
    task_trust = json.loads(run.named("aws:iam/role:Role", "superblocks-agent-task").inputs["assumeRolePolicy"])
    assert task_trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    vendor_trust = json.loads(run.named("aws:iam/role:Role", "upsolver-role").inputs["assumeRolePolicy"])
    assert vendor_trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "acme-4f8b2c1d-93e7"}}
    vendor_policy = json.loads(run.named("aws:iam/rolePolicy:RolePolicy", "upsolver-role-vendor-access").inputs["policy"])
    assert vendor_policy["Statement"][-1] == {
        "Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-data-lake/exports/*"
    }
