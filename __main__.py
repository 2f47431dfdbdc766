"""agent-iam: compose the stack's components from its validated config.

Order matters: the whole config is validated first (a bad key stops the program
before any resource is registered), then providers are built, one per account,
then each config entry becomes one component.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.ec2_agent_instance_profile import Ec2AgentInstanceProfile
from components.ecs_agent_roles import EcsAgentRoles
from components.saas_access_role import SaasAccessRole
from stack_config import StackSettings, Unit, load_from_pulumi

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

caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=aws_providers[None]))
pulumi.export("accountId", caller.account_id)
pulumi.export("ecsAgents", ecs_agents)
pulumi.export("ec2Agents", ec2_agents)
pulumi.export("saasRoles", saas_roles)
