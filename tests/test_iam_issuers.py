"""OIDC issuers (agent_iam.iam.issuers): how an issuer is written, and an issuer named only when it is exactly that issuer."""

from __future__ import annotations

import pytest

from agent_iam.iam import issuers
from agent_iam.plan.access import trust_sentence

EKS = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
GITHUB = "token.actions.githubusercontent.com"


def test_issuer_and_provider_arn_drop_scheme_and_trailing_slash():
    assert issuers.issuer_host_path(f"https://{EKS}/") == EKS
    assert issuers.provider_arn("aws-cn", "111111111111", f"https://{EKS}") == (
        f"arn:aws-cn:iam::111111111111:oidc-provider/{EKS}"
    )
    assert issuers.issuer_of(f"arn:aws:iam::111111111111:oidc-provider/{EKS}") == EKS
    assert issuers.issuer_of("accounts.google.com") == "accounts.google.com"


@pytest.mark.parametrize(
    ("issuer", "family"),
    [
        ("https://token.actions.githubusercontent.com", issuers.GITHUB),
        ("HTTPS://Token.Actions.GitHubUserContent.com/", issuers.GITHUB),
        (GITHUB, issuers.GITHUB),
        ("https://gitlab.com", issuers.GITLAB),
        ("https://app.terraform.io/", issuers.TERRAFORM_CLOUD),
        (f"https://{EKS}", issuers.EKS),
        (EKS.upper(), issuers.EKS),
        # look-alikes and other instances are not the shared issuers
        ("https://token.actions.githubusercontent.com.evil.example", None),
        ("https://evil.example/token.actions.githubusercontent.com", None),
        ("https://token.actions.githubusercontent.com/acme", None),
        ("https://ghes.example.com/_services/token", None),
        ("https://gitlab.example.com", None),
        ("https://gitlab.com.evil.example", None),
        ("https://tfe.example.com", None),
        ("https://oidc.eks.eu-west-1.amazonaws.com.evil.example/id/ABC", None),
        ("", None),
    ],
)
def test_an_issuer_is_named_only_when_it_is_exactly_that_issuer(issuer, family):
    assert issuers.family_of(issuer) == family


def _web_identity(issuer: str, subjects: list[str]) -> dict:
    return {
        "Effect": "Allow",
        "Principal": {"Federated": issuers.provider_arn("aws", "111111111111", issuer)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com", f"{issuer}:sub": subjects}},
    }


def test_the_access_report_names_github_actions_only_for_githubs_issuer():
    subject = "repo:acme/app:ref:refs/heads/main"
    genuine = trust_sentence(_web_identity(GITHUB, [subject]), "111111111111")
    assert genuine.startswith("GitHub Actions runs of `acme/app` on branch `main`, with tokens from the identity provider")
    for issuer in (f"{GITHUB}.evil.example", "ghes.example.com/_services/token"):
        sentence = trust_sentence(_web_identity(issuer, [subject]), "111111111111")
        assert sentence.startswith(f"tokens of `{issuer}` with subject `{subject}`, with tokens from the identity provider")
        assert "GitHub Actions" not in sentence


def test_the_access_report_names_service_accounts_only_for_an_eks_issuer():
    subjects = ["system:serviceaccount:ns:a", "system:serviceaccount:ns:b"]
    sentence = trust_sentence(_web_identity(EKS, subjects), "111111111111")
    assert sentence.startswith("pods running as the Kubernetes service account `ns/a` or `ns/b`, with tokens")
    other = trust_sentence(_web_identity("oidc.example.com", subjects), "111111111111")
    assert other.startswith(
        "tokens of `oidc.example.com` with subject `system:serviceaccount:ns:a` or tokens of `oidc.example.com` "
        "with subject `system:serviceaccount:ns:b`, with tokens"
    )
