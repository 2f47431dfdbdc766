"""IAM facts and rules with one home each: value checks (`checks`), policy document shape
(`policy_document`), ARNs (`arns`), actions and their access levels (`actions`), quotas and field
limits (`limits`), partitions, regions and DNS suffixes (`partitions`), AWS managed policies and
their current documents (`managed_policies`)."""
