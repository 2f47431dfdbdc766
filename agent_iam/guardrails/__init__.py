"""Guardrails: security rules over plain resource data, shared by the offline plan and the policy pack.

`guardrails.rules` is pure Python (no Pulumi, no cloud); `guardrails.pulumi_policy_adapter`
turns pulumi-policy arguments into its inputs; `guardrails.iam_validation` checks documents
against AWS's service data (offline) and is only needed by the plan and the tests.
"""
