"""IAM facts shared by every layer, each in one home: limits, partitions, ARNs, actions."""
