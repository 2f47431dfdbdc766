"""The benchmark's peer: AWS CDK's default `app.synth()` of the same roles (bench/cdk/app.js).

Node and the pinned `aws-cdk-lib` (bench/cdk/package.json and package-lock.json) are installed
by `make bench` into build/cdk-bench with `npm ci`; nothing else needs them. The roles are read
from the plan itself (`roles_spec`), so both tools build the same documents; `compare` then
checks every trust policy, inline policy and managed policy ARN of CDK's template against the
plan's, statement for statement, and names what differs by convention.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "cdk"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def node() -> str | None:
    return shutil.which("node")


def install(folder: Path) -> Path:
    """`npm ci` the pinned aws-cdk-lib into `folder` (once per lock file); app.js goes beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = (HERE / "package-lock.json").read_bytes()
    stamp = folder / ".installed"
    for name in ("package.json", "package-lock.json", "app.js"):
        shutil.copyfile(HERE / name, folder / name)
    if not stamp.exists() or stamp.read_bytes() != lock:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True)
        stamp.write_bytes(lock)
    return folder / "app.js"


def version(folder: Path) -> str:
    return json.loads((folder / "node_modules" / "aws-cdk-lib" / "package.json").read_text())["version"]


def roles_spec(plan: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    """Every role of a plan.json: name, path, trust, inline policies by name, managed policy ARNs."""
    roles: dict[str, dict[str, Any]] = {}
    for r in plan["resources"]:
        if r["type"] == ROLE:
            inputs = r["inputs"]
            roles[inputs["name"]] = {
                "name": inputs["name"],
                "path": inputs.get("path") or "/",
                "trust": json.loads(inputs["assumeRolePolicy"]),
                "inline": {},
                "managed": [],
            }
    for r in plan["resources"]:
        inputs = r["inputs"]
        if r["type"] == ROLE_POLICY:
            roles[inputs["role"]]["inline"][inputs["name"]] = json.loads(inputs["policy"])
        elif r["type"] == ATTACHMENT:
            roles[inputs["role"]]["managed"].append(inputs["policyArn"])
    return {"stack": "AgentIamBench", "account": account, "region": region, "roles": list(roles.values())}


def _scalar(value: Any) -> Any:
    """IAM's equivalences: a one-item list is its item; list order does not matter."""
    if isinstance(value, list):
        items = sorted((_scalar(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        return {k: _scalar(v) for k, v in sorted(value.items())}
    return value


def _statements(doc: dict[str, Any], drop_sid: bool) -> list[str]:
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    out = []
    for s in statements:
        s = {k: v for k, v in s.items() if not (drop_sid and k == "Sid")}
        out.append(json.dumps(_scalar(s), sort_keys=True))
    return sorted(out)


def compare(spec: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    """CDK's template against the plan's documents: how many match statement for statement, and
    the differences each tool's conventions make (counted), with the first real mismatches."""
    cdk_roles = {
        res["Properties"]["RoleName"]: res["Properties"]
        for res in template.get("Resources", {}).values()
        if res.get("Type") == "AWS::IAM::Role"
    }
    documents = same = 0
    conventions: Counter = Counter()
    mismatches: list[str] = []
    for role in spec["roles"]:
        props = cdk_roles.get(role["name"])
        if props is None:
            mismatches.append(f"role {role['name']}: not in CDK's template")
            continue
        pairs = [("trust", role["trust"], props.get("AssumeRolePolicyDocument", {}))]
        cdk_inline = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
        pairs += [(f"inline {name}", doc, cdk_inline.get(name, {})) for name, doc in role["inline"].items()]
        for what, ours, theirs in pairs:
            documents += 1
            if _statements(ours, False) == _statements(theirs, False):
                same += 1
            elif _statements(ours, True) == _statements(theirs, True):
                same += 1
                conventions["trust statement Sid: agent-iam names each statement, CDK's assumedBy writes none"] += 1
            else:
                mismatches.append(f"role {role['name']} {what}: {_statements(ours, True)} != {_statements(theirs, True)}")
        documents += 1
        if sorted(role["managed"]) == sorted(props.get("ManagedPolicyArns", [])):
            same += 1
        else:
            mismatches.append(f"role {role['name']} managed policies: {role['managed']} != {props.get('ManagedPolicyArns')}")
        if role["inline"]:
            conventions["inline policies: RolePolicy resources in agent-iam, the Role's Policies property in CDK"] += 1
        if (role.get("path") or "/") != props.get("Path", "/"):
            mismatches.append(f"role {role['name']} path: {role.get('path')} != {props.get('Path')}")
    return {
        "roles": len(spec["roles"]),
        "documents": documents,
        "same_statements": same,
        "conventions": dict(conventions),
        "mismatches": mismatches[:5],
        "mismatch_count": len(mismatches),
    }


def template_of(outdir: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Every stack's resources of CDK's cloud assembly, as one template (app.js splits at 450 roles)."""
    resources: dict[str, Any] = {}
    for path in sorted(outdir.glob(f"{spec['stack']}*.template.json")):
        for logical, resource in json.loads(path.read_text()).get("Resources", {}).items():
            resources[f"{path.name}/{logical}"] = resource
    return {"Resources": resources}


def main(argv: list[str]) -> int:
    """`python -m bench.cdk spec PLAN.json ACCOUNT REGION SPEC.json` writes CDK's roles;
    `python -m bench.cdk compare SPEC.json CDK_OUTDIR` prints the document check as JSON."""
    if argv[:1] == ["spec"]:
        plan_file, account, region, out = argv[1:5]
        spec = roles_spec(json.loads(Path(plan_file).read_text()), account, region)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(spec))
        return 0
    if argv[:1] == ["compare"]:
        spec = json.loads(Path(argv[1]).read_text())
        print(json.dumps(compare(spec, template_of(Path(argv[2]), spec))))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
