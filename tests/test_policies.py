"""Policy builders are pure functions: compare their documents statement by statement."""

from __future__ import annotations

from agent_iam.components import policies
from agent_iam.iam.limits import minified_size


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


def test_ecs_task_trust_with_ec2_adds_its_own_statement_as_aws_documents_it():
    doc = policies.ecs_task_trust("111111111111", "eu-west-1", trust_ec2=True)
    assert len(doc["Statement"]) == 2
    assert doc["Statement"][1] == {
        "Sid": "Ec2AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    pinned = policies.ecs_task_trust("111111111111", "eu-west-1", trust_ec2=True, ec2_source_account=True)
    assert pinned["Statement"][1]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_confused_deputy_conditions_can_be_turned_off():
    doc = policies.ecs_task_trust("111111111111", "eu-west-1", confused_deputy=False, trust_ec2=True)
    assert all("Condition" not in s for s in doc["Statement"])
    assert [s["Principal"]["Service"] for s in doc["Statement"]] == ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]


def test_partition_follows_region():
    assert policies.partition_for_region("cn-north-1") == "aws-cn"
    assert policies.partition_for_region("us-gov-west-1") == "aws-us-gov"
    doc = policies.ecs_task_trust("111111111111", "cn-north-1")
    assert doc["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws-cn:ecs:cn-north-1:111111111111:*"


def test_execution_trust_is_the_documented_one_and_source_account_an_opt_in():
    assert policies.ecs_execution_trust("111111111111")["Statement"] == [
        {
            "Sid": "EcsTaskExecutionAssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    doc = policies.ecs_execution_trust("111111111111", source_account=True)
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
    assert minified_size(doc) == len('{"Version":"2012-10-17","Statement":[]}')


# --- EKS ---------------------------------------------------------------------------

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::111111111111:oidc-provider/{ISSUER}"


def test_irsa_trust_statement_is_the_eks_documented_shape():
    statement = policies.irsa_trust_statement("Irsa", PROVIDER, f"https://{ISSUER}", ["system:serviceaccount:a:b"])
    assert statement == {
        "Sid": "Irsa",
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:a:b", f"{ISSUER}:aud": "sts.amazonaws.com"}},
    }


def test_irsa_wildcard_moves_only_sub_to_string_like_and_dedupes_subjects():
    statement = policies.irsa_trust_statement(
        "Irsa", PROVIDER, ISSUER, ["system:serviceaccount:a:*", "system:serviceaccount:a:*", "system:serviceaccount:b:c"],
        wildcard=True,
    )
    assert statement["Condition"] == {
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
        "StringLike": {f"{ISSUER}:sub": ["system:serviceaccount:a:*", "system:serviceaccount:b:c"]},
    }


def test_irsa_trust_has_one_statement_per_cluster_with_distinct_sids():
    doc = policies.irsa_trust(
        [policies.IrsaTrust("a-b", PROVIDER, ISSUER, ["s1"]), policies.IrsaTrust("a.b", PROVIDER, ISSUER, ["s2"])]
    )
    assert [s["Sid"] for s in doc["Statement"]] == ["IrsaAB", "IrsaAB1"]


def test_pod_identity_trust_with_and_without_session_tags():
    bare = policies.pod_identity_trust("111111111111")
    assert bare["Statement"] == [
        {
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ]
    pinned = policies.pod_identity_trust("111111111111", source_account=True)
    assert pinned["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    tagged = policies.pod_identity_trust("111111111111", cluster_name="c", namespace="n", service_account="s")
    assert tagged["Statement"][0]["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/eks-cluster-name": "c",
            "aws:RequestTag/kubernetes-namespace": "n",
            "aws:RequestTag/kubernetes-service-account": "s",
        }
    }


def test_cross_account_pod_identity_documents():
    source = "arn:aws:iam::111111111111:role/agent-pod-identity"
    target = "arn:aws:iam::222222222222:role/agent"
    assert policies.pod_identity_target_trust(source, "ext-1")["Statement"] == [
        {
            "Sid": "PodIdentityRoleChaining",
            "Effect": "Allow",
            "Principal": {"AWS": source},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"sts:ExternalId": "ext-1"}},
        }
    ]
    assert policies.assume_target_role_policy(target)["Statement"] == [
        {"Sid": "AssumeTargetRole", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": target}
    ]
    assert policies.role_arn("aws", "222222222222", "/", "agent") == target


def test_permissions_document_puts_the_users_statements_first():
    own = {"Sid": "Own", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:1:q"}
    doc = policies.permissions_document("aws", {"Version": "2012-10-17", "Statement": [own]}, [("b", None)])
    assert [s["Sid"] for s in doc["Statement"]] == ["Own", "ListBuckets", "ReadObjects"]
    assert policies.permissions_document("aws", None) is None


def test_a_roles_registered_json_is_the_text_its_limits_measure():
    import json

    from agent_iam.components.role import Policy, RoleDocuments
    from agent_iam.iam.limits import policy_json

    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "É", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    docs = RoleDocuments(trust=doc, policies=(Policy("p", doc),))
    assert docs.document_json("trust") == policy_json(doc) == json.dumps(doc, separators=(",", ":"))
    assert len(docs.document_json("p")) == minified_size(doc)
    assert docs.document_json("other") is None
