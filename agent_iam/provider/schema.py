"""Write the component provider's package schema (`make schema` -> build/schema.json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent_iam.provider.host import package_schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_iam.provider.schema", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/schema.json"), help="where to write it")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(package_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
