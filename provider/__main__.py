"""agent-iam's component provider, as Pulumi starts a plugin folder: `python <this folder> <engine address>`.

The folder holds only what starts it (PulumiPlugin.yaml, requirements.txt, this file); the
components come from the `agent_iam` package that requirements.txt installs into its venv.
"""

from agent_iam.provider.host import serve

if __name__ == "__main__":
    serve()
