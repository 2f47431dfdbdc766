"""The offline plan: run the real program under Pulumi's mocks and write what `pulumi up` would create."""
