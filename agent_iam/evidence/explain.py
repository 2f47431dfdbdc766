"""`agent-iam explain`: why a request was denied, and the smallest stack-file change that allows it.

The denied request comes from a CloudTrail event (its session issuer, event source and name, the
resources it names, the request context it records, its error message) or from the error message
alone ("User: arn:... is not authorized to perform: s3:PutObject on resource: arn:... because no
identity-based policy allows the s3:PutObject action"). The role is found in the stack's plan by
account and name, and the model's evaluator (`agent_iam.model.evaluate`) decides the request as IAM
does: a Deny (which statement), no statement allows it, a condition not met (which one: operator,
key, the values it expects, what the request had), the permissions boundary, or, when the plan
allows it, something outside the stack: a service control policy, a resource control policy, a
resource policy (bucket, key, queue), a session policy or a VPC endpoint policy (the error message
names which, when it does).

The smallest change is written into a copy of the stack file (`<out>/<stack>/explain/Pulumi.<stack>.yaml`)
where the stack file holds what refused the request:
- no statement allows it: the action dropped from the preset's `withoutActions` when the entry
  narrowed it away; else added to the entry's own statement that already covers the resource; else
  one new statement for exactly that action and resource;
- a condition of the entry's own statement: the value the request had added to the condition (or,
  for a negated operator, removed); a prefix condition built from `s3Read`: the location added;
- a Deny statement of the entry's own `policy`: its action (or resource) that names the request
  taken out of it.
Otherwise (a Deny or condition of a preset, of an AWS managed policy or built by agent-iam, the
boundary's content) it says plainly that the fix is outside the stack file, and where. The copy is
planned and compared with the stack as `agent-iam diff` compares two plans, and by the reasoner:
the change widens access, and the explanation says how.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from agent_iam.guardrails import rules
from agent_iam.iam import arns
from agent_iam.iam.checks import s3_location
from agent_iam.iam.policy_document import VERSION
from agent_iam.model import Decision, Request, RoleModel, Statement, StatementRef, evaluate, parse_document
from agent_iam.model import documents as model_documents
from agent_iam.model.evaluate import BOUNDARY_DENIES, BOUNDARY_DOES_NOT_ALLOW, BOUNDARY_UNKNOWN, ConditionFailure
from agent_iam.plan.diff import Diff, compare_stack

from .narrow import dump, entry_node, flow_sequence, load_round_trip, quoted_like, same_statement, write_text
from .records import Event, EvidenceError, read_file
from .requests import RequestContext, request_context, requests_of
from .roles import StackRole, plan_json, plan_models, stack_roles

# AWS's access-denied message: "User: <principal> is not authorized to perform: <action> on resource:
# <resource> because no <type> policy allows the <action> action" or "... with an explicit deny in a
# <type> policy[: <policy ARN>]" (IAM User Guide, "Troubleshoot access denied error messages").
MESSAGE_RE = re.compile(
    r"User: (?P<principal>arn:\S+) is not authorized to perform: (?P<action>[A-Za-z0-9-]+:[A-Za-z0-9*]+)"
    r"(?: on resource: \"?(?P<resource>[^\"\s]+?)\"?(?=\s|$))?"
    r"(?: because no (?P<implicit>[A-Za-z -]+?) policy allows the \S+ action"
    r"| with an explicit deny in an? (?P<explicit>[A-Za-z -]+?) policy(?:: (?P<policy>arn:[^\s.]+))?)?"
)
# What refuses a request outside the stack, by the policy type AWS's message names.
OUTSIDE = {
    "service control": "a service control policy (SCP) of the organization",
    "resource control": "a resource control policy (RCP) of the organization",
    "resource-based": "the resource's own policy (a bucket, key, queue or topic policy)",
    "session": "a session policy passed when the role was assumed",
    "VPC endpoint": "the VPC endpoint's policy",
}
OUTSIDE_ANY = ("a service control policy, a resource control policy, the resource's own policy, a session policy "
               "or a VPC endpoint policy")
# The reasons, as `Explanation.reason` names them.
DENY, NO_ALLOW, CONDITION, BOUNDARY, UNKNOWN, OUTSIDE_STACK = (
    "deny", "no-allow", "condition", "boundary", "unknown", "outside",
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
    """Why the request was denied, and the change that would allow it (and what it widens)."""

    denied: Denied
    role: StackRole | None
    reason: str = ""  # deny | no-allow | condition | boundary | unknown | outside
    why: str = ""  # the reason in words
    details: list[str] = field(default_factory=list)
    fix: str = ""  # where the fix is, in words (the stack-file change, or outside the stack)
    snippet: str = ""  # the smallest change, YAML
    stack_diff: list[str] = field(default_factory=list)  # the change to the stack file, unified diff
    widening: list[str] = field(default_factory=list)  # what `agent-iam diff` says it widens
    reasoner: str = ""  # the reasoner's verdict on the change, with its witness
    allows_after: bool | None = None
    folder: Path | None = None
    decision: Decision | None = None

    @property
    def text(self) -> str:
        d = self.denied
        role = self.role
        lines = [
            f"Denied: {d.action} on {d.resource or '(no resource named)'} ({d.where})",
            f"Role: {role.arn if role else d.role_name} " + (f"made by {role.entry} ({role.entry_name}, its {role.label})" if role else ""),
            f"Why: {self.why}",
            *[f"  {line}" for line in self.details],
        ]
        if self.fix:
            lines += ["", f"Fix: {self.fix}"]
        if self.snippet:
            lines += ["", "Smallest stack-file change that allows it:", self.snippet.rstrip()]
        if self.stack_diff:
            lines += ["", *self.stack_diff]
        if self.widening or self.reasoner:
            lines += ["", "This change WIDENS access (agent-iam diff of the stack against the changed copy):"]
            lines += [f"  - {w}" for w in self.widening]
            lines += [f"  - {self.reasoner}"] if self.reasoner else []
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


def model_statement(role: RoleModel, ref: StatementRef) -> Statement | None:
    """The statement a decision names, in the role's documents."""
    for document in role.documents:
        if document.source == ref.source:
            return document.statement(ref.number)
    return None


def _plain(node: Any) -> Any:
    return json.loads(json.dumps(node))


def own_statement(entry: Any, role: RoleModel, ref: StatementRef) -> tuple[int, Any] | None:
    """The entry's own `policy` statement (its index and node) a decision's statement is, by meaning."""
    statement = model_statement(role, ref)
    policy = entry.get("policy") if isinstance(entry, Mapping) else None
    items = policy.get("Statement") if isinstance(policy, Mapping) else None
    if statement is None or items is None or ref.source is None or ref.source.kind not in (
            model_documents.INLINE, model_documents.CUSTOMER_MANAGED):
        return None
    nodes = [items] if isinstance(items, Mapping) else list(items)
    for index, node in enumerate(nodes):
        try:
            (parsed,) = parse_document({"Version": VERSION, "Statement": [_plain(node)]}, partition=role.partition).statements
        except ValueError:
            continue
        if same_statement(parsed, statement) and node.get("Sid") == statement.sid:
            return index, node
    return None


def failure_words(failure: ConditionFailure, context: RequestContext | None) -> str:
    """A failed condition: operator, key, expected values, and what the request had (or that the
    event does not record the key)."""
    if failure.actual is not None:
        had = ", ".join(failure.actual)
    elif context is not None and context.records(failure.key):
        had = "no such key"
    else:
        had = f"no {failure.key} the {'event' if context is not None else 'message'} records"
    return f"{failure.operator} {failure.key} {list(failure.expected)} (the request had {had})"


def diagnose(explanation: Explanation, role: RoleModel, request: Request, context: RequestContext | None) -> None:
    """The reason, from the evaluator's decision: a Deny, the boundary, a condition not met, no
    statement, documents the plan cannot see, or (allowed by the plan) something outside the stack."""
    decision = evaluate(role, request)
    explanation.decision = decision
    denied = explanation.denied
    said = OUTSIDE.get(denied.policy_type)
    boundary = role.boundary.source.describe() if role.boundary is not None and role.boundary.source else "the boundary"
    if decision.denies:
        explanation.reason = DENY
        explanation.why = "a Deny statement refuses it: " + ", ".join(map(str, decision.denies))
    elif decision.allowed:
        explanation.reason = OUTSIDE_STACK
        explanation.why = (
            f"nothing in the plan explains it: the role's statements allow it ({', '.join(map(str, decision.allows))})"
            + (f"; the message names {said}" + (f" ({denied.policy_arn})" if denied.policy_arn else "") if said else
               f"; it was refused outside the stack: {OUTSIDE_ANY}")
        )
    elif decision.allows and decision.boundary in (BOUNDARY_DOES_NOT_ALLOW, BOUNDARY_DENIES, BOUNDARY_UNKNOWN):
        explanation.reason = BOUNDARY
        allowed_by = ", ".join(map(str, decision.allows))
        explanation.why = (f"the {boundary} does not allow it (the role's own statements do: {allowed_by})"
                           if decision.boundary != BOUNDARY_UNKNOWN else
                           f"perhaps the {boundary}: its content is not known offline, and the role's own statements "
                           f"allow it ({allowed_by})")
    elif decision.allowed is None:
        explanation.reason = UNKNOWN
        explanation.why = "the plan cannot tell: it depends on " + "; ".join(decision.unknown)
    else:
        misses = [m for m in decision.near_misses if m.conditions and not m.resource and not m.principal]
        if misses:
            explanation.reason = CONDITION
            explanation.why = "a condition was not met: the statements that would allow it do so under conditions"
            explanation.details = [f"{m.statement}: {failure_words(f, context)}" for m in misses for f in m.conditions]
        else:
            explanation.reason = NO_ALLOW
            explanation.why = "no statement of the role allows it (an implicit deny)"
            elsewhere = sorted({str(m.statement) for m in decision.near_misses if m.resource})
            if elsewhere:
                explanation.details.append(f"{request.action} is allowed, but on other resources, by: {', '.join(elsewhere)}")
    if denied.explicit and said and explanation.reason != OUTSIDE_STACK:
        explanation.details.append(f"the message names an explicit deny in {said} as well: allowing it in the stack "
                                   "is not enough")


# --- the smallest change -----------------------------------------------------------------


def _sid_for(action: str) -> str:
    return "Allow" + re.sub(r"[^A-Za-z0-9]", "", action.title().replace(":", ""))[:60]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _set_list(node: Any, key: str, values: list[Any]) -> None:
    """`node[key]` = values, a list edited in place (its comments and style stay), one value as text."""
    current = node[key]
    if isinstance(current, list) and len(values) > 1:
        for index in reversed(range(len(current))):
            if current[index] not in values:
                del current[index]
        for value in values:
            if value not in current:
                current.append(quoted_like(current, value))
        return
    if len(values) == 1:
        node[key] = values[0]
        return
    node[key] = flow_sequence(values, current)


def allow_change(entry: Any, role: StackRole, request: Request) -> str:
    """For a request no statement allows: edit the entry (a round-trip node) to allow it; the YAML
    snippet of what changed."""
    without = entry.get("withoutActions")
    if isinstance(without, list):
        for index, pattern in enumerate(list(without)):
            if rules.covers([str(pattern)], request.action):
                del without[index]
                if not without:
                    del entry["withoutActions"]
                return f"# {role.entry}: remove from withoutActions\n- {pattern}\n"
    resource = request.resource or "*"
    policy = entry.get("policy")
    statements = policy.get("Statement") if isinstance(policy, Mapping) else None
    if isinstance(statements, list):
        for index, statement in enumerate(statements):
            if (statement.get("Effect", "Allow") == "Allow" and "Action" in statement and not statement.get("Condition")
                    and any(arns.matches(p, resource) for p in rules.strings(statement.get("Resource")))):
                current = statement["Action"]
                if isinstance(current, list):
                    current.append(quoted_like(current, request.action))
                else:
                    seq = flow_sequence([current, request.action], current)
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


def _origin(entry: Any, role: RoleModel, ref: StatementRef) -> str:
    """Where a statement that is not the entry's own comes from, in words."""
    kind = ref.source.kind if ref.source else ""
    if kind == model_documents.AWS_MANAGED:
        return f"{ref}: AWS maintains that policy (attached with policyArns); the stack file cannot edit it"
    if kind == model_documents.BOUNDARY:
        return f"{ref}: the boundary's content is managed outside the stack"
    if kind == model_documents.ATTACHED_UNKNOWN:
        return f"{ref}: a policy the stack attaches but does not create; its content is managed outside the stack"
    if entry.get("preset"):
        return f"{ref}: from preset {entry['preset']} (the vendor's documented statements); the stack file narrows a preset but cannot loosen it"
    return f"{ref}: built by agent-iam from the entry's keys; no stack-file key loosens it"


def condition_change(explanation: Explanation, entry: Any, stack_role: StackRole, role: RoleModel,
                     request: Request) -> str:
    """For a condition not met: the value the request had added to the entry's own condition (removed
    from a negated one), or an `s3Read` location for S3's prefix condition; "" (and `fix` says why)
    where the stack file holds no such condition."""
    from agent_iam.model.evaluate import value_matches

    decision = explanation.decision
    assert decision is not None
    outside = []
    for miss in decision.near_misses:
        if not miss.conditions or miss.resource or miss.principal:
            continue
        statement = model_statement(role, miss.statement)
        own = own_statement(entry, role, miss.statement)
        if own is None:
            location = _prefix_location(entry, miss.conditions, request)
            if location:
                _add_location(entry, location)
                return (f"# {stack_role.entry}: s3Read, add the location (s3:prefix is built from it)\n"
                        + _yaml_of({"s3Read": [location]}))
            outside.append(_origin(entry, role, miss.statement))
            continue
        if len(miss.conditions) != 1 or statement is None:
            outside.append(f"{miss.statement}: {len(miss.conditions)} conditions failed; change them by hand")
            continue
        (failure,) = miss.conditions
        condition = next(c for c in statement.conditions
                         if (c.written or c.operator) == failure.operator and (c.key_written or c.key) == failure.key)
        if failure.actual is None or len(failure.actual) != 1 or condition.set_operator or condition.family not in (
                model_documents.STRING, model_documents.ARN_FAMILY):
            outside.append(f"{miss.statement}: {failure.operator} {failure.key}: no value of the request to "
                           "add; change the condition by hand")
            continue
        (value,) = failure.actual
        index, node = own
        block = node["Condition"][failure.operator]
        if condition.negated:
            matched = [condition.values[i] for i in range(len(condition.values))
                       if value_matches(condition, i, value, request)]
            kept = [v for v in _as_list(block[failure.key]) if v not in matched]
            if not kept:
                del block[failure.key]
                if not block:
                    del node["Condition"][failure.operator]
                if not node["Condition"]:
                    del node["Condition"]
                words = f"remove the condition {failure.operator} {failure.key}"
            else:
                _set_list(block, failure.key, kept)
                words = f"take {', '.join(f'`{m}`' for m in matched)} out of {failure.operator} {failure.key}"
        else:
            _set_list(block, failure.key, [*_as_list(block[failure.key]), value])
            words = f"add `{value}` to {failure.operator} {failure.key}"
        return f"# {stack_role.entry}: policy.Statement[{index}] ({rules.label(node, index)}), {words}\n" + _yaml_of(node)
    explanation.fix = "outside the stack file: " + "; ".join(outside) if outside else ""
    return ""


def _prefix_location(entry: Any, failures: tuple[ConditionFailure, ...], request: Request) -> str:
    """The `s3Read` location that would give S3's prefix condition the request's prefix: its folder."""
    if len(failures) != 1 or failures[0].key.lower() != "s3:prefix" or failures[0].actual is None:
        return ""
    parsed = arns.parse(request.resource)
    locations = [str(v) for v in [*(entry.get("s3Read") or []), *(entry.get("s3Write") or [])]]
    if parsed is None or parsed.service != "s3" or "/" in parsed.resource:
        return ""
    bucket = parsed.resource
    if not any(s3_location(v)[0] == bucket for v in locations):
        return ""
    folder = failures[0].actual[0].rpartition("/")[0].strip("/")
    return f"{bucket}/{folder}" if folder else bucket


def _add_location(entry: Any, location: str) -> None:
    current = entry.get("s3Read")
    if isinstance(current, list):
        current.append(location)
    else:
        seq = CommentedSeq([location])
        entry.insert(list(entry.keys()).index("s3Write") if "s3Write" in entry else len(entry), "s3Read", seq)


def deny_change(explanation: Explanation, entry: Any, stack_role: StackRole, role: RoleModel, request: Request) -> str:
    """For a Deny of the entry's own `policy`: take out of it the action (or the resource) that names
    the request; "" (and `fix` says where) for a Deny the stack file does not hold, or one whose
    wildcard covers the request."""
    decision = explanation.decision
    assert decision is not None
    outside = []
    for ref in decision.denies:
        own = own_statement(entry, role, ref)
        if own is None:
            outside.append(_origin(entry, role, ref))
            continue
        index, node = own
        label = rules.label(node, index)
        where = f"# {stack_role.entry}: policy.Statement[{index}] ({label}), "
        written = _as_list(node.get("Action")) if "Action" in node else []
        exact = [a for a in written if str(a).lower() == request.action.lower()]
        resources = _as_list(node.get("Resource")) if "Resource" in node else []
        exact_resources = [r for r in resources if request.resource and str(r) == request.resource]
        if exact and len(written) > 1:
            _set_list(node, "Action", [a for a in written if a not in exact])
            return where + f"take `{exact[0]}` out of the Deny's Action\n" + _yaml_of(node)
        if exact_resources and len(resources) > 1:
            _set_list(node, "Resource", [r for r in resources if r not in exact_resources])
            return where + f"take `{exact_resources[0]}` out of the Deny's Resource\n" + _yaml_of(node)
        if exact and not node.get("Condition"):
            statements = entry["policy"]["Statement"]
            if isinstance(statements, list) and len(statements) > 1:
                del statements[index]
            else:
                del entry["policy"]
            return where + "remove the Deny: it denies only this action\n" + _yaml_of({"removed": _plain(node)})
        covering = [str(a) for a in written if rules.covers([str(a)], request.action)] or ["NotAction"]
        outside.append(f"{ref}: its {', '.join(f'`{c}`' for c in covering)} covers {request.action}; narrow it by "
                       "hand (list what it should still deny)")
    explanation.fix = "; ".join(outside)
    return ""


def boundary_fix(tree: Any, entry: Any, role: RoleModel, source: Path) -> str:
    """Where the stack file sets the role's boundary (key and line), and that its content is not in it."""
    arn = role.boundary.source.arn if role.boundary is not None and role.boundary.source else None
    if entry.get("permissionsBoundaryArn"):
        node, key, where = entry, "permissionsBoundaryArn", "the entry's permissionsBoundaryArn"
    else:
        defaults = tree["config"].get("agent-iam:defaults") or {}
        node, key, where = defaults, "permissionsBoundaryArn", "agent-iam:defaults.permissionsBoundaryArn"
    line = node.lc.key(key)[0] + 1 if isinstance(node, CommentedMap) and key in node else None
    set_by = f"{where} ({source}:{line})" if line else where
    return (f"the stack file sets the boundary ({arn or 'unknown'}) with {set_by}, but its content is managed "
            "outside the stack: allow the action in that policy, or set a boundary for this entry that allows it "
            "(guardrails.permissionsBoundaries lists the ones the stack accepts)")


def _yaml_of(value: Any) -> str:
    from .narrow import yaml_rt

    yaml = yaml_rt()
    yaml.indent(mapping=2, sequence=4, offset=2)
    lines = dump(yaml, value).splitlines()
    while lines and lines[-1].lstrip().startswith("#"):  # the next entry's comment, held by this node
        lines.pop()
    return "\n".join(lines) + "\n"


def propose(explanation: Explanation, tree: Any, entry: Any, stack_role: StackRole, role: RoleModel,
            request: Request, source: Path) -> str:
    """Edit the stack file's tree with the smallest change that allows the request, and return its
    snippet; "" when the stack file holds no fix (`fix` then says where it is)."""
    denied = explanation.denied
    if explanation.reason == NO_ALLOW:
        return allow_change(entry, stack_role, request)
    if explanation.reason == CONDITION:
        return condition_change(explanation, entry, stack_role, role, request)
    if explanation.reason == DENY:
        return deny_change(explanation, entry, stack_role, role, request)
    if explanation.reason == BOUNDARY:
        explanation.fix = boundary_fix(tree, entry, role, source)
    elif explanation.reason == UNKNOWN:
        explanation.fix = "outside what the plan can see: the documents named above decide it"
    else:
        said = OUTSIDE.get(denied.policy_type)
        explanation.fix = f"outside the stack: {said or OUTSIDE_ANY} refuses it; the stack file already allows it"
    return ""


def explain(stacks_dir: Path, stack: str, out: Path, *, event_file: Path | None = None, message: str | None = None) -> Explanation:
    """Explain one denied request against the stack's plan; write the changed copy and its diff."""
    from agent_iam.model import solver
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
    if role is None or role.model is None:
        raise EvidenceError([f"{denied.where}: role {denied.role_name} in account {denied.account} is no role of stack "
                             f"{stack} (its roles: {', '.join(r.arn for r in roles)})"])
    context = request_context(denied.event, denied.action) if denied.event is not None else None
    request = Request(None, denied.action, denied.resource, context.values if context else {})
    explanation = Explanation(denied, role)
    diagnose(explanation, role.model, request, context)
    source = stack_file_path(stacks_dir, stack)
    text = source.read_text(encoding="utf-8")
    yaml, tree = load_round_trip(text)
    explanation.snippet = propose(explanation, tree, entry_node(tree, role.entry), role, role.model, request, source)
    if not explanation.snippet:
        return explanation
    changed = dump(yaml, tree)
    explanation.stack_diff = list(difflib.unified_diff(text.splitlines(), changed.splitlines(), str(source),
                                                       "with the change", lineterm="", n=1))
    folder = plan_folder(out, stack) / "explain"
    write_text(folder / f"Pulumi.{stack}.yaml", changed, root=out)
    after = plan_stack(folder, stack, folder / "plan")
    assert not isinstance(after, int)
    after_plan = plan_json(after.files)
    stack_diff = compare_stack(stack, current_plan, after_plan)
    write_diff(Diff(str(source), "with the change", [stack], [] if stack_diff.empty else [stack_diff]), folder)
    explanation.widening = [f"{r.name}: {c.what} `{c.value}`" + (f" ({c.note})" if c.note else "") + f" in {c.where}"
                            for r in stack_diff.roles for c in r.widening]
    explanation.widening += [f"stack: {c.what}: {c.value}" for c in stack_diff.stack_changes if c.kind == "widening"]
    after_model = plan_models(after.run.settings, after_plan).get((role.account, role.name))
    explanation.allows_after = evaluate(after_model, request).allowed if after_model is not None else False
    comparison = solver.compare(role.model, after_model).permissions
    if comparison.wider is not None:
        w = comparison.wider.to_dict()
        context = ", ".join(f"{k} = {v}" for k, v in w["context"].items())
        explanation.reasoner = (f"the reasoner: the role's permissions become {comparison.verdict}: it may now call "
                                f"{w['action']}" + (f" on {w['resource']}" if w["resource"] else "")
                                + (f" with {context}" if context else ""))
    explanation.folder = folder
    return explanation
