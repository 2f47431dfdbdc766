"""Validated scalar types for stack config: ARNs, IAM names and paths, account IDs.

Each type is an ``Annotated[str, AfterValidator(check)]`` over a check of `agent_iam.iam.checks`
(the one home of each rule, which the components run too), so pydantic runs the check while it
parses the stack file, and the error quotes the value it received.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from agent_iam.iam.checks import (
    check_account_id,
    check_annotations,
    check_eks_cluster_name,
    check_entry_name,
    check_external_id,
    check_k8s_object_name,
    check_kms_key_arn,
    check_namespace,
    check_oidc_issuer_url,
    check_oidc_provider_arn,
    check_path,
    check_policy_arn,
    check_principal_arn,
    check_principal_pattern,
    check_region,
    check_role_arn,
    check_role_name,
    check_s3_location,
    check_secret_arn,
    check_service_account_name,
)

AccountId = Annotated[str, AfterValidator(check_account_id)]
Region = Annotated[str, AfterValidator(check_region)]
RoleName = Annotated[str, AfterValidator(check_role_name)]
EntryName = Annotated[str, AfterValidator(check_entry_name)]
IamPath = Annotated[str, AfterValidator(check_path)]
SecretArn = Annotated[str, AfterValidator(check_secret_arn)]
KmsKeyArn = Annotated[str, AfterValidator(check_kms_key_arn)]
PolicyArn = Annotated[str, AfterValidator(check_policy_arn)]
RoleArn = Annotated[str, AfterValidator(check_role_arn)]
ExternalId = Annotated[str, AfterValidator(check_external_id)]
PrincipalArn = Annotated[str, AfterValidator(check_principal_arn)]
PrincipalArnPattern = Annotated[str, AfterValidator(check_principal_pattern)]
S3Location = Annotated[str, AfterValidator(check_s3_location)]
EksClusterName = Annotated[str, AfterValidator(check_eks_cluster_name)]
OidcIssuerUrl = Annotated[str, AfterValidator(check_oidc_issuer_url)]
OidcProviderArn = Annotated[str, AfterValidator(check_oidc_provider_arn)]
Namespace = Annotated[str, AfterValidator(check_namespace)]
ServiceAccountName = Annotated[str, AfterValidator(check_service_account_name)]
K8sObjectName = Annotated[str, AfterValidator(check_k8s_object_name)]
Annotations = Annotated[dict[str, str], AfterValidator(check_annotations)]
