"""IAM facts with one home each: ARNs (`arns`), actions and their access levels (`actions`),
quotas and field limits (`limits`), partitions, regions and DNS suffixes (`partitions`)."""
