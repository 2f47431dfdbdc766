"""Existing roles brought under agent-iam (`agent-iam import`): an account's roles that third parties
and pipelines use, read from `aws iam get-account-authorization-details`, written as stack-file
entries that reproduce them, proven equal by the model of effective access, and adopted in place
with `pulumi import --file` (docs/adopting.md).

`import_account` (agent_iam.adopt.run) is the command's one step; `read_export` reads the file.
"""

from .export import ExportError, read_export
from .run import Imported, ImportRefused, import_account

__all__ = ["ExportError", "ImportRefused", "Imported", "import_account", "read_export"]
