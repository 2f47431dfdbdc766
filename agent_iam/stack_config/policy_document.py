"""The shape of a user-supplied IAM identity policy: its one home is `agent_iam.iam.policy_document`."""

from agent_iam.iam.policy_document import PolicyDocument, PolicyStatement

__all__ = ["PolicyDocument", "PolicyStatement"]
