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
import zipfile
from pathlib import Path

from conftest import ROOT

# A new user's first program: the vendor's principal is another resource's output.
PROGRAM = """\
import pulumi, pulumi_aws as aws, agent_iam
class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        if args.name == "saas-role": print("TRUST", args.inputs["assumeRolePolicy"])
        return args.name, {**args.inputs, "arn": f"arn:aws:iam::222222222222:role/{args.inputs.get('name', args.name)}"}
    def call(self, args): return {}  # as Pulumi's testing guide answers invokes (get_region: no region said)
pulumi.runtime.set_mocks(Mocks(), preview=False)
vendor = aws.iam.Role("vendor", name="vendor-control-plane", assume_role_policy="{}")
role = agent_iam.SaasAccessRole("saas", agent_iam.SaasAccessRoleArgs(principal_arn=vendor.arn, external_id="ext-1234"))
pulumi.runtime.test(lambda: role.role_arn.apply(lambda arn: print("FILE", agent_iam.__file__)))()
"""


def test_pip_install_of_the_tree_gives_a_working_package(tmp_path: Path):
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv*", "build", "policy", "*.egg-info", "__pycache__", ".git", "tests", "bench")
    shutil.copytree(ROOT, source, ignore=ignore)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
    )
    [wheel] = wheels.glob("agent_iam-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # typed and licensed: py.typed, the license file, an SPDX expression
        names = set(archive.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        headers = archive.read(metadata).decode()
    assert "agent_iam/py.typed" in names and "agent_iam/iam/data/partitions.json" in names  # no botocore needed
    assert metadata.replace("METADATA", "licenses/LICENSE") in names
    assert "License-Expression: Apache-2.0" in headers.splitlines()
    assert "Provides-Extra: eks" in headers.splitlines()
    requires = [line.removeprefix("Requires-Dist: ") for line in headers.splitlines() if line.startswith("Requires-Dist: ")]
    kubernetes = [r for r in requires if r.startswith("pulumi-kubernetes")]
    assert kubernetes and all(r.endswith('; extra == "eks"') for r in kubernetes)  # only with the eks extra
    assert [r for r in requires if r.startswith("botocore")] == ['botocore>=1.41.0; extra == "plan"']  # not for `pulumi up`
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



def _pins(path: Path) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in lines if "==" in line}


def test_dependency_floors_are_the_releases_ci_tests():
    """pyproject's floors are constraints-min.txt, which CI's deeper pass (make test-min) runs the suite with;
    its test tools are requirements-dev.txt's."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    extras = project["optional-dependencies"]
    for spec in project["dependencies"] + extras["eks"] + extras["plan"]:  # the plan extra's floors too
        requirement = Requirement(spec)
        [floor] = [s.version for s in requirement.specifier if s.operator == ">="]
        floors[canonicalize_name(requirement.name)] = floor
    assert floors == _pins(ROOT / "constraints-min.txt")
    dev, tools = _pins(ROOT / "requirements-dev.txt"), _pins(ROOT / "requirements-min.txt")
    assert tools == {name: dev[name] for name in tools}
    assert "make test-min" in (ROOT / ".ci" / "run").read_text()
