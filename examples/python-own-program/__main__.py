"""An existing Pulumi program that adds agent-iam's components next to its own resources.

- An ECS agent whose execution role reads exactly one secret, created here: its ARN is an
  output of `aws.secretsmanager.Secret`, and the role's policy waits for it.
- A SaaS vendor's cross-account role, trusted with the vendor's external ID, reading one S3 prefix
  of a bucket created here.

Run it like any program (`pulumi up`); the tests run it under Pulumi's mocks.
"""

import pulumi
import pulumi_aws as aws

import agent_iam

config = pulumi.Config()

# The agent's API key lives in Secrets Manager; the value is set out of band.
agent_key = aws.secretsmanager.Secret("agent-key", name="superblocks/agent-key")

agent = agent_iam.EcsAgentRoles(
    "superblocks-agent",
    agent_iam.EcsAgentRolesArgs(
        secret_arns=[agent_key.arn],  # another resource's output: the policy is built when it is known
        tags={"team": "platform"},
    ),
)

lake = aws.s3.Bucket("lake", bucket=config.get("lakeBucket") or "acme-data-lake")

vendor = agent_iam.SaasAccessRole(
    "upsolver",
    agent_iam.SaasAccessRoleArgs(
        principal_arn="arn:aws:iam::949275490180:role/upsolver-org-acme",
        external_id=config.get_secret("upsolverExternalId") or "acme-4f8b2c1d-93e7",
        s3_read=[lake.bucket.apply(lambda bucket: f"{bucket}/exports")],
    ),
)

pulumi.export("taskRoleArn", agent.task_role_arn)
pulumi.export("executionRoleArn", agent.execution_role_arn)
pulumi.export("agentEnvironment", agent.agent_environment)
pulumi.export("upsolverHandoff", vendor.handoff)
