"""IAM facts and rules with one home each: value checks, policy document shape, limits, ARNs."""
