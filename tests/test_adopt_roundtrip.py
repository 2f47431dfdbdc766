"""What agent-iam made, exported as IAM holds it and imported again: every resource is adopted by
`pulumi import --file` and nothing is left for `pulumi up` to change (no create, no update, nothing
left behind), and every entry is proven equal to its role.

The export is built from the first plan's resources, as `aws iam get-account-authorization-details`
(with `get-role`'s description and session merged in) shows them; two plans, shared by the module.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_iam.adopt.run import IMPORTED, import_account
from agent_iam.iam.resource_types import POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT
from agent_iam.plan.planner import plan_stack

ACCOUNT = "111122223333"
STACK = "roundtrip"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/E4A17C2B9D5F30864B1E7A2C6D9F0B35"
STACK_FILE = f"""config:
  aws:region: eu-west-1
  agent-iam:accountId: "{ACCOUNT}"
  agent-iam:defaults:
    path: /agents/
    tags:
      team: data
  agent-iam:saasRoles:
    - name: upsolver-connection
      vendor:
        principalArn: arn:aws:iam::949275490180:role/upsolver-org-acme
      externalId: acme-4f8b2c1d-93e7
      customerManagedPolicy: true
      s3Read: [acme-lake/raw]
    - name: bulk-reader
      vendor:
        accountId: "956993596390"
      externalId: bulk-8c1d
      policyFiles: [vendor/BulkA.json, vendor/BulkB.json]
    - name: qwak-access-role
      vendor:
        accountId: "377488441568"
        principalArnPatterns: [arn:aws:iam::377488441568:role/qwak-eks-base*]
      s3Read: [acme-ml-training]
  agent-iam:oidcRoles:
    - name: app-deploy
      provider: github
      repository: acme/app
      environments: [prod]
      repositoryId: 702146185
      workflowRefs: [acme/app/.github/workflows/deploy.yml@refs/heads/main]
      s3Write: [acme-artifacts/app]
  agent-iam:clusters:
    platform:
      oidcProviderArn: arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}
  agent-iam:serviceAccounts:
    - name: lb-controller
      mode: irsa
      cluster: platform
      namespace: kube-system
      serviceAccount: aws-load-balancer-controller
      createServiceAccount: false
      policyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
"""

# Two documents of about 5,900 characters each: the first fits inline, the second goes to the customer managed
# policy bulk-reader-BulkB (the role's inline total would pass 10,240).
BULK = {
    name: {"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
                                                   "Resource": [f"arn:aws:s3:::acme-bulk-{letter}-{i:03d}/*" for i in range(170)]}]}
    for name, letter in (("BulkA", "a"), ("BulkB", "b"))
}


def export_of(plan: dict[str, Any]) -> dict[str, Any]:
    """The account's IAM as the export shows the roles, policies and attachments the plan creates."""
    resources = [r for r in plan["resources"] if r["type"] in (ROLE, ROLE_POLICY, POLICY, ROLE_POLICY_ATTACHMENT)]
    policies = [{"PolicyName": r["inputs"]["name"], "Path": r["inputs"]["path"], "DefaultVersionId": "v1",
                 "Arn": f"arn:aws:iam::{ACCOUNT}:policy{r['inputs']['path']}{r['inputs']['name']}",
                 "PolicyVersionList": [{"Document": json.loads(r["inputs"]["policy"]), "VersionId": "v1", "IsDefaultVersion": True}]}
                for r in resources if r["type"] == POLICY]
    roles = []
    for role in (r for r in resources if r["type"] == ROLE):
        inputs, name = role["inputs"], role["inputs"]["name"]
        roles.append({
            "Path": inputs["path"], "RoleName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role{inputs['path']}{name}",
            "CreateDate": "2025-01-02T03:04:05+00:00", "AssumeRolePolicyDocument": json.loads(inputs["assumeRolePolicy"]),
            "RolePolicyList": [{"PolicyName": r["inputs"]["name"], "PolicyDocument": json.loads(r["inputs"]["policy"])}
                               for r in resources if r["type"] == ROLE_POLICY and r["inputs"]["role"] == name],
            "AttachedManagedPolicies": [{"PolicyName": r["inputs"]["policyArn"].rsplit("/", 1)[-1], "PolicyArn": r["inputs"]["policyArn"]}
                                        for r in resources if r["type"] == ROLE_POLICY_ATTACHMENT and r["inputs"]["role"] == name],
            "Tags": [{"Key": k, "Value": v} for k, v in inputs["tags"].items()],
            "Description": inputs["description"], "MaxSessionDuration": int(inputs.get("maxSessionDuration", 3600)),
            "RoleLastUsed": {},
        })
    return {"RoleDetailList": roles, "Policies": policies}


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    first = tmp_path_factory.mktemp("made")
    (first / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE)
    (first / "vendor").mkdir()
    for name, document in BULK.items():
        (first / "vendor" / f"{name}.json").write_text(json.dumps(document, indent=2))
    made = plan_stack(first, STACK, first / "build")
    assert not isinstance(made, int)
    plan = json.loads(made.files["plan.json"])
    source = first / "account.json"
    source.write_text(json.dumps(export_of(plan)))
    again = tmp_path_factory.mktemp("imported")
    result = import_account(source, STACK, again, again / "build", out=again)
    return {"plan": plan, "result": result, "imports": json.loads(result.import_file.read_text()),
            "again": json.loads((again / "build" / STACK / "plan.json").read_text())}


def test_every_role_is_imported_and_proven_equal(roundtrip):
    result = roundtrip["result"]
    assert sorted(o.role.name for o in result.outcomes if o.status == IMPORTED) == [
        "app-deploy", "bulk-reader", "lb-controller", "qwak-access-role", "upsolver-connection"]
    assert {o.role.name: o.proof.verdict() for o in result.outcomes} == {
        "app-deploy": "equal", "bulk-reader": "equal", "lb-controller": "equal", "qwak-access-role": "equal",
        "upsolver-connection": "equal"}


def test_the_imported_stack_is_judged_as_the_one_that_made_the_roles(roundtrip):
    def findings(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
        return sorted((f["check"], f["document"], f["message"]) for f in plan["iamFindings"])

    assert findings(roundtrip["again"]) == findings(roundtrip["plan"])
    assert roundtrip["again"]["violations"] == roundtrip["plan"]["violations"]


def test_pulumi_import_adopts_every_resource_and_pulumi_up_has_nothing_left_to_do(roundtrip):
    result = roundtrip["result"]
    for name, report in result.imports.roles.items():
        assert (report.created, report.changes, report.left) == ([], [], []), name
    ids = sorted(r["id"] for r in roundtrip["imports"]["resources"] if "id" in r)
    assert ids == sorted([
        "app-deploy", "app-deploy:workload-access",
        "bulk-reader", "bulk-reader:BulkA", f"arn:aws:iam::{ACCOUNT}:policy/agents/bulk-reader-BulkB",
        f"bulk-reader/arn:aws:iam::{ACCOUNT}:policy/agents/bulk-reader-BulkB",
        "lb-controller", "lb-controller/arn:aws:iam::aws:policy/ReadOnlyAccess",
        "qwak-access-role", "qwak-access-role:vendor-access",
        "upsolver-connection", f"arn:aws:iam::{ACCOUNT}:policy/agents/upsolver-connection-vendor-access",
        f"upsolver-connection/arn:aws:iam::{ACCOUNT}:policy/agents/upsolver-connection-vendor-access",
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
    ])


def test_the_imported_entries_write_what_was_there(roundtrip):
    from agent_iam.plan.stackfile import read_stack_file

    stack_file = roundtrip["result"].stack_file
    config, _ = read_stack_file(stack_file.parent, STACK)
    entries = {e["name"]: e for key, family in config.items() if isinstance(family, list) for e in family}
    assert entries["upsolver-connection"]["customerManagedPolicy"] is True  # the role's own managed policy again
    # The vendor's two documents, one inline and one placed in bulk-reader-BulkB, are its two files again, as IAM holds them.
    folder = stack_file.parent
    assert entries["bulk-reader"]["policyFiles"] == ["policies/roundtrip/bulk-reader/BulkA.json",
                                                     "policies/roundtrip/bulk-reader/BulkB.json"]
    assert [json.loads((folder / p).read_text()) for p in entries["bulk-reader"]["policyFiles"]] == list(BULK.values())
    placed = {(d["document"], d["placed"], d["policy"]) for d in roundtrip["again"]["policyDocuments"] if d["role"] == "bulk-reader"}
    assert placed == {("BulkA", "inline", "BulkA"), ("BulkB", "customer managed", "bulk-reader-BulkB")}
    # agent-iam's own tags (managed-by, stack) are not written: it sets them; the team's tag is kept.
    assert {name: e.get("tags") for name, e in entries.items()} == {name: {"team": "data"} for name in entries}
    assert {e["path"] for e in entries.values()} == {"/agents/"}
    assert config["agent-iam:clusters"] == {"platform": {"oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"}}
