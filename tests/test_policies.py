"""Policy builders are pure functions: compare their documents statement by statement."""

from __future__ import annotations

from components import policies


def test_ecs_task_trust_pins_source_account_and_source_arn():
    doc = policies.ecs_task_trust("111111111111", "eu-west-1")
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EcsTasksAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": "111111111111"},
                    "ArnLike": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:111111111111:*"},
                },
            }
        ],
    }


def test_ecs_task_trust_with_ec2_adds_its_own_statement_with_source_account_only():
    doc = policies.ecs_task_trust("111111111111", "eu-west-1", trust_ec2=True)
    assert len(doc["Statement"]) == 2
    assert doc["Statement"][1] == {
        "Sid": "Ec2AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}},
    }


def test_confused_deputy_conditions_can_be_turned_off():
    doc = policies.ecs_task_trust("111111111111", "eu-west-1", confused_deputy=False, trust_ec2=True)
    assert all("Condition" not in s for s in doc["Statement"])
    assert [s["Principal"]["Service"] for s in doc["Statement"]] == ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]


def test_partition_follows_region():
    assert policies.partition_for_region("cn-north-1") == "aws-cn"
    assert policies.partition_for_region("us-gov-west-1") == "aws-us-gov"
    doc = policies.ecs_task_trust("111111111111", "cn-north-1")
    assert doc["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws-cn:ecs:cn-north-1:111111111111:*"


def test_execution_trust_pins_source_account_only():
    doc = policies.ecs_execution_trust("111111111111")
    assert doc["Statement"] == [
        {
            "Sid": "EcsTaskExecutionAssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}},
        }
    ]


def test_secrets_statements_scope_to_exact_arns_and_kms_via_secrets_manager():
    secrets = [
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:b-222222",
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:a-111111",
    ]
    key = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    read, decrypt = policies.secrets_read_statements(secrets, [key])
    assert read == {
        "Sid": "ReadAgentSecrets",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": sorted(secrets),
    }
    assert decrypt == {
        "Sid": "DecryptAgentSecrets",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
    }


def test_no_secrets_means_no_statements():
    assert policies.secrets_read_statements([], []) == []
    assert policies.with_statements(None, []) is None


def test_minified_size_ignores_whitespace():
    doc = {"Version": "2012-10-17", "Statement": []}
    assert policies.minified_size(doc) == len('{"Version":"2012-10-17","Statement":[]}')
