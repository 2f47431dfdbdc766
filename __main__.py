"""agent-iam: compose the stack's components from its validated config.

Order matters: the whole config is validated first (a bad key stops the program
before any resource is registered), then providers are built, one per account,
then each config entry becomes one component.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from agent_iam import IrsaRole, OidcProviderRegistration, PodIdentityRole
from agent_iam.stack_config import StackSettings, Unit, load_from_pulumi

settings: StackSettings = load_from_pulumi()


def build_aws_providers(settings: StackSettings) -> dict[str | None, aws.Provider]:
    """One explicit provider per account, each refusing credentials for any other account."""
    providers: dict[str | None, aws.Provider] = {
        None: aws.Provider(
            "aws",
            region=settings.region,
            allowed_account_ids=[settings.account_id],
        )
    }
    for key, account in settings.accounts.items():
        providers[key] = aws.Provider(
            f"aws-{key}",
            region=account.region,
            allowed_account_ids=[account.account_id],
            assume_roles=[
                aws.ProviderAssumeRoleArgs(role_arn=account.role_arn, session_name=f"agent-iam-{settings.stack}")
            ],
        )
    return providers


aws_providers = build_aws_providers(settings)


def build_regional_providers(settings: StackSettings) -> dict[tuple[str | None, str], aws.Provider]:
    """A provider of an account in another region, for each cluster that runs outside its account's region
    (`clusters.<key>.region`, where its Pod Identity associations are created): the account's credentials (and
    assumed role), another region; named `aws-<region>` in the stack's account, `aws-<account>-<region>` in another."""
    providers: dict[tuple[str | None, str], aws.Provider] = {}
    for cluster in settings.clusters.values():
        account = settings.accounts[cluster.account] if cluster.account else None
        home = account.region if account else settings.region
        key = (cluster.account, cluster.region)
        if not cluster.region or cluster.region == home or key in providers:
            continue
        providers[key] = aws.Provider(
            f"aws-{cluster.account}-{cluster.region}" if account else f"aws-{cluster.region}",
            region=cluster.region,
            allowed_account_ids=[account.account_id if account else settings.account_id],
            assume_roles=[
                aws.ProviderAssumeRoleArgs(role_arn=account.role_arn, session_name=f"agent-iam-{settings.stack}")
            ] if account else None,
        )
    return providers


regional_providers = build_regional_providers(settings)


def build_kubernetes_providers(settings: StackSettings) -> dict[str, k8s.Provider]:
    """One Kubernetes provider per cluster agent-iam creates objects in, named `k8s-<cluster>`.

    `kubeconfig` (a secure value) or `kubeContext` select the cluster; with neither, the
    provider uses the ambient kubeconfig (`KUBECONFIG`, else ~/.kube/config) and its current context.
    """
    providers = {}
    for key in settings.kubernetes_clusters:
        cluster = settings.clusters[key]
        providers[key] = k8s.Provider(
            f"k8s-{key}",
            kubeconfig=pulumi.Output.secret(cluster.kubeconfig) if cluster.kubeconfig else None,
            context=cluster.kube_context,
        )
    return providers


kubernetes_providers = build_kubernetes_providers(settings)

# Each OIDC issuer's provider (EKS clusters', CI issuers') registered once per account that needs it;
# the roles trusting it depend on it.
oidc_registrations = {
    registration.name: OidcProviderRegistration(
        registration.name,
        registration.args,
        opts=pulumi.ResourceOptions(providers=[aws_providers[registration.target.account_key]]),
    )
    for registration in settings.oidc_providers
}


def component_opts(unit: Unit) -> pulumi.ResourceOptions:
    """The unit's account provider, aliases so a renamed entry keeps its state, and the OIDC
    provider registrations its trust names."""
    return pulumi.ResourceOptions(
        providers=[aws_providers[unit.target.account_key]],
        aliases=[pulumi.Alias(name=former) for former in unit.former_names],
        depends_on=[oidc_registrations[name] for name in unit.depends_on] or None,
    )


def outputs(units: list[Unit]) -> dict[str, dict]:
    """Each unit's component, registered from the plan its check worked out, by name: its stack output.
    Each component says its own advisories (`pulumi.log.warn`) as it registers."""
    result = {}
    for unit in units:
        clusters: dict = {}
        if unit.component is IrsaRole:
            clusters = {"kubernetes": kubernetes_providers}
        elif unit.component is PodIdentityRole:
            cluster_provider = (
                regional_providers[(unit.cluster_account, unit.cluster_region)] if unit.cluster_region
                else aws_providers[unit.cluster_account]
            )
            clusters = {"kubernetes": kubernetes_providers, "cluster_provider": cluster_provider}
        component = unit.component(unit.name, unit.args, opts=component_opts(unit), plan=unit.plan, **clusters)
        result[unit.name] = component.outputs()
    return result


ecs_agents = outputs(settings.ecs_agents)
ec2_agents = outputs(settings.ec2_agents)
saas_roles = outputs(settings.saas_roles)
service_accounts = outputs(settings.service_accounts)
oidc_roles = outputs(settings.oidc_roles)



def without_external_ids(saas: dict[str, dict]) -> tuple[dict[str, dict], dict[str, object]]:
    """The SaaS roles' outputs without their external IDs, and the external IDs (secret) by role: a
    secret anywhere in a stack output makes all of it secret to a StackReference, so the roles' ARNs
    stay readable by other stacks only when the external IDs are an output of their own."""
    roles = {name: {k: v for k, v in out.items() if k not in ("externalId", "handoff")} for name, out in saas.items()}
    return roles, {name: out["externalId"] for name, out in saas.items() if "externalId" in out}


saas_role_outputs, saas_external_ids = without_external_ids(saas_roles)
caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_providers[None]))
pulumi.export("accountId", caller.account_id)
pulumi.export("ecsAgents", ecs_agents)
pulumi.export("ec2Agents", ec2_agents)
pulumi.export("saasRoles", saas_role_outputs)
pulumi.export("saasExternalIds", saas_external_ids)
pulumi.export("serviceAccounts", service_accounts)
pulumi.export("oidcRoles", oidc_roles)
