"""agent-iam: compose the stack's components from its validated config.

Order matters: the whole config is validated first (a bad key stops the program
before any resource is registered), then providers are built, one per account,
then each config entry becomes one component.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfile
from agent_iam.components.ecs_agent_roles import EcsAgentRoles
from agent_iam.components.oidc_provider_registration import OidcProviderRegistration
from agent_iam.components.oidc_role import OidcRole
from agent_iam.components.saas_access_role import SaasAccessRole
from agent_iam.components.service_account_role import ServiceAccountRole
from agent_iam.stack_config import StackSettings, Unit, load_from_pulumi

settings: StackSettings = load_from_pulumi()

for advisory in settings.advisories:
    pulumi.log.warn(f"agent-iam: {advisory}")


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

# Each cluster's OIDC provider registered once per account that needs it, before the roles trusting it.
oidc_provider_arns: dict[tuple[str, str], pulumi.Output[str]] = {}
issuer_registrations: dict[tuple[str, str], OidcProviderRegistration] = {}  # oidcRoles: by (issuer, account)
for registration in settings.oidc_providers:
    provider = OidcProviderRegistration(
        registration.name,
        registration.args,
        opts=pulumi.ResourceOptions(providers=[aws_providers[registration.target.account_key]]),
    )
    if registration.cluster is not None:
        oidc_provider_arns[(registration.cluster, registration.target.account_id)] = provider.arn
    else:
        issuer_registrations[(registration.issuer, registration.target.account_id)] = provider


def component_opts(unit: Unit) -> pulumi.ResourceOptions:
    """The unit's account provider, and aliases so a renamed entry keeps its state."""
    return pulumi.ResourceOptions(
        providers=[aws_providers[unit.target.account_key]],
        aliases=[pulumi.Alias(name=former) for former in unit.former_names],
    )


ecs_agents = {}
for unit in settings.ecs_agents:
    agent = EcsAgentRoles(unit.name, unit.args, opts=component_opts(unit))
    ecs_agents[unit.name] = {
        "taskRoleArn": agent.task_role_arn,
        "taskRoleName": agent.task_role_name,
        "executionRoleArn": agent.execution_role_arn,
        "executionRoleName": agent.execution_role_name,
        "agentEnvironment": agent.agent_environment,
    }

ec2_agents = {}
for unit in settings.ec2_agents:
    ec2_agents[unit.name] = Ec2AgentInstanceProfile(unit.name, unit.args, opts=component_opts(unit)).outputs()

saas_roles = {}
for unit in settings.saas_roles:
    saas_roles[unit.name] = SaasAccessRole(unit.name, unit.args, opts=component_opts(unit)).outputs()

service_accounts = {}
for unit in settings.service_accounts:
    args = dataclasses.replace(
        unit.args,
        oidc_provider_arns={
            c.cluster: oidc_provider_arns[(c.cluster, unit.target.account_id)]
            for c in unit.args.irsa
            if (c.cluster, unit.target.account_id) in oidc_provider_arns
        },
    )
    service_accounts[unit.name] = ServiceAccountRole(
        unit.name,
        args,
        kubernetes=kubernetes_providers,
        cluster_provider=aws_providers[settings.clusters[unit.cluster].account],
        opts=component_opts(unit),
    ).outputs()

oidc_roles = {}
for unit in settings.oidc_roles:
    # The role names the provider in its trust: register it first when this stack creates it.
    registered = issuer_registrations.get((unit.args.issuer_key, unit.target.account_id))
    opts = component_opts(unit)
    if registered is not None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[registered]))
    oidc_roles[unit.name] = OidcRole(unit.name, unit.args, opts=opts).outputs()

caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_providers[None]))
pulumi.export("accountId", caller.account_id)
pulumi.export("ecsAgents", ecs_agents)
pulumi.export("ec2Agents", ec2_agents)
pulumi.export("saasRoles", saas_roles)
pulumi.export("serviceAccounts", service_accounts)
pulumi.export("oidcRoles", oidc_roles)
