"""The service trusts AWS documents, and what agent-iam grants on an `s3Write` location: one home.

The components build these statements (`components.policies`) and the IAM validator's reviewed
exceptions recognise them (`guardrails.iam_validation`), both from this table, so the statement a
component registers and the one a reviewed exception accepts cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentedTrust:
    """A service's trust statement as AWS documents it: its Sid here, the service principal, the actions."""

    sid: str
    service: str
    actions: tuple[str, ...]


ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"  # ECS tasks: the task role's and the execution role's principal

# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html
EC2 = DocumentedTrust("Ec2AssumeRole", "ec2.amazonaws.com", ("sts:AssumeRole",))
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
ECS_TASK_EXECUTION = DocumentedTrust("EcsTaskExecutionAssumeRole", ECS_TASKS_SERVICE, ("sts:AssumeRole",))
# https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
POD_IDENTITY = DocumentedTrust(
    "AllowEksAuthToAssumeRoleForPodIdentity", "pods.eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")
)

# What a role may do on the objects of an `s3Write` location (`bucket/prefix/*`), besides reading them.
S3_WRITE_OBJECT_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
