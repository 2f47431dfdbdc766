"""Pick, for each role, the first candidate entry the stack config accepts, judged by the stack
config itself (`agent_iam.stack_config.load_settings`: the models and every component's own
checks), so the importer never re-implements a rule. A role none of whose candidates passes is
named with the config's own message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam import stack_config

from .entries import Candidate
from .trusts import Cluster

ENTRY_RE = re.compile(r"agent-iam:(?P<family>[A-Za-z]+)\[(?P<index>\d+)\]")
CLUSTER_RE = re.compile(r"agent-iam:clusters\.(?P<key>[\w+=,.@-]+)")


@dataclass(eq=False)  # one per role: compared (and hashed) by identity
class Choice:
    """One role's candidates and the one chosen (None: the config refused them all, `problems` says why)."""

    role: str
    candidates: list[Candidate]
    cluster: Cluster | None = None
    index: int = 0
    problems: list[str] = field(default_factory=list)
    refused: bool = False

    @property
    def chosen(self) -> Candidate | None:
        return None if self.refused else self.candidates[self.index]

    def next(self, problems: Sequence[str]) -> None:
        """The current candidate failed with `problems`: try the next, or refuse with the first one's problems."""
        if not self.problems:
            self.problems = list(problems)
        if self.index + 1 < len(self.candidates):
            self.index += 1
        else:
            self.refused = True


def config_values(account: str, settings: Mapping[str, Any], choices: Sequence[Choice]) -> dict[str, Any]:
    """The `agent-iam:*` values (keys without the namespace) of the chosen entries and their clusters."""
    values: dict[str, Any] = {"accountId": account, **settings}
    clusters = {}
    for choice in choices:
        chosen = choice.chosen
        if chosen is None:
            continue
        values.setdefault(chosen.family, []).append(chosen.entry)
        if choice.cluster is not None and chosen.family == "serviceAccounts":
            clusters[choice.cluster.key] = {"oidcProviderArn": choice.cluster.provider_arn}
    if clusters:
        values["clusters"] = dict(sorted(clusters.items()))
    return values


def problems_of(values: Mapping[str, Any], stack: str, region: str) -> list[str]:
    try:
        stack_config.load_settings(values, stack=stack, region=region)
    except stack_config.ConfigError as exc:
        return exc.lines
    return []


def choose(account: str, settings: Mapping[str, Any], choices: list[Choice], stack: str, region: str) -> list[str]:
    """Settle every choice: each role alone first (its candidates in order), then all together, a
    role named by a problem of the whole stack moving on to its next candidate. Returns the
    problems no role is named by (none for a stack the importer built). The candidates' policy files
    are read from memory (nothing is written before the entries are chosen)."""
    from agent_iam.stack_config import policy_files

    files = {f.path: policy_files.FileRead(data=f.data) for c in choices for option in c.candidates for f in option.files}
    with policy_files.using(policy_files.Source(Path("."), files)):
        return _choose(account, settings, choices, stack, region)


def _choose(account: str, settings: Mapping[str, Any], choices: list[Choice], stack: str, region: str) -> list[str]:
    for choice in choices:
        while not choice.refused:
            found = problems_of(config_values(account, settings, [choice]), stack, region)
            if not found:
                break
            choice.next(found)
    while True:
        values = config_values(account, settings, choices)
        found = problems_of(values, stack, region)
        if not found:
            return []
        placed = place(found, choices)
        if not placed:
            return found
        for choice, lines in placed.items():
            choice.next(lines)


def place(lines: Sequence[str], choices: Sequence[Choice]) -> dict[Choice, list[str]]:
    """The choices whose entries the problem lines name (`agent-iam:saasRoles[2]...`, or a cluster key),
    counting entries as the stack file lists them: each family's chosen entries, in order."""
    by_position: dict[tuple[str, int], Choice] = {}
    counters: dict[str, int] = {}
    for choice in choices:
        chosen = choice.chosen
        if chosen is None:
            continue
        index = counters.get(chosen.family, 0)
        counters[chosen.family] = index + 1
        by_position[(chosen.family, index)] = choice
    placed: dict[Choice, list[str]] = {}
    for line in lines:
        match = ENTRY_RE.search(line)
        named = []
        if match and (match["family"], int(match["index"])) in by_position:
            named = [by_position[(match["family"], int(match["index"]))]]
        elif cluster := CLUSTER_RE.search(line):
            named = [c for c in choices if c.chosen is not None and c.cluster is not None and c.cluster.key == cluster["key"]]
        for choice in named:
            placed.setdefault(choice, []).append(line)
    return placed
