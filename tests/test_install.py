"""`pip install` of the repository gives a working `agent_iam` on its own: built as a wheel from a
clean copy of the tree and installed into a fresh venv (the pinned dependencies come from this
project's venv, so no index is needed), a ten-line program creates a SaaS role whose principal
is another resource's output, under mocks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from conftest import ROOT

# A new user's first program: the vendor's principal is another resource's output.
PROGRAM = """\
import pulumi, pulumi_aws as aws, agent_iam
class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        if args.name == "saas-role": print("TRUST", args.inputs["assumeRolePolicy"])
        return args.name, {**args.inputs, "arn": f"arn:aws:iam::222222222222:role/{args.inputs.get('name', args.name)}"}
    def call(self, args): return {}, None
pulumi.runtime.set_mocks(Mocks(), preview=False)
vendor = aws.iam.Role("vendor", name="vendor-control-plane", assume_role_policy="{}")
role = agent_iam.SaasAccessRole("saas", agent_iam.SaasAccessRoleArgs(principal_arn=vendor.arn, external_id="ext-1234"))
pulumi.runtime.test(lambda: role.role_arn.apply(lambda arn: print("FILE", agent_iam.__file__)))()
"""


def test_pip_install_of_the_tree_gives_a_working_package(tmp_path: Path):
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv", "build", "policy", "*.egg-info", "__pycache__", ".git", "tests", "bench")
    shutil.copytree(ROOT, source, ignore=ignore)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
    )
    [wheel] = wheels.glob("agent_iam-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)  # this venv's pip installs into it (--python): no ensurepip
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The pinned dependencies, without this checkout: only the dependencies' folder, no .pth of it is processed.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True)
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    result = subprocess.run([python, str(program)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["FILE"].startswith(site), lines["FILE"]  # the installed package, not this checkout
    trust = json.loads(lines["TRUST"])
    assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::222222222222:role/vendor-control-plane"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-1234"}}

