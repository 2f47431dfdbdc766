"""The stack config schema: one pydantic model per config key, camelCase as in the stack files.

Every model forbids unknown keys, so a typo (`secretArn`, `ecsAgent`) is an error
naming the key, never a silently ignored setting.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from agent_iam import presets
from agent_iam.components.base import reserved_tag_problems
from agent_iam.components.oidc_providers import is_eks_issuer
from agent_iam.components.policies import oidc_issuer
from agent_iam.iam.limits import (
    DEFAULT_MANAGED_POLICIES_PER_ROLE,
    DEFAULT_ROLE_POLICIES_SIZE,
    DEFAULT_TRUST_POLICY_SIZE,
    MAX_MANAGED_POLICIES_PER_ROLE,
    MAX_TRUST_POLICY_SIZE,
    IamLimits,
)
from agent_iam.guardrails.acceptance import Key
from agent_iam.guardrails.rules import RULE_NAMES
from agent_iam.iam import managed_policies

from agent_iam.iam.policy_document import PolicyDocument
from .types import (
    Flag,
    AccountId,
    Annotations,
    EksClusterName,
    K8sObjectName,
    Namespace,
    OidcIssuerUrl,
    OidcProviderArn,
    ServiceAccountName,
    EntryName,
    ExternalId,
    IamPath,
    KmsKeyArn,
    PolicyArn,
    PrincipalArn,
    PrincipalArnPattern,
    Region,
    RoleArn,
    RoleName,
    S3Location,
    SecretArn,
)
from agent_iam.iam.arns import account_of
from agent_iam.iam.checks import MAX_SESSION, MIN_SESSION, check_tags, issuer_of_provider_arn


def check_known_managed_policy(value: str) -> str:
    """An AWS managed policy ARN must name a policy that exists (IAM refuses the attachment at
    `pulumi up` otherwise); customer managed policies cannot be checked offline."""
    if managed_policies.is_aws_managed(value) and not managed_policies.exists(value):
        hint = managed_policies.suggestion(value)
        raise ValueError(
            f"{value!r} is not an AWS managed policy"
            + (f"; did you mean {hint!r}?" if hint else f" (checked against {managed_policies.source()})")
        )
    return value


# A managed policy ARN: well formed, and when it is AWS's, one that exists.
ManagedPolicyArn = Annotated[PolicyArn, AfterValidator(check_known_managed_policy)]



class KeyedError(ValueError):
    """A model-level error that belongs to one of the model's keys (e.g. `name`)."""

    def __init__(self, key: str | tuple[str | int, ...], message: str):
        super().__init__(message)
        self.key = (key,) if isinstance(key, str) else key


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


class Limits(ConfigModel):
    """IAM quotas of the account, when it has had them raised."""

    trust_policy_size: int = Field(DEFAULT_TRUST_POLICY_SIZE, ge=1, le=MAX_TRUST_POLICY_SIZE)
    role_policies_size: int = Field(DEFAULT_ROLE_POLICIES_SIZE, ge=1, le=DEFAULT_ROLE_POLICIES_SIZE)
    managed_policies_per_role: int = Field(DEFAULT_MANAGED_POLICIES_PER_ROLE, ge=1, le=MAX_MANAGED_POLICIES_PER_ROLE)

    def to_iam_limits(self) -> IamLimits:
        return IamLimits(self.trust_policy_size, self.role_policies_size, self.managed_policies_per_role)


class RoleOptions(ConfigModel):
    """Settings every entry may set, overriding `defaults`."""

    path: IamPath | None = None
    permissions_boundary_arn: ManagedPolicyArn | None = None
    tags: dict[str, str] | None = None
    max_session_duration: int | None = Field(None, ge=MIN_SESSION, le=MAX_SESSION)
    protect: Flag | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        """Each map on its own, leaving room for `managed-by` and `stack`, without agent-iam's own keys
        (named where they are set); the merged tags of every role are checked again where the role is built."""
        for problem in reserved_tag_problems(tags):
            raise KeyedError(tuple(problem.field.split(".", 1)[1:]), problem.message)
        return None if tags is None else check_tags(tags, reserved=2)


class Defaults(RoleOptions):
    """`agent-iam:defaults`: stack-wide settings."""

    limits: Limits = Limits()


class Guardrails(ConfigModel):
    """`agent-iam:guardrails`: how strictly the plan enforces the guardrail rules (docs/guardrails.md)."""

    enforcement: Literal["advisory", "mandatory"] = "mandatory"
    rules: dict[str, Literal["advisory", "mandatory", "disabled"]] = {}
    # Boundaries an entry may set instead of defaults.permissionsBoundaryArn (each reviewed).
    permissions_boundaries: list[ManagedPolicyArn] = []
    # False: no entry may accept a finding (`acceptedFindings`); the stack takes no exceptions.
    allow_accepted_findings: Flag = True

    @model_validator(mode="after")
    def _known_rules(self) -> Guardrails:
        for name in self.rules:
            if name not in RULE_NAMES:
                hint = difflib.get_close_matches(name, RULE_NAMES, n=1)
                raise KeyedError(
                    ("rules", name),
                    "unknown rule" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" (rules: {', '.join(RULE_NAMES)})",
                )
        return self


class Account(ConfigModel):
    """`agent-iam:accounts.<name>`: another account the stack deploys into, through a role."""

    role_arn: RoleArn
    region: Region

    @property
    def account_id(self) -> str:
        return account_of(self.role_arn)


class AcceptedFinding(ConfigModel):
    """`acceptedFindings[]`: one finding accepted after review, at one place of the entry's own roles,
    in the shape the plan prints as `acceptAs` (docs/guardrails.md; `guardrails/acceptance.py`):
    `check` (a guardrail rule, a validator or peer-scanner check) and where: `sid`, or `document` with
    `statement` (1-based) or `statements`, or `document` alone (a whole AWS managed policy), and `role`
    when the entry makes several roles."""

    check: str = Field(min_length=1)
    role: str | None = Field(None, min_length=1)
    document: str | None = Field(None, min_length=1)
    sid: str | None = Field(None, min_length=1)
    statement: StrictInt | None = Field(None, ge=1)
    statements: list[StrictInt | StrictStr] = []
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if len(value.strip()) < 10:
            raise ValueError("say why the finding is accepted (at least 10 characters): a reviewer reads it in the plan")
        return value.strip()

    @model_validator(mode="after")
    def _one_place(self) -> AcceptedFinding:
        problem = self.key.problem()
        if problem:
            raise ValueError(problem)
        return self

    @property
    def key(self) -> Key:
        return Key(self.check, self.role, self.document, self.sid, self.statement, tuple(self.statements))


class Entry(RoleOptions):
    """Fields every component entry has."""

    name: EntryName
    account: str | None = None
    former_names: list[EntryName] = []
    accepted_findings: list[AcceptedFinding] = []

    @field_validator("accepted_findings")
    @classmethod
    def _one_acceptance_per_finding(cls, value: list[AcceptedFinding]) -> list[AcceptedFinding]:
        seen: set[tuple[Any, ...]] = set()
        for index, accepted in enumerate(value):
            if accepted.key.identity() in seen:
                raise KeyedError((index,), f"accepts {accepted.key.text()} twice")
            seen.add(accepted.key.identity())
        return value


class AgentSecrets(ConfigModel):
    """`secretArns` / `kmsKeyArns`: the secrets an agent reads, for ECS and EC2 alike."""

    secret_arns: list[SecretArn] = []
    allow_all_secrets: Flag = False
    kms_key_arns: list[KmsKeyArn] = []


class InlinePolicy(ConfigModel):
    """`policy`: an identity policy for anything the generated statements do not cover."""

    policy: PolicyDocument | None = None
    allow_wildcard_resources: Flag = False


class EcsAgent(Entry, InlinePolicy, AgentSecrets):
    """`agent-iam:ecsAgents[]`: one agent running as an ECS task."""

    preset: str | None = None  # docs/presets.md: the vendor's documented settings as defaults
    task_role_name: RoleName | None = None
    execution_role_name: RoleName | None = None
    trust_ec2: Flag = False
    confused_deputy_conditions: Flag = True
    source_account_condition: Flag = False
    task_role_policy_arns: list[ManagedPolicyArn] = []


class Ec2Agent(Entry, InlinePolicy, AgentSecrets):
    """`agent-iam:ec2Agents[]`: one agent on EC2 instances, with an instance profile."""

    role_name: RoleName | None = None
    confused_deputy_conditions: Flag | None = None  # replaced by sourceAccountCondition (see _check)
    source_account_condition: Flag = False
    policy_arns: list[ManagedPolicyArn] = []
    ssm: Flag = False

    @model_validator(mode="after")
    def _check(self) -> Ec2Agent:
        if self.confused_deputy_conditions is not None:
            raise KeyedError(
                "confusedDeputyConditions",
                "AWS documents the EC2 trust without aws:SourceAccount/aws:SourceArn, and agent-iam no longer adds "
                "them by default (a condition EC2 does not send would keep the instance from getting credentials); "
                "remove this key, or set sourceAccountCondition: true to pin aws:SourceAccount anyway",
            )
        return self


class Vendor(ConfigModel):
    """`vendor`: who assumes a SaaS role: one of the vendor's roles, or its whole account."""

    principal_arn: PrincipalArn | None = None
    account_id: AccountId | None = None
    principal_arn_patterns: list[PrincipalArnPattern] = []

    @model_validator(mode="after")
    def _check(self) -> Vendor:
        if (self.principal_arn is None) == (self.account_id is None):
            raise ValueError("set exactly one of principalArn (the vendor's role or account root) or accountId")
        return self

    @property
    def account(self) -> str:
        return self.account_id or account_of(self.principal_arn or "")

    @property
    def whole_account(self) -> bool:
        return self.account_id is not None or (self.principal_arn or "").endswith(":root")

    @property
    def key(self) -> str:
        return "accountId" if self.account_id is not None else "principalArn"


class VendorPermissions(InlinePolicy):
    """`s3Read`, `s3Write`, `kmsKeyArns`, `policyArns`, `policy`: what a role may do, for SaaS roles
    and service-account roles alike (one inline document, built by `policies.permissions_document`)."""

    s3_read: list[S3Location] = []
    s3_write: list[S3Location] = []
    kms_key_arns: list[KmsKeyArn] = []
    policy_arns: list[ManagedPolicyArn] = []


class SaasRole(Entry, VendorPermissions):
    """`agent-iam:saasRoles[]`: one vendor's cross-account access."""

    vendor: Vendor | None = None  # required, unless a preset names the vendor's account
    external_id: ExternalId | None = None
    allow_unconditioned_account_trust: Flag = False
    role_name: RoleName | None = None
    customer_managed_policy: Flag | None = None
    # A vendor preset (docs/presets.md): the vendor's documented principal and statements.
    preset: str | None = None
    preset_version: str | None = None  # pin: the plan fails when the shipped preset is another version
    without_actions: list[str] = []  # narrow the preset: drop these of its actions
    without_statements: list[str] = []  # narrow the preset: drop these of its statements (by Sid)

    @model_validator(mode="after")
    def _vendor(self) -> SaasRole:
        if self.vendor is None and self.preset is None:
            raise KeyedError("vendor", "required, but not set")
        return self


class Cluster(ConfigModel):
    """`agent-iam:clusters.<key>`: an EKS cluster whose service accounts get roles.

    IRSA needs the cluster's OIDC issuer (`oidcIssuerUrl`, or an existing provider's ARN);
    Pod Identity needs only the cluster's `name` and account.
    """

    name: EksClusterName | None = None  # the EKS cluster name; default: the key
    account: str | None = None  # the account the cluster runs in; default: the stack's
    oidc_issuer_url: OidcIssuerUrl | None = None
    oidc_provider_arn: OidcProviderArn | None = None  # an existing provider in the cluster's account
    oidc_provider_arns: dict[str, OidcProviderArn] = {}  # existing providers in other accounts, by account name
    register_oidc_provider: Flag = False  # create the provider in the cluster's own account too
    kubeconfig: str | None = None  # kubeconfig contents (a secure value) for the Kubernetes provider
    kube_context: str | None = None  # a context of the kubeconfig (ambient when no kubeconfig)

    @model_validator(mode="after")
    def _check(self) -> Cluster:
        if self.issuer and not is_eks_issuer(self.issuer):
            key = "oidcIssuerUrl" if self.oidc_issuer_url else "oidcProviderArn" if self.oidc_provider_arn else "oidcProviderArns"
            raise KeyedError(
                key,
                f"{self.issuer!r} is not an EKS cluster's OIDC issuer (oidc.eks.<region>.amazonaws.com/id/<ID>, from "
                "`aws eks describe-cluster`); roles for CI and deploy pipelines (GitHub Actions, GitLab CI, HCP "
                "Terraform, any other issuer) are agent-iam:oidcRoles entries (docs/oidc-roles.md)",
            )
        issuer = oidc_issuer(self.oidc_issuer_url) if self.oidc_issuer_url else None
        arns = [("oidcProviderArn", self.oidc_provider_arn)] if self.oidc_provider_arn else []
        arns += [(("oidcProviderArns", key), arn) for key, arn in self.oidc_provider_arns.items()]
        for key, arn in arns:
            named = issuer_of_provider_arn(arn)
            if issuer is None:
                issuer = named
            elif named != issuer:
                raise KeyedError(key, f"is the provider of issuer {named!r}, not of this cluster's {issuer!r}")
        if self.register_oidc_provider:
            if self.oidc_provider_arn:
                raise KeyedError(
                    "registerOidcProvider",
                    "oidcProviderArn already names the provider in the cluster's account; keep one",
                )
            if not self.oidc_issuer_url:
                raise KeyedError("registerOidcProvider", "needs oidcIssuerUrl, the URL to register")
        return self

    @property
    def issuer(self) -> str | None:
        """The issuer without `https://` (as in provider ARNs and condition keys), if known."""
        if self.oidc_issuer_url:
            return oidc_issuer(self.oidc_issuer_url)
        for arn in [self.oidc_provider_arn, *self.oidc_provider_arns.values()]:
            if arn:
                return issuer_of_provider_arn(arn)
        return None


class ServiceAccountSubject(ConfigModel):
    """One more service account an IRSA role trusts (`subjects[]`)."""

    cluster: str
    namespace: Namespace
    service_account: ServiceAccountName


class SecretRef(ConfigModel):
    """`secret`: a Kubernetes Secret with `AWS_REGION` and `AWS_ROLE_ARN` (the Causely guide's `aws-secret`)."""

    name: K8sObjectName
    namespace: Namespace | None = None  # default: the entry's namespace


class ServiceAccount(Entry, VendorPermissions):
    """`agent-iam:serviceAccounts[]`: a role for a Kubernetes service account on EKS (IRSA or Pod Identity)."""

    preset: str | None = None  # docs/presets.md: the vendor's documented settings as defaults
    mode: Literal["irsa", "pod-identity"]
    cluster: str
    namespace: Namespace | None = None  # required (a preset may fill it)
    service_account: ServiceAccountName | None = None  # required (a preset may fill it)
    subjects: list[ServiceAccountSubject] = []
    allow_wildcard_subject: Flag = False
    session_tag_conditions: Flag | None = None
    source_account_condition: Flag | None = None
    role_name: RoleName | None = None
    source_role_name: RoleName | None = None
    # Cross-account Pod Identity: the boundary of the role created in the cluster's account.
    source_role_permissions_boundary_arn: PolicyArn | None = None
    create_service_account: Flag = True
    role_arn_annotation: Flag | None = None
    service_account_annotations: Annotations = {}
    secret: SecretRef | None = None

    def clusters(self) -> list[tuple[tuple[str | int, ...], str]]:
        """`(key prefix, cluster)` of the entry and of each of its `subjects`."""
        return [((), self.cluster)] + [(("subjects", i), s.cluster) for i, s in enumerate(self.subjects)]


class OidcRole(Entry, VendorPermissions):
    """`agent-iam:oidcRoles[]`: a role CI/deploy pipelines assume with OIDC tokens (docs/oidc-roles.md).

    Keys translate one to one into `OidcRoleArgs`; the component's own checks (`check_args`)
    judge them, so a program and a stack file get the same rules and messages.
    """

    provider: Literal["github", "gitlab", "terraform-cloud", "generic"]
    issuer_url: str | None = None
    audience: str | None = None
    subjects: list[str] = []
    allow_wildcard_subject: Flag = False
    repository: str | None = None
    branches: list[str] = []
    git_tags: list[str] = []  # `tags` are the role's resource tags, as on every entry
    environments: list[str] = []
    pull_requests: Flag = False
    repository_id: str | None = None  # YAML may write it as a number
    workflow_refs: list[str] = []
    workflow_file: str | None = None
    project_path: str | None = None
    organization: str | None = None
    project: str | None = None  # the component's default: `Default Project`
    workspaces: list[str] = []
    run_phases: list[str] | None = None  # the component's default: plan and apply
    oidc_provider_arn: OidcProviderArn | None = None
    role_name: RoleName | None = None

    @field_validator("repository_id", mode="before")
    @classmethod
    def _numeric_id(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"is the repository's numeric ID, not {value!r}")
        return str(value) if isinstance(value, int) else value


class StackConfig(ConfigModel):
    """Every `agent-iam:*` key of a stack file."""

    account_id: AccountId
    defaults: Defaults = Defaults()
    guardrails: Guardrails = Guardrails()
    accounts: dict[EntryName, Account] = {}
    ecs_agents: list[EcsAgent] = []
    ec2_agents: list[Ec2Agent] = []
    saas_roles: list[SaasRole] = []
    clusters: dict[EntryName, Cluster] = {}
    service_accounts: list[ServiceAccount] = []
    oidc_roles: list[OidcRole] = []

    @model_validator(mode="after")
    def _check_references(self) -> StackConfig:
        self._check_clusters()
        self._check_acceptances()
        for family in ("ecs_agents", "ec2_agents", "saas_roles", "service_accounts", "oidc_roles"):
            entries = getattr(self, family)
            key = to_camel(family)
            seen: set[str] = set()
            for index, entry in enumerate(entries):
                if entry.name in seen:
                    raise KeyedError((key, index, "name"), f"another entry is already named {entry.name!r}")
                seen.add(entry.name)
                if entry.account is not None and entry.account not in self.accounts:
                    known = ", ".join(sorted(self.accounts)) or "none are defined in agent-iam:accounts"
                    raise KeyedError(
                        (key, index, "account"), f"unknown account {entry.account!r} (known: {known})"
                    )
        for index, entry in enumerate(self.service_accounts):
            for prefix, cluster in entry.clusters():
                if cluster not in self.clusters:
                    known = ", ".join(sorted(self.clusters)) or "none are defined in agent-iam:clusters"
                    raise KeyedError(
                        ("serviceAccounts", index, *prefix, "cluster"), f"unknown cluster {cluster!r} (known: {known})"
                    )
        return self

    def _check_acceptances(self) -> None:
        if self.guardrails.allow_accepted_findings:
            return
        for family in ("ecs_agents", "ec2_agents", "saas_roles", "service_accounts", "oidc_roles"):
            for index, entry in enumerate(getattr(self, family)):
                if entry.accepted_findings:
                    raise KeyedError(
                        (to_camel(family), index, "acceptedFindings"),
                        "this stack takes no exceptions (agent-iam:guardrails.allowAcceptedFindings: false); "
                        "change the policy so the finding goes away",
                    )
                preset = getattr(entry, "preset", None)
                if preset and presets.load(preset).accepted_findings:
                    raise KeyedError(
                        (to_camel(family), index, "preset"),
                        f"preset {preset} carries reviewed acceptances of the vendor's documented policy, and this "
                        "stack takes no exceptions (agent-iam:guardrails.allowAcceptedFindings: false); write the "
                        "entry without the preset, narrower than the vendor documents",
                    )

    def account_id_of(self, account: str | None) -> str:
        """The ID of an `accounts` entry, or of the stack's own account (None)."""
        return self.account_id if account is None else self.accounts[account].account_id

    def _check_clusters(self) -> None:
        known = ", ".join(sorted(self.accounts)) or "none are defined in agent-iam:accounts"
        issuers: dict[str, str] = {}
        for key, cluster in self.clusters.items():
            if cluster.issuer and issuers.setdefault(cluster.issuer, key) != key:
                raise KeyedError(
                    ("clusters", key), f"has the same OIDC issuer as cluster {issuers[cluster.issuer]!r}; list it once"
                )
            if cluster.account is not None and cluster.account not in self.accounts:
                raise KeyedError(("clusters", key, "account"), f"unknown account {cluster.account!r} (known: {known})")
            own = self.account_id_of(cluster.account)
            if cluster.oidc_provider_arn and account_of(cluster.oidc_provider_arn) != own:
                raise KeyedError(
                    ("clusters", key, "oidcProviderArn"),
                    f"is in account {account_of(cluster.oidc_provider_arn)}, not the cluster's account {own} "
                    "(providers in other accounts go in oidcProviderArns)",
                )
            for account, arn in cluster.oidc_provider_arns.items():
                if account not in self.accounts:
                    raise KeyedError(
                        ("clusters", key, "oidcProviderArns", account), f"unknown account {account!r} (known: {known})"
                    )
                if account_of(arn) != self.accounts[account].account_id:
                    raise KeyedError(
                        ("clusters", key, "oidcProviderArns", account),
                        f"is in account {account_of(arn)}, not {account}'s {self.accounts[account].account_id}",
                    )
