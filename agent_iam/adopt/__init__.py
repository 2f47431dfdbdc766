"""Existing roles brought under agent-iam (`agent-iam import`, docs/adopting.md): an account's roles
that third parties and pipelines use, read from `aws iam get-account-authorization-details`, written
as stack-file entries that reproduce them, proven equal by the model of effective access, and
adopted in place with `pulumi import --file`.

Modules: `export` (the file), `trusts` (who a role trusts, as a family), `entries` and `presets`
(the entry's keys), `select` (the stack config chooses), `stackfile` (the YAML), `proof` (the
model compares), `importfile` (import.json), `summary` (import.md), `run` (the command's one
step, `import_account`), `transform` (the `import` resource option for a program of your own;
it needs only Pulumi). Nothing is imported here, so the last works without the plan tools.
"""
