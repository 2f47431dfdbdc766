"""The tag keys agent-iam sets on what it creates, and those it reads as reviewed exemptions: one home.

Keys that start with `agent-iam:` carry agent-iam's own meaning (a preset and its version, a
reviewed exemption from a guardrail rule); the rules and the access report read them.
"""

from __future__ import annotations

AGENT_IAM_PREFIX = "agent-iam:"

# On every role, policy and provider agent-iam creates (when the tags do not set the key).
MANAGED_BY_TAGS = {"managed-by": "agent-iam"}
STACK_TAG = "stack"  # the stack that created it (entries of a stack file)
OIDC_ISSUER_TAG = "oidc-issuer"  # an OIDC provider's issuer, cut to a tag value's length
EKS_CLUSTER_TAG = "eks-cluster"  # the EKS cluster whose OIDC provider it is

# On every role an entry with a preset creates: `<vendor>@<version>`.
PRESET_TAG = "agent-iam:preset"
# Reviewed exemptions: the value is the reason, never empty (guardrails.rules).
TRUST_EXEMPTION_TAG = "agent-iam:trust-exemption"  # another account trusted without a pinning condition
OIDC_SUB_WILDCARD_TAG = "agent-iam:oidc-sub-wildcard"  # `<issuer>:sub` matched with StringLike wildcards
