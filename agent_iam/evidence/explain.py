"""`agent-iam explain`: why a request was denied, and the smallest stack-file change that allows it.

The denied request comes from a CloudTrail event (its session issuer, event source and name, the
resources it names, its error message) or from the error message alone ("User: arn:... is not
authorized to perform: s3:PutObject on resource: arn:... because no identity-based policy allows
the s3:PutObject action"). The role is found in the stack's plan by account and name, and its
planned documents are read as IAM evaluates them: an explicit Deny first, then an Allow, then the
permissions boundary. When the plan grants the request outright, what refused it is outside the
stack: a service control policy, a resource control policy, a resource policy (bucket, key, queue),
a session policy or a VPC endpoint policy; the error message names which, when it does.

For a request no statement allows, the smallest change is written into a copy of the stack file
(`<out>/<stack>/explain/Pulumi.<stack>.yaml`): the action dropped from the preset's
`withoutActions` when the entry narrowed it away; else the action added to the entry's own
statement that already covers the resource; else one new statement for exactly that action and
resource. That copy is planned and compared with the stack as `agent-iam diff` compares two plans:
the change widens access, and the explanation says how.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from agent_iam.guardrails import rules
from agent_iam.iam import arns, managed_policies
from agent_iam.iam.policy_document import VERSION
from agent_iam.plan.diff import Diff, compare_stack, role_states

from .narrow import dump, entry_node, load_round_trip, write_text
from .proof import denies, grants, identity_statements
from .records import Event, EvidenceError, read_file
from .requests import ObservedRequest, requests_of
from .roles import StackRole, plan_json, stack_roles

# AWS's access-denied message: "User: <principal> is not authorized to perform: <action> on resource:
# <resource> because no <type> policy allows the <action> action" or "... with an explicit deny in a
# <type> policy[: <policy ARN>]" (IAM User Guide, "Troubleshoot access denied error messages").
MESSAGE_RE = re.compile(
    r"User: (?P<principal>arn:\S+) is not authorized to perform: (?P<action>[A-Za-z0-9-]+:[A-Za-z0-9*]+)"
    r"(?: on resource: \"?(?P<resource>[^\"\s]+?)\"?(?=\s|$))?"
    r"(?: because no (?P<implicit>[A-Za-z -]+?) policy allows the \S+ action"
    r"| with an explicit deny in an? (?P<explicit>[A-Za-z -]+?) policy(?:: (?P<policy>arn:[^\s.]+))?)?"
)


@dataclass
class Denied:
    """The denied request, as the event or message gives it."""

    account: str
    role_name: str
    action: str
    resource: str  # "" when neither the event nor the message names one
    where: str
    policy_type: str = ""  # from the message: "identity-based", "service control", ...
    explicit: bool = False
    policy_arn: str = ""
    event: Event | None = None


@dataclass
class Explanation:
    denied: Denied
    role: StackRole | None
    reason: str = ""
    details: list[str] = field(default_factory=list)
    snippet: str = ""  # the smallest change, YAML
    stack_diff: list[str] = field(default_factory=list)  # the change to the stack file, unified diff
    widening: list[str] = field(default_factory=list)  # what `agent-iam diff` says it widens
    allows_after: bool | None = None
    folder: Path | None = None

    @property
    def text(self) -> str:
        d = self.denied
        role = self.role
        lines = [
            f"Denied: {d.action} on {d.resource or '(no resource named)'} ({d.where})",
            f"Role: {role.arn if role else d.role_name} " + (f"made by {role.entry} ({role.entry_name}, its {role.label})" if role else ""),
            f"Why: {self.reason}",
            *[f"  {line}" for line in self.details],
        ]
        if self.snippet:
            lines += ["", "Smallest stack-file change that allows it:", self.snippet.rstrip()]
        if self.stack_diff:
            lines += ["", *self.stack_diff]
        if self.widening:
            lines += ["", "This change WIDENS access (agent-iam diff of the stack against the changed copy):"]
            lines += [f"  - {w}" for w in self.widening]
        if self.allows_after is False:
            lines += ["", "The changed plan still does not allow the request: no key of this entry gives this role the action."]
        if self.folder:
            lines += ["", f"Written to {self.folder} (Pulumi.<stack>.yaml, diff.md, diff.json, plan/)."]
        return "\n".join(lines)


def _role_of_principal(arn: str) -> tuple[str, str] | None:
    """(account, role name) of a role ARN or of a role session's ARN (`assumed-role/<name>/<session>`)."""
    parsed = arns.parse(arn)
    if parsed is None:
        return None
    if parsed.resource.startswith("assumed-role/"):
        return parsed.account, parsed.resource.split("/")[1]
    if parsed.resource.startswith("role/"):
        return parsed.account, parsed.resource.rsplit("/", 1)[1]
    return None


def parse_message(message: str, where: str = "--message") -> Denied:
    match = MESSAGE_RE.search(message)
    if not match:
        raise EvidenceError([f"{where}: not an access-denied message AWS writes (\"User: <ARN> is not authorized to "
                             f"perform: <action> on resource: <ARN> ...\"): {message[:160]!r}"])
    role = _role_of_principal(match["principal"])
    if role is None:
        raise EvidenceError([f"{where}: {match['principal']} is not a role or a role's session: agent-iam explains "
                             "the roles of a stack"])
    return Denied(role[0], role[1], match["action"], match["resource"] or "", where,
                  (match["implicit"] or match["explicit"] or "").strip(), bool(match["explicit"]), match["policy"] or "")


def denied_from_event(event: Event) -> Denied:
    if event.error_message and MESSAGE_RE.search(event.error_message):
        denied = parse_message(event.error_message, event.where)
        denied.event = event
        return denied
    role = _role_of_principal(event.issuer_arn or event.principal_arn)
    if role is None:
        raise EvidenceError([f"{event.where}: the event's principal ({event.principal_arn or event.identity_type}) is "
                             "not a role session"])
    requests, why = requests_of(event)
    if not requests:
        raise EvidenceError([f"{event.where}: {why}"])
    first = requests[0]
    resource = first.resources[0] if first.resources else ""
    return Denied(role[0], role[1], first.action, resource, event.where, event=event)


def read_denied(event_file: Path) -> Denied:
    events, skipped = read_file(event_file)
    denied = [e for e in events if e.denied]
    if not denied:
        codes = sorted({e.error_code or "none" for e in events})
        raise EvidenceError([f"{event_file}: no AccessDenied/UnauthorizedOperation event in it (error codes: {', '.join(codes)})"
                             + (f"; {skipped}" if skipped else "")])
    if len(denied) > 1:
        raise EvidenceError([f"{event_file}: {len(denied)} denied events; give one (e.g. with jq '.Records[N]')"])
    return denied_from_event(denied[0])


# --- the reason --------------------------------------------------------------------------


def _label(label: str, statement: Mapping[str, Any], index: int) -> str:
    return f"{label}, {rules.label(statement, index)}"


def diagnose(explanation: Explanation, request: ObservedRequest) -> None:
    """Fill the reason: a Deny, no Allow, a condition, the boundary, or something outside the plan."""
    role, denied = explanation.role, explanation.denied
    assert role is not None
    statements = identity_statements(role.state)
    numbered = [(label, s, i) for i, (label, s) in enumerate(statements)]
    refusing = [(label, s) for label, s, _ in numbered if denies(s, request)]
    conditional_denies = [(label, s) for label, s, _ in numbered
                          if s.get("Effect") == "Deny" and s.get("Condition") and denies({**s, "Condition": None}, request)]
    allows = [(label, s) for label, s, _ in numbered if grants(s, request)]
    outright = [(label, s) for label, s in allows if not s.get("Condition")]
    boundary = (role.state.settings.get("permissionsBoundary") if role.state else None) or ""
    if refusing:
        explanation.reason = "a Deny statement of the role refuses it"
        explanation.details = [f"{label}: Deny {', '.join(rules.strings(s.get('Action')))}" for label, s in refusing]
        return
    if not allows:
        explanation.reason = "no statement of the role allows it (an implicit deny)"
        granted_elsewhere = sorted({label for label, s in statements if rules.allows(s) and rules.granted(s, request.action)})
        if granted_elsewhere:
            explanation.details.append(f"{request.action} is allowed, but on other resources, by: {', '.join(granted_elsewhere)}")
        return
    if not outright:
        explanation.reason = "a condition was not met: the statements that allow it do so under conditions"
        for label, s in allows:
            for operator, block in (s.get("Condition") or {}).items():
                for key, values in block.items():
                    explanation.details.append(f"{label}: {operator} {key} {rules.strings(values) if not isinstance(values, str) else values}")
        return
    if conditional_denies:
        explanation.reason = "a conditional Deny statement may refuse it"
        explanation.details = [f"{label}: Deny under {s.get('Condition')}" for label, s in conditional_denies]
        return
    if boundary:
        document = managed_policies.document(boundary)
        if document is None:
            explanation.reason = (f"perhaps the permissions boundary {boundary}: its content is not known offline, "
                                  "and the role's own statements allow the request")
            return
        fake = [(f"boundary `{managed_policies.name_of(boundary)}`", s) for s in rules.statements(document)]
        if not any(grants(s, request) for _, s in fake):
            explanation.reason = f"the permissions boundary {boundary} does not allow it (the role's own statements do)"
            return
    outside = {
        "service control": "a service control policy (SCP) of the organization",
        "resource control": "a resource control policy (RCP) of the organization",
        "resource-based": "the resource's own policy (a bucket, key, queue or topic policy)",
        "session": "a session policy passed when the role was assumed",
        "VPC endpoint": "the VPC endpoint's policy",
    }
    said = outside.get(denied.policy_type)
    explanation.reason = (
        f"nothing in the plan explains it: the role's statements allow it ({', '.join(label for label, _ in outright)})"
        + (f"; the message names {said}" + (f" ({denied.policy_arn})" if denied.policy_arn else "") if said else
           "; it was refused outside the stack: a service control policy, a resource control policy, the resource's "
           "own policy, a session policy or a VPC endpoint policy")
    )


# --- the smallest change -----------------------------------------------------------------


def _sid_for(action: str) -> str:
    return "Allow" + re.sub(r"[^A-Za-z0-9]", "", action.title().replace(":", ""))[:60]


def smallest_change(entry: Any, role: StackRole, request: ObservedRequest) -> str:
    """Edit the entry (a round-trip node) to allow the request; the YAML snippet of what changed."""
    without = entry.get("withoutActions")
    if isinstance(without, list):
        for index, pattern in enumerate(list(without)):
            if rules.covers([str(pattern)], request.action):
                del without[index]
                if not without:
                    del entry["withoutActions"]
                return f"# {role.entry}: remove from withoutActions\n- {pattern}\n"
    resource = request.resources[0] if request.resource_known else "*"
    policy = entry.get("policy")
    statements = policy.get("Statement") if isinstance(policy, Mapping) else None
    if isinstance(statements, list):
        for index, statement in enumerate(statements):
            if (statement.get("Effect", "Allow") == "Allow" and "Action" in statement and not statement.get("Condition")
                    and any(arns.matches(p, resource) for p in rules.strings(statement.get("Resource")))):
                current = statement["Action"]
                if isinstance(current, list):
                    current.append(request.action)
                else:
                    seq = CommentedSeq([current, request.action])
                    seq.fa.set_flow_style()
                    statement["Action"] = seq
                return (f"# {role.entry}: policy.Statement[{index}] ({rules.label(statement, index)}), add the action\n"
                        + _yaml_of(statement))
    new = CommentedMap([("Sid", _sid_for(request.action)), ("Effect", "Allow"), ("Action", request.action),
                        ("Resource", resource)])
    if isinstance(statements, list):
        statements.append(new)
    else:
        entry["policy"] = CommentedMap([("Version", VERSION), ("Statement", CommentedSeq([new]))])
    snippet = f"# {role.entry}: add to policy.Statement\n" + _yaml_of([new])
    if resource == "*" or arns.covers_every_resource(resource):
        if not entry.get("allowWildcardResources"):
            entry["allowWildcardResources"] = True
            snippet += "# and, as the resource is every resource of its kind (printed in red by every plan):\nallowWildcardResources: true\n"
    return snippet


def _yaml_of(value: Any) -> str:
    from .narrow import yaml_rt

    yaml = yaml_rt()
    yaml.indent(mapping=2, sequence=4, offset=2)
    return dump(yaml, value)


def explain(stacks_dir: Path, stack: str, out: Path, *, event_file: Path | None = None, message: str | None = None) -> Explanation:
    """Explain one denied request against the stack's plan; write the changed copy and its diff."""
    from agent_iam.plan.cache import stack_file_path
    from agent_iam.plan.diff_report import write_diff
    from agent_iam.plan.paths import plan_folder
    from agent_iam.plan.planner import plan_stack

    denied = read_denied(event_file) if event_file is not None else parse_message(message or "")
    current = plan_stack(stacks_dir, stack, out)
    assert not isinstance(current, int)
    current_plan = plan_json(current.files)
    roles = stack_roles(current.run.settings, current_plan)
    role = next((r for r in roles if r.account == denied.account and r.name.lower() == denied.role_name.lower()), None)
    if role is None:
        raise EvidenceError([f"{denied.where}: role {denied.role_name} in account {denied.account} is no role of stack "
                             f"{stack} (its roles: {', '.join(r.arn for r in roles)})"])
    event = denied.event or Event(denied.where, datetime.now(timezone.utc), "", denied.action)
    request = ObservedRequest(denied.action, (denied.resource,) if denied.resource else (), event)
    explanation = Explanation(denied, role)
    diagnose(explanation, request)
    if not explanation.reason.startswith("no statement"):
        return explanation
    source = stack_file_path(stacks_dir, stack)
    text = source.read_text(encoding="utf-8")
    yaml, tree = load_round_trip(text)
    explanation.snippet = smallest_change(entry_node(tree, role.entry), role, request)
    changed = dump(yaml, tree)
    explanation.stack_diff = list(difflib.unified_diff(text.splitlines(), changed.splitlines(), str(source),
                                                       "with the change", lineterm="", n=1))
    folder = plan_folder(out, stack) / "explain"
    write_text(folder / f"Pulumi.{stack}.yaml", changed)
    after = plan_stack(folder, stack, folder / "plan")
    assert not isinstance(after, int)
    after_plan = plan_json(after.files)
    stack_diff = compare_stack(stack, current_plan, after_plan)
    write_diff(Diff(str(source), "with the change", [stack], [] if stack_diff.empty else [stack_diff]), folder)
    explanation.widening = [f"{r.name}: {c.what} `{c.value}`" + (f" ({c.note})" if c.note else "") + f" in {c.where}"
                            for r in stack_diff.roles for c in r.widening]
    explanation.widening += [f"stack: {c.what}: {c.value}" for c in stack_diff.stack_changes if c.kind == "widening"]
    state = role_states(after_plan).get((role.account, role.name))
    explanation.allows_after = any(grants(s, request) for _, s in identity_statements(state))
    explanation.folder = folder
    return explanation
