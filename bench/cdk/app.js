// The benchmark's roles as an AWS CDK app, synthesized with CDK's default `app.synth()`.
//
//   node app.js ROLES.json OUTDIR
//
// ROLES.json (written by bench/cdk.py from the plan) lists every IAM role of the plan: its name,
// its trust policy, its inline policies and its managed policy ARNs. Each becomes an idiomatic
// `iam.Role`: the trust as `assumedBy` (a service, ARN or federated principal, with its
// conditions), inline policies as `inlinePolicies` (PolicyDocument.fromJson), managed policies as
// `ManagedPolicy.fromManagedPolicyArn`. CloudFormation takes at most 500 resources per stack (CDK's
// synth refuses more), so the roles go into as many stacks of STACK_ROLES roles as they need: what a
// CDK user has to do, where one agent-iam (Pulumi) stack holds them all.
"use strict";

const fs = require("fs");
const cdk = require("aws-cdk-lib");
const iam = require("aws-cdk-lib/aws-iam");

const [rolesFile, outdir] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(rolesFile, "utf8"));

function principalOf(statement) {
  const principal = statement.Principal || {};
  const conditions = statement.Condition || {};
  let p;
  if (principal.Service) {
    p = new iam.ServicePrincipal(principal.Service);
  } else if (principal.Federated) {
    p = new iam.FederatedPrincipal(principal.Federated, {}, statement.Action);
  } else if (principal.AWS) {
    p = new iam.ArnPrincipal(principal.AWS);
  } else {
    throw new Error(`unsupported principal ${JSON.stringify(principal)}`);
  }
  return Object.keys(conditions).length ? p.withConditions(conditions) : p;
}

const STACK_ROLES = 450;
const app = new cdk.App({ outdir });
let stack;

spec.roles.forEach((role, index) => {
  if (index % STACK_ROLES === 0) {
    stack = new cdk.Stack(app, `${spec.stack}${index / STACK_ROLES}`, {
      env: { account: spec.account, region: spec.region },
    });
  }
  const [first, ...more] = role.trust.Statement;
  const inlinePolicies = {};
  for (const [name, doc] of Object.entries(role.inline)) {
    inlinePolicies[name] = iam.PolicyDocument.fromJson(doc);
  }
  const created = new iam.Role(stack, role.name, {
    roleName: role.name,
    path: role.path,
    assumedBy: principalOf(first),
    inlinePolicies,
    managedPolicies: role.managed.map((arn, i) => iam.ManagedPolicy.fromManagedPolicyArn(stack, `${role.name}-managed-${i}`, arn)),
  });
  for (const statement of more) {
    created.assumeRolePolicy.addStatements(
      new iam.PolicyStatement({ actions: [].concat(statement.Action), principals: [principalOf(statement)] }),
    );
  }
});

app.synth();
