"""IAM facts with one home each: ARNs (`arns`), actions and their access levels (`actions`)."""
