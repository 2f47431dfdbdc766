"""Turn a validated stack config into typed component arguments, and check IAM limits.

The result is everything `__main__.py` needs: which accounts to build providers for,
and for each entry the component to register, its target account and its arguments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam import presets
from agent_iam.iam import arns
from agent_iam.components import policies
from agent_iam.components.role import IamLimits
from agent_iam.guardrails import rules as guardrail_rules
from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfileArgs
from agent_iam.components.ecs_agent_roles import EcsAgentRolesArgs
from agent_iam.components.oidc_provider_registration import OidcProviderRegistrationArgs
from agent_iam.components import oidc_providers as oidc_known
from agent_iam.components.oidc_role import OidcRoleArgs, check_args as check_oidc_role_args
from agent_iam.components.role import RoleDocuments, RoleSpec
from agent_iam.components.saas_access_role import SaasAccessRoleArgs
from agent_iam.components.service_account_role import IrsaCluster, KubernetesObject, PodIdentity, ServiceAccountRoleArgs

from pydantic.alias_generators import to_camel

from .errors import ConfigError, key_path
from .models import (
    Account,
    AgentSecrets,
    Defaults,
    Ec2Agent,
    EcsAgent,
    Entry,
    Cluster,
    Guardrails,
    InlinePolicy,
    OidcRole,
    SaasRole,
    ServiceAccount,
    StackConfig,
    VendorPermissions,
)
from .types import REDACTED, has_wildcard, issuer_of_provider_arn, s3_location

NAMESPACE = "agent-iam"
MANAGED_BY_TAGS = {"managed-by": "agent-iam"}


@dataclass(frozen=True)
class Target:
    """The account (and region) an entry's resources are created in."""

    account_key: str | None  # None: the stack's own account
    account_id: str
    region: str


@dataclass(frozen=True)
class Unit:
    """One component to register: its config key, logical name, target and arguments."""

    key: str  # e.g. "agent-iam:ecsAgents[0]"
    name: str
    target: Target
    args: Any
    former_names: tuple[str, ...] = ()
    cluster: str | None = None  # serviceAccounts: the entry's cluster (Pod Identity association, Secret)

    def roles(self) -> Mapping[str, tuple[RoleSpec, RoleDocuments]]:
        """Every role this unit creates, by a label used in messages."""
        return self.args.roles() if hasattr(self.args, "roles") else {}

    def role_account(self, label: str) -> str:
        """The account a role of `roles()` is created in (the target's, unless the args say otherwise)."""
        accounts = self.args.role_accounts() if hasattr(self.args, "role_accounts") else {}
        return accounts.get(label, self.target.account_id)


@dataclass(frozen=True)
class OidcRegistration:
    """One OIDC issuer's provider to register in one account (shared by every role there)."""

    key: str  # the first config entry that needs it
    cluster: str | None  # the EKS cluster key (IRSA); None for oidcRoles issuers
    name: str  # <cluster>-oidc-<account id>, or oidc-<issuer>-<account id>
    target: Target
    args: OidcProviderRegistrationArgs
    issuer: str = ""  # host/path, as in provider ARNs


@dataclass(frozen=True)
class StackSettings:
    stack: str
    source: str
    account_id: str
    region: str
    accounts: Mapping[str, Account]
    ecs_agents: Sequence[Unit] = ()
    ec2_agents: Sequence[Unit] = ()
    saas_roles: Sequence[Unit] = ()
    service_accounts: Sequence[Unit] = ()
    oidc_roles: Sequence[Unit] = ()
    clusters: Mapping[str, Cluster] = field(default_factory=dict)
    oidc_providers: Sequence[OidcRegistration] = ()
    kubernetes_clusters: Sequence[str] = ()  # clusters agent-iam creates Kubernetes objects in
    advisories: Sequence[str] = field(default_factory=tuple)
    secret_keys: frozenset[str] = frozenset()
    guardrails: Guardrails = Guardrails()
    limits: IamLimits = IamLimits()
    # The stack's permissions boundary and any an entry sets instead; empty: the stack sets none.
    boundary_arns: tuple[str, ...] = ()

    def units(self) -> list[Unit]:
        return [*self.ecs_agents, *self.ec2_agents, *self.saas_roles, *self.service_accounts, *self.oidc_roles]

    def guardrail_context(self) -> guardrail_rules.Context:
        """What the guardrail rules need to judge this stack's resources, at its enforcement levels."""
        return guardrail_rules.Context(
            account_id=self.account_id,
            boundary_arns=self.boundary_arns,
            limits=guardrail_rules.Limits(
                trust_policy_size=self.limits.trust_policy_size,
                role_policies_size=self.limits.role_policies_size,
                managed_policies_per_role=self.limits.managed_policies_per_role,
            ),
            enforcement=self.guardrails.enforcement,
            rules=dict(self.guardrails.rules),
        )


class _Builder:
    def __init__(self, config: StackConfig, *, stack: str, source: str, region: str):
        self.config = config
        self.stack = stack
        self.source = source
        self.region = region
        self.defaults: Defaults = config.defaults
        self.advisories: list[str] = []
        self.registrations: dict[tuple[str, str], OidcRegistration] = {}
        self.kubernetes_objects: dict[tuple[str, str, str, str], str] = {}  # (kind, cluster, ns, name) -> key
        self.associations: dict[tuple[str, str, str], str] = {}

    def target(self, entry: Entry) -> Target:
        return self.account_target(entry.account)

    def account_target(self, account_key: str | None) -> Target:
        if account_key is None:
            return Target(None, self.config.account_id, self.region)
        account = self.config.accounts[account_key]
        return Target(account_key, account.account_id, account.region)

    def role_spec(self, entry: Entry, name: str, description: str) -> RoleSpec:
        d = self.defaults
        tags = {**(d.tags or {}), **(entry.tags or {}), **MANAGED_BY_TAGS, "stack": self.stack}
        preset = getattr(entry, "preset", None)
        if preset:  # the plan says which preset and version the entry used
            label = presets.load(preset).label
            tags[presets.PRESET_TAG] = label
            description = f"{description.removesuffix(' (agent-iam)')} (agent-iam preset {label})"
        return RoleSpec(
            name=name,
            path=entry.path or d.path or "/",
            description=description,
            permissions_boundary_arn=entry.permissions_boundary_arn or d.permissions_boundary_arn,
            max_session_duration=entry.max_session_duration or d.max_session_duration,
            tags=tags,
            protect=bool(entry.protect if entry.protect is not None else d.protect),
        )

    def derived_name(self, key: str, entry: Entry, explicit: str | None, suffix: str, explicit_key: str) -> str:
        """The explicit name, or `<name>-<suffix>` (`<name>` when the suffix is empty)."""
        if explicit:
            return explicit
        name = f"{entry.name}-{suffix}" if suffix else entry.name
        if len(name) > 64:
            raise ConfigError(
                [
                    f"{self.source}: {key}.name: the derived role name {name!r} is {len(name)} characters, "
                    f"over IAM's 64; shorten the name or set {explicit_key}"
                ]
            )
        return name

    def ecs_agent(self, index: int, entry: EcsAgent) -> Unit:
        key = key_path(NAMESPACE, ("ecsAgents", index))
        target = self.target(entry)
        task_name = self.derived_name(key, entry, entry.task_role_name, "task", "taskRoleName")
        execution_name = self.derived_name(key, entry, entry.execution_role_name, "execution", "executionRoleName")
        self.secrets_advisory(key, entry, f"the execution role {execution_name!r}", target)
        self.policy_advisory(key, entry, f"the task role {task_name!r}")
        args = EcsAgentRolesArgs(
            account_id=target.account_id,
            region=target.region,
            task_role=self.role_spec(entry, task_name, f"ECS task role of agent {entry.name} (agent-iam)"),
            execution_role=self.role_spec(
                entry, execution_name, f"ECS task execution role of agent {entry.name} (agent-iam)"
            ),
            secret_arns=tuple(entry.secret_arns),
            kms_key_arns=tuple(entry.kms_key_arns),
            task_role_policy_arns=tuple(entry.task_role_policy_arns),
            task_policy=entry.policy.to_dict() if entry.policy else None,
            trust_ec2=entry.trust_ec2,
            confused_deputy_conditions=entry.confused_deputy_conditions,
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def secrets_advisory(self, key: str, entry: AgentSecrets, who: str, target: Target) -> None:
        if "*" in entry.secret_arns:
            self.advisories.append(
                f"{key} ({entry.name}): {who} may read EVERY secret in account "
                f"{target.account_id} (secretArns: '*', allowAllSecrets: true)"
            )

    def policy_advisory(self, key: str, entry: InlinePolicy, who: str) -> None:
        if entry.policy is not None and entry.policy.wildcard_resource:
            self.advisories.append(
                f"{key} ({entry.name}): {who} policy allows actions on Resource '*' (allowWildcardResources: true)"
            )

    def ec2_agent(self, index: int, entry: Ec2Agent) -> Unit:
        key = key_path(NAMESPACE, ("ec2Agents", index))
        target = self.target(entry)
        name = self.derived_name(key, entry, entry.role_name, "", "roleName")
        self.secrets_advisory(key, entry, f"the instance role {name!r}", target)
        self.policy_advisory(key, entry, f"the instance role {name!r}")
        args = Ec2AgentInstanceProfileArgs(
            account_id=target.account_id,
            region=target.region,
            role=self.role_spec(entry, name, f"EC2 instance role of agent {entry.name} (agent-iam)"),
            policy_arns=tuple(entry.policy_arns),
            ssm=entry.ssm,
            secret_arns=tuple(entry.secret_arns),
            kms_key_arns=tuple(entry.kms_key_arns),
            policy=entry.policy.to_dict() if entry.policy else None,
            confused_deputy_conditions=entry.confused_deputy_conditions,
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def saas_role(self, index: int, entry: SaasRole, secret_keys: frozenset[str]) -> Unit:
        key = key_path(NAMESPACE, ("saasRoles", index))
        target = self.target(entry)
        name = self.derived_name(key, entry, entry.role_name, "", "roleName")
        vendor = entry.vendor
        principal = vendor.principal_arn or policies.account_root_arn(
            policies.partition_for_region(target.region), vendor.account
        )
        cross_account = vendor.account != target.account_id
        if cross_account and not vendor.whole_account and not entry.external_id and not entry.allow_unconditioned_account_trust:
            raise ConfigError(
                [
                    f"{self.source}: {key}.externalId: required: the vendor {principal_kind(principal)} {principal} is in another account "
                    f"than the role ({target.account_id}), and without an external ID any of the vendor's customers "
                    "could have it assume this role (confused deputy); set the external ID the vendor gives you, "
                    "or allowUnconditionedAccountTrust: true to accept that"
                ]
            )
        if entry.allow_unconditioned_account_trust:
            who = f"ANY principal in account {vendor.account}" if vendor.whole_account else f"the vendor {principal_kind(principal)} {principal}"
            self.advisories.append(
                f"{key} ({entry.name}): the role {name!r} may be assumed by {who} with no external ID or "
                "principal pattern (allowUnconditionedAccountTrust: true)"
            )
        self.policy_advisory(key, entry, f"the role {name!r}")
        permissions = permission_args(entry)
        spec = self.role_spec(entry, name, f"Cross-account access for SaaS {entry.name} (agent-iam)")
        if entry.preset:
            preset = presets.load(entry.preset)
            permissions.update(self.preset_permissions(key, entry, preset, name, target, permissions))
        args = SaasAccessRoleArgs(
            region=target.region,
            role=spec,
            principal_arn=principal,
            external_id=entry.external_id,
            external_id_secret=entry.external_id is not None
            and ("saasRoles" in secret_keys or entry.external_id == REDACTED),
            principal_arn_patterns=tuple(vendor.principal_arn_patterns),
            **permissions,
            customer_managed_policy=entry.customer_managed_policy,
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def preset_permissions(
        self, key: str, entry: SaasRole, preset: presets.Preset, name: str, target: Target, permissions: dict[str, Any]
    ) -> dict[str, Any]:
        """The preset's statements (narrowed by the entry), then the entry's own `policy`; the
        preset's managed policies, then the entry's. Its Resource "*" statements are announced."""
        partition = policies.partition_for_region(target.region)
        statements = presets.statements(
            preset,
            partition=partition,
            account_id=target.account_id,
            without_actions=entry.without_actions,
            without_statements=entry.without_statements,
        )
        statements += presets.s3_statements(
            preset,
            partition=partition,
            read=permissions["s3_read"],
            write=permissions["s3_write"],
            without_actions=entry.without_actions,
        )
        wide = [s["Sid"] for s in statements if "*" in presets.as_list(s.get("Resource"))]
        if wide:
            self.advisories.append(
                f"{key} ({entry.name}): the role {name!r} may call the actions of {', '.join(wide)} on Resource '*', "
                f"as preset {preset.label} ({preset.title}) documents: {preset.wildcard_reason}"
            )
        own = permissions["policy"]["Statement"] if permissions["policy"] else []
        return {
            "policy": policies.document([*statements, *own]) if statements or own else None,
            "policy_arns": tuple(dict.fromkeys([*preset.policy_arns, *permissions["policy_arns"]])),
        }

    def service_account(self, index: int, entry: ServiceAccount) -> Unit:
        key = key_path(NAMESPACE, ("serviceAccounts", index))
        target = self.target(entry)
        cluster = self.config.clusters[entry.cluster]
        cluster_target = self.account_target(cluster.account)
        name = self.derived_name(key, entry, entry.role_name, "", "roleName")
        spec = self.role_spec(entry, name, f"Role of Kubernetes service account {entry.name} (agent-iam)")
        self.policy_advisory(key, entry, f"the role {name!r}")
        irsa: tuple[IrsaCluster, ...] = ()
        pod_identity = None
        if entry.mode == "pod-identity":
            pod_identity = self.pod_identity(key, entry, spec, target, cluster_target)
        else:
            irsa = self.irsa_clusters(index, entry, target)
            if entry.wildcard:
                patterns = ", ".join(f"{c}/{ns}/{sa}" for _, c, ns, sa in entry.all_subjects() if has_wildcard(ns + sa))
                self.advisories.append(
                    f"{key} ({entry.name}): the role {name!r} trusts EVERY service account matching {patterns} "
                    "(allowWildcardSubject: true)"
                )
        service_accounts = self.service_account_objects(index, entry)
        secret = None
        if entry.secret is not None:
            secret = KubernetesObject(entry.cluster, entry.secret.namespace or entry.namespace, entry.secret.name)
            self.claim_object(f"{key}.secret.name", "Secret", secret)
        args = ServiceAccountRoleArgs(
            mode=entry.mode,
            account_id=target.account_id,
            region=target.region,
            role=spec,
            namespace=entry.namespace,
            service_account=entry.service_account,
            irsa=irsa,
            pod_identity=pod_identity,
            create_service_account=entry.create_service_account,
            role_arn_annotation=entry.role_arn_annotation is not False,
            service_accounts=service_accounts,
            secret=secret,
            **permission_args(entry),
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names), cluster=entry.cluster)

    def pod_identity(
        self, key: str, entry: ServiceAccount, spec: RoleSpec, target: Target, cluster_target: Target
    ) -> PodIdentity:
        """The association's settings; across accounts, the chained role in the cluster's account."""
        if spec.path != "/":
            where = "this entry's path" if entry.path else "defaults.path"
            raise ConfigError(
                [
                    f"{self.source}: {key}.path: EKS Pod Identity needs roles at path '/', but {where} is "
                    f"{spec.path!r}; set path: / on this entry"
                ]
            )
        cluster = self.config.clusters[entry.cluster]
        owner = self.associations.setdefault((entry.cluster, entry.namespace, entry.service_account), key)
        if owner != key:
            raise ConfigError(
                [
                    f"{self.source}: {key}.serviceAccount: {entry.cluster}/{entry.namespace}/{entry.service_account} "
                    f"already has a Pod Identity association ({owner}); EKS allows one per service account"
                ]
            )
        source = None
        if target.account_id != cluster_target.account_id:
            source_name = self.derived_name(key, entry, entry.source_role_name, "pod-identity", "sourceRoleName")
            d = self.defaults
            source = RoleSpec(
                name=source_name,
                path="/",
                description=f"EKS Pod Identity role of {entry.name}, chaining to {spec.name} (agent-iam)",
                permissions_boundary_arn=d.permissions_boundary_arn,
                max_session_duration=spec.max_session_duration,
                tags=spec.tags,
                protect=spec.protect,
            )
        elif entry.source_role_name:
            raise ConfigError(
                [
                    f"{self.source}: {key}.sourceRoleName: only for cross-account Pod Identity (an account other than "
                    f"the cluster's {cluster_target.account_id}); remove it"
                ]
            )
        return PodIdentity(
            cluster_name=cluster.name or entry.cluster,
            cluster_account_id=cluster_target.account_id,
            namespace=entry.namespace,
            service_account=entry.service_account,
            session_tag_conditions=entry.session_tag_conditions is not False,
            source_role=source,
        )

    def irsa_clusters(self, index: int, entry: ServiceAccount, target: Target) -> tuple[IrsaCluster, ...]:
        """One trust per cluster, each with the OIDC provider in the role's account."""
        key = key_path(NAMESPACE, ("serviceAccounts", index))
        by_cluster: dict[str, list[tuple[str, str, str]]] = {}
        for prefix, cluster, namespace, name in entry.all_subjects():
            where = key_path(NAMESPACE, ("serviceAccounts", index, *prefix, "cluster"))
            by_cluster.setdefault(cluster, []).append((where, namespace, name))
        result = []
        for cluster_key, subjects in by_cluster.items():
            cluster = self.config.clusters[cluster_key]
            if cluster.issuer is None:
                raise ConfigError(
                    [
                        f"{self.source}: {subjects[0][0]}: IRSA trusts the OIDC provider of cluster {cluster_key!r}, "
                        f"which has no oidcIssuerUrl (or oidcProviderArn); add it from `aws eks describe-cluster`"
                    ]
                )
            result.append(
                IrsaCluster(
                    cluster=cluster_key,
                    issuer=cluster.issuer,
                    provider_arn=self.oidc_provider_arn(key, cluster_key, cluster, target),
                    subjects=tuple(policies.service_account_subject(ns, sa) for _, ns, sa in subjects),
                    wildcard=any(has_wildcard(ns + sa) for _, ns, sa in subjects),
                )
            )
        return tuple(result)

    def oidc_provider_arn(self, key: str, cluster_key: str, cluster: Cluster, target: Target) -> str:
        """The cluster's provider in the target account: existing, derived, or registered once."""
        assert cluster.issuer is not None
        own = self.config.account_id_of(cluster.account) == target.account_id
        if own and cluster.oidc_provider_arn:
            return cluster.oidc_provider_arn
        if not own:
            for account, arn in cluster.oidc_provider_arns.items():
                if self.config.accounts[account].account_id == target.account_id:
                    return arn
        partition = policies.partition_for_region(target.region)
        arn = policies.oidc_provider_arn(partition, target.account_id, cluster.issuer)
        if own and not cluster.register_oidc_provider:
            return arn  # EKS (eksctl, the console) registered it with the cluster
        d = self.defaults
        self.registrations.setdefault(
            (cluster_key, target.account_id),
            OidcRegistration(
                key=key,
                cluster=cluster_key,
                name=f"{cluster_key}-oidc-{target.account_id}",
                target=target,
                args=OidcProviderRegistrationArgs(
                    url=cluster.oidc_issuer_url or f"https://{cluster.issuer}",
                    tags={
                        **(d.tags or {}),
                        **MANAGED_BY_TAGS,
                        "stack": self.stack,
                        "eks-cluster": cluster.name or cluster_key,
                    },
                    protect=bool(d.protect),
                ),
            ),
        )
        return arn

    def oidc_role(self, index: int, entry: OidcRole) -> Unit:
        """One `oidcRoles` entry, key for key, into `OidcRoleArgs`; the component's checks judge it."""
        key = key_path(NAMESPACE, ("oidcRoles", index))
        target = self.target(entry)
        name = self.derived_name(key, entry, entry.role_name, "", "roleName")
        self.policy_advisory(key, entry, f"the role {name!r}")
        args = OidcRoleArgs(
            role=self.role_spec(entry, name, f"Role for {entry.provider} OIDC workloads {entry.name} (agent-iam)"),
            account_id=target.account_id,
            region=target.region,
            provider=entry.provider,
            issuer_url=entry.issuer_url,
            audience=entry.audience,
            subjects=tuple(entry.subjects),
            allow_wildcard_subject=entry.allow_wildcard_subject,
            repository=entry.repository,
            branches=tuple(entry.branches),
            git_tags=tuple(entry.git_tags),
            environments=tuple(entry.environments),
            pull_requests=entry.pull_requests,
            repository_id=None if entry.repository_id is None else str(entry.repository_id),
            workflow_refs=tuple(entry.workflow_refs),
            project_path=entry.project_path,
            organization=entry.organization,
            project=entry.project,
            workspaces=tuple(entry.workspaces),
            run_phases=tuple(entry.run_phases),
            oidc_provider_arn=entry.oidc_provider_arn or self.existing_oidc_provider(entry, target),
            **permission_args(entry),
        )
        problems = check_oidc_role_args(args)
        if problems:
            raise ConfigError([f"{self.source}: {key}.{args_key(field)}: {message}" for field, message in problems])
        if args.wildcard:
            self.advisories.append(
                f"{key} ({entry.name}): the role {name!r} trusts EVERY token whose subject matches "
                f"{', '.join(s for s in args.all_subjects() if has_wildcard(s))} (allowWildcardSubject: true)"
            )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def existing_oidc_provider(self, entry: OidcRole, target: Target) -> str | None:
        """The provider another entry names for this entry's issuer and account: IAM allows one per
        issuer per account, so every role of that issuer and account uses it."""
        issuer = oidc_known.issuer_host_path(entry.issuer_url or oidc_known.default_issuer(entry.provider) or "")
        for other in self.config.oidc_roles:
            arn = other.oidc_provider_arn
            if arn and issuer_of_provider_arn(arn).rstrip("/") == issuer and arns.account_of(arn) == target.account_id:
                return arn
        return None

    def oidc_role_registrations(self, units: Sequence[Unit]) -> None:
        """Each issuer's provider once per account, accepting every audience its roles pin; none
        where an entry names the existing provider (IAM allows one per issuer per account)."""
        by_issuer: dict[tuple[str, str], list[Unit]] = {}
        for unit in units:
            by_issuer.setdefault((unit.args.issuer_key, unit.target.account_id), []).append(unit)
        d = self.defaults
        for (issuer, account), group in by_issuer.items():
            if any(u.args.oidc_provider_arn for u in group):
                continue  # an entry names the existing provider; all of the group use it (existing_oidc_provider)
            first = group[0]
            self.registrations.setdefault(
                (f"issuer:{issuer}", account),
                OidcRegistration(
                    key=first.key,
                    cluster=None,
                    name=f"oidc-{issuer.replace('/', '-')}-{account}",
                    target=first.target,
                    issuer=issuer,
                    args=OidcProviderRegistrationArgs(
                        url=first.args.issuer,
                        client_ids=tuple(dict.fromkeys(u.args.token_audience for u in group)),
                        tags={**(d.tags or {}), **MANAGED_BY_TAGS, "stack": self.stack, "oidc-issuer": issuer[:256]},
                        protect=bool(d.protect),
                    ),
                ),
            )

    def service_account_objects(self, index: int, entry: ServiceAccount) -> tuple[KubernetesObject, ...]:
        if not entry.create_service_account:
            return ()
        objects = []
        for prefix, cluster, namespace, name in entry.all_subjects():
            obj = KubernetesObject(cluster, namespace, name, dict(entry.service_account_annotations))
            where = key_path(NAMESPACE, ("serviceAccounts", index, *prefix, "serviceAccount"))
            self.claim_object(where, "ServiceAccount", obj)
            objects.append(obj)
        return tuple(objects)

    def claim_object(self, where: str, kind: str, obj: KubernetesObject) -> None:
        """Each Kubernetes object is created by one entry only."""
        owner = self.kubernetes_objects.setdefault((kind, obj.cluster, obj.namespace, obj.name), where)
        if owner != where:
            raise ConfigError(
                [
                    f"{self.source}: {where}: {kind} {obj.namespace}/{obj.name} in cluster {obj.cluster!r} is already "
                    f"created by {owner}; let one entry create it"
                    + (" (createServiceAccount: false on the others)" if kind == "ServiceAccount" else "")
                ]
            )

    def check_limits_and_names(self, units: Sequence[Unit]) -> None:
        limits = self.defaults.limits.to_iam_limits()
        problems: list[str] = []
        owners: dict[tuple[str, str], str] = {}
        for unit in units:
            for label, (spec, docs) in unit.roles().items():
                for problem in docs.limit_problems(limits):
                    problems.append(f"{self.source}: {unit.key}: {label} {spec.name!r}: {problem}")
                for sid in duplicate_sids(docs.inline_policy) + duplicate_sids(docs.customer_policy):
                    problems.append(
                        f"{self.source}: {unit.key}.policy: Sid {sid!r} is used twice in the {label}'s permissions "
                        "(agent-iam merges its own statements into the same document); rename it"
                    )
                account = unit.role_account(label)
                owner = owners.setdefault((account, spec.name), unit.key)
                if owner != unit.key:
                    problems.append(
                        f"{self.source}: {unit.key}: role name {spec.name!r} is already used by {owner} "
                        f"in account {account}"
                    )
                boundary = spec.permissions_boundary_arn
                if boundary and boundary.split(":")[4] not in ("aws", account):
                    problems.append(
                        f"{self.source}: {unit.key}: {label} {spec.name!r} is created in account {account}, but its "
                        f"permissions boundary {boundary} is in account {boundary.split(':')[4]}; set "
                        "permissionsBoundaryArn on the entry to a policy of that account"
                    )
        if problems:
            raise ConfigError(problems)

    def build(self, secret_keys: frozenset[str]) -> StackSettings:
        ecs = [self.ecs_agent(i, e) for i, e in enumerate(self.config.ecs_agents)]
        ec2 = [self.ec2_agent(i, e) for i, e in enumerate(self.config.ec2_agents)]
        saas = [self.saas_role(i, e, secret_keys) for i, e in enumerate(self.config.saas_roles)]
        service_accounts = [self.service_account(i, e) for i, e in enumerate(self.config.service_accounts)]
        oidc_roles = [self.oidc_role(i, e) for i, e in enumerate(self.config.oidc_roles)]
        self.oidc_role_registrations(oidc_roles)
        self.check_limits_and_names([*ecs, *ec2, *saas, *service_accounts, *oidc_roles])
        boundaries: tuple[str, ...] = ()
        if self.defaults.permissions_boundary_arn:
            entries = [
                *self.config.ecs_agents,
                *self.config.ec2_agents,
                *self.config.saas_roles,
                *self.config.service_accounts,
                *self.config.oidc_roles,
            ]
            overrides = {e.permissions_boundary_arn for e in entries if e.permissions_boundary_arn}
            boundaries = (self.defaults.permissions_boundary_arn, *sorted(overrides - {self.defaults.permissions_boundary_arn}))
        return StackSettings(
            stack=self.stack,
            source=self.source,
            account_id=self.config.account_id,
            region=self.region,
            accounts=dict(self.config.accounts),
            ecs_agents=tuple(ecs),
            ec2_agents=tuple(ec2),
            saas_roles=tuple(saas),
            service_accounts=tuple(service_accounts),
            oidc_roles=tuple(oidc_roles),
            clusters=dict(self.config.clusters),
            oidc_providers=tuple(self.registrations.values()),
            kubernetes_clusters=tuple(sorted({cluster for _, cluster, _, _ in self.kubernetes_objects})),
            advisories=tuple(self.advisories),
            secret_keys=secret_keys,
            guardrails=self.config.guardrails,
            limits=self.defaults.limits.to_iam_limits(),
            boundary_arns=boundaries,
        )


def permission_args(entry: VendorPermissions) -> dict[str, Any]:
    """The permission fields shared by SaaS and service-account roles, as component arguments."""
    return {
        "s3_read": tuple(s3_location(v) for v in entry.s3_read),
        "s3_write": tuple(s3_location(v) for v in entry.s3_write),
        "kms_key_arns": tuple(entry.kms_key_arns),
        "policy_arns": tuple(entry.policy_arns),
        "policy": entry.policy.to_dict() if entry.policy else None,
    }


def principal_kind(arn: str) -> str:
    """`role` or `user`, from an IAM principal ARN (`arn:aws:iam::1:user/x` -> `user`)."""
    parsed = arns.parse(arn)
    return parsed.resource_type if parsed else "principal"


def args_key(field_name: str) -> str:
    """An Args field as its stack-config key: `run_phases[1]` -> `runPhases[1]`."""
    name, bracket, rest = field_name.partition("[")
    return to_camel(name) + bracket + rest


def duplicate_sids(doc: policies.Document | None) -> list[str]:
    """Sids used by more than one statement: IAM refuses such a document."""
    counts = Counter(s["Sid"] for s in policies.statements_of(doc) if s.get("Sid"))
    return sorted(sid for sid, n in counts.items() if n > 1)


def build_settings(
    config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str] = frozenset()
) -> StackSettings:
    return _Builder(config, stack=stack, source=source, region=region).build(secret_keys)
