"""Each family's page documents every key its entries take (issue 22: a new user writes a stack file from
the docs alone). Keys are read from the stack-config models, so a key added to a family without a row in
its page's config table fails here. `preset` and `presetParameters` are documented in docs/presets.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_iam.stack_config import models

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "docs/ecs-agents.md": models.EcsAgent,
    "docs/ec2-agents.md": models.Ec2Agent,
    "docs/saas-roles.md": models.SaasRole,
    "docs/eks-service-accounts.md": models.ServiceAccount,
    "docs/oidc-roles.md": models.OidcRole,
}
# Documented once for every family: the presets page; a refused former key is explained in its row's text.
ELSEWHERE = {"preset", "presetParameters"}


def documented_keys(page: str) -> set[str]:
    """The keys in backticks of the first column of the page's table rows (`vendor.principalArn` is `vendor`)."""
    rows = [line for line in (ROOT / page).read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    return {key.split(".")[0] for row in rows for key in re.findall(r"`([A-Za-z][A-Za-z0-9.]*)`", row.split("|")[1])}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_key_of_a_family_has_a_row_in_its_page(page):
    documented = documented_keys(page) | {key for key in re.findall(r"`([A-Za-z]+)` key is refused", (ROOT / page).read_text())}
    missing = sorted(PAGES[page]._aliases() - ELSEWHERE - documented)
    assert missing == [], f"{page} has no row for {missing}"
    assert {"policyFiles", "description", "acceptedFindings"} <= documented
