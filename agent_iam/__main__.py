"""`python -m agent_iam ...`: the `agent-iam` command (see `agent_iam.cli`).

Run by Pulumi's plugin runner (`python -m pulumi.run.plugin agent-iam <engine address>`, which
runs this module when the package's namespace holds no component classes: they load lazily), it
serves the component provider instead, the same one `provider/__main__.py` serves.
"""

import sys


def _run_by_pulumi_plugin_runner() -> bool:
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "pulumi.run.plugin.__main__"


if __name__ == "__main__":
    if _run_by_pulumi_plugin_runner():
        from agent_iam.provider.host import serve

        serve()
    else:
        from agent_iam.cli import run

        run()
