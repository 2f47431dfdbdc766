"""Validated scalar types for stack config: ARNs, IAM names and paths, account IDs.

Each type is an ``Annotated[str, AfterValidator(check)]`` over a check of `agent_iam.iam.checks`
(the one home of each rule, which the components run too), so pydantic runs the check while it
parses the stack file, and the error quotes the value it received.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from agent_iam.iam import arns, partitions

from agent_iam.iam.checks import (
    REGION_RE,
    check_account_id,
    check_eks_cluster_name,
    check_entry_name,
    check_oidc_issuer_url,
    check_oidc_provider_arn,
    check_path,
    check_policy_arn,
    check_region,
    check_role_arn,
)

# The keys the stack reads itself (names, accounts, clusters, boundaries); an entry's other keys are its
# component's Args, whose values the component checks.
AccountId = Annotated[str, AfterValidator(check_account_id)]
Region = Annotated[str, AfterValidator(check_region)]
EntryName = Annotated[str, AfterValidator(check_entry_name)]
IamPath = Annotated[str, AfterValidator(check_path)]
PolicyArn = Annotated[str, AfterValidator(check_policy_arn)]
RoleArn = Annotated[str, AfterValidator(check_role_arn)]
EksClusterName = Annotated[str, AfterValidator(check_eks_cluster_name)]
OidcIssuerUrl = Annotated[str, AfterValidator(check_oidc_issuer_url)]
OidcProviderArn = Annotated[str, AfterValidator(check_oidc_provider_arn)]


# Keys whose values may look like ARNs but are not sent to AWS (a kubeconfig context name).
NOT_ARNS = frozenset({"kubeContext", "kubeconfig"})


def partition_problems(values: Mapping[str, object], region: str) -> list[tuple[tuple[str | int, ...], str]]:
    """`(key path, message)` for every ARN, and every account region, outside the partition of the stack's
    region: IAM refuses a principal, resource or boundary of another partition, and no role can be
    assumed across partitions."""
    expected = partitions.partition_for_region(region)
    problems = []
    for loc, value in partitions.strings_in(dict(values), skip=NOT_ARNS):
        if len(loc) == 3 and loc[0] in ("accounts", "clusters") and loc[2] == "region":
            other = partitions.partition_for_region(value) if REGION_RE.fullmatch(value) else expected
            if other != expected:
                problems.append(
                    (loc, f"region {value} is in partition {other!r}, but the stack's region {region} is in {expected!r}; "
                     "one stack deploys into one partition")
                )
        elif (partition := arns.partition_of(value)) is not None:
            if partition != expected:
                problems.append(
                    (loc, f"{value!r} is an ARN of partition {partition!r}, but the stack's region {region} is in "
                     f"{expected!r}: write arn:{expected}:... (IAM refuses ARNs of another partition)")
                )
    return problems


def _flag(value: object) -> object:
    """true/false, or the text "true"/"false" (how the Pulumi CLI hands over a top-level value); not
    pydantic's lax 'yes', 'no', 'on', 'off', 'y', '1', '0', which YAML 1.2 and Pulumi read as text."""
    if isinstance(value, str):
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"must be true or false (got {value!r})")
    if isinstance(value, bool) or value is None:
        return value
    raise ValueError(f"must be true or false (got {value!r})")


Flag = Annotated[bool, BeforeValidator(_flag)]
