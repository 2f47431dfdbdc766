"""Least privilege from evidence: CloudTrail records read, mapped to IAM requests, matched to the
stack's roles; `agent-iam tighten` narrows a stack file to what was used, `agent-iam explain`
says why a request was denied and the smallest change that would allow it.

Data flows one way: evidence files -> `records.Event` -> `requests.ObservedRequest` -> the roles of
the stack's plan (`roles.StackRoles`) -> a proposal (`tighten`) or an explanation (`explain`).
"""
