"""The component provider's entry point: Pulumi runs this (PulumiPlugin.yaml `main`) to serve
agent-iam's components to programs in any language."""

from pulumi.provider.experimental import component_provider_host

from agent_iam.provider import PACKAGE, components, version

if __name__ == "__main__":
    component_provider_host(components(), PACKAGE, version=version())
