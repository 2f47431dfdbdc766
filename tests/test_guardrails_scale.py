"""The judgement grows with the stack, not with its square: a guard for apply_acceptances, by counting.

A stack of K copies of the Databricks example (each with its reviewed acceptances) is judged with
the lists apply_acceptances receives wrapped to count every item it reads. Reading the whole stack
per entry (entries x findings, documents and violations) quadruples the count per item when K
quadruples; one pass plus each entry's own items keeps it flat.
"""

from __future__ import annotations

import copy

from ruamel.yaml import YAML

from conftest import ROOT
from agent_iam.plan import guardrails
from agent_iam.plan.guardrails import judge
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import read_stack_file


class Counted(list):
    """A list that counts the items read from it (iteration and indexing)."""

    reads = 0

    def __iter__(self):
        for item in super().__iter__():
            Counted.reads += 1
            yield item

    def __getitem__(self, index):
        Counted.reads += 1
        return super().__getitem__(index)


def _reads_per_entry(copies: int, tmp_path, monkeypatch) -> float:
    yaml = YAML()
    doc = yaml.load((ROOT / "examples" / "guardrails" / "Pulumi.databricks.yaml").read_text())
    entries = doc["config"]["agent-iam:saasRoles"]
    doc["config"]["agent-iam:saasRoles"] = [
        {**copy.deepcopy(dict(entry)), "name": f"{entry['name']}-{i:03d}"} for i in range(copies) for entry in entries
    ]
    stacks = tmp_path / f"stacks{copies}"
    stacks.mkdir()
    with open(stacks / f"Pulumi.db{copies}.yaml", "w") as f:
        yaml.dump(doc, f)
    config, secret_keys = read_stack_file(stacks, f"db{copies}")
    run = run_program(f"db{copies}", config, secret_keys)

    original = guardrails.apply_acceptances
    Counted.reads = 0

    def counting(settings, documents, views, violations, findings, **keys):
        return original(settings, Counted(documents), Counted(views), Counted(violations), Counted(findings), **keys)

    monkeypatch.setattr(guardrails, "apply_acceptances", counting)
    judgement = judge(run, run.settings, cache_dir=tmp_path / "cache")
    assert not judgement.blocked  # every copy's findings accepted by its own acceptances
    return Counted.reads / copies


def test_acceptances_read_each_entrys_own_items_not_the_whole_stack_per_entry(tmp_path, monkeypatch):
    small = _reads_per_entry(4, tmp_path, monkeypatch)
    large = _reads_per_entry(16, tmp_path, monkeypatch)
    assert small > 0
    assert large <= 1.5 * small, f"items read per entry grew from {small:.0f} (4 entries) to {large:.0f} (16 entries)"
