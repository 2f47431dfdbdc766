"""AWS partitions, their regions and DNS suffixes: the one home, read from botocore's partition data.

botocore ships `data/partitions.json` (the file the AWS SDKs share): each partition's id (`aws`,
`aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f`, `aws-eusc`, ...), its
regions, the pattern its region names follow, and its DNS suffix (`amazonaws.com`,
`amazonaws.com.cn`, `c2s.ic.gov`, ...). A copy lives in `data/partitions.json` (`make partitions`
refreshes it from the botocore the dev tools pin), so `pulumi up` does not install botocore for
one file. A region AWS adds later follows its partition's pattern, so a name that matches a
pattern is placed in that partition even before botocore lists it; `check_region` still asks for
a region botocore knows, with a "did you mean".
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from agent_iam.iam import arns

DATA = "data/partitions.json"


@dataclass(frozen=True)
class Partition:
    id: str
    dns_suffix: str
    region_regex: re.Pattern[str]
    regions: tuple[str, ...]
    global_region: str = ""  # where the partition's global services (IAM) are served from


def botocore_partitions_file() -> Path:
    """botocore's own `data/partitions.json` (where `make partitions` copies from)."""
    spec = find_spec("botocore")  # its data only: importing botocore itself is not needed
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed (requirements-dev.txt): `make partitions` copies its partition data")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "partitions.json"


def refreshed_data() -> str:
    """The text of `data/partitions.json` from the installed botocore: its partition data as it is,
    with the botocore version it came from."""
    from importlib.metadata import version

    data = json.loads(botocore_partitions_file().read_text(encoding="utf-8"))
    return json.dumps({"source": f"botocore {version('botocore')} data/partitions.json", **data}, indent=1) + "\n"


@lru_cache(maxsize=1)
def partitions() -> tuple[Partition, ...]:
    """Every partition botocore knows, in its order (`aws` first)."""
    data = json.loads(resources.files("agent_iam.iam").joinpath(DATA).read_text(encoding="utf-8"))
    result = []
    for entry in data["partitions"]:
        regions = tuple(
            sorted(name for name in entry.get("regions", {}) if entry["regionRegex"] and re.fullmatch(
                entry["regionRegex"].strip("^$"), name, re.ASCII))
        )
        result.append(
            Partition(
                id=entry["id"],
                dns_suffix=entry["outputs"]["dnsSuffix"],
                region_regex=re.compile(entry["regionRegex"].strip("^$"), re.ASCII),
                regions=regions,
                global_region=entry["outputs"].get("implicitGlobalRegion", ""),
            )
        )
    return tuple(result)


def partition_ids() -> tuple[str, ...]:
    return tuple(p.id for p in partitions())


@lru_cache(maxsize=1)
def known_regions() -> tuple[str, ...]:
    """Every region botocore lists (the `*-global` pseudo-regions left out); fixed like `partitions()`."""
    return tuple(sorted(r for p in partitions() for r in p.regions))


@lru_cache(maxsize=1)
def _known_region_set() -> frozenset[str]:
    return frozenset(known_regions())


def _partition_of(region: str) -> Partition | None:
    for partition in partitions():
        if region in partition.regions:
            return partition
    for partition in partitions():
        if partition.region_regex.fullmatch(region):
            return partition
    return None


def partition_for_region(region: str) -> str:
    """The ARN partition of a region (`cn-north-1` -> `aws-cn`, `us-isob-east-1` -> `aws-iso-b`).

    A region no partition's pattern matches raises ValueError: it never silently gets `aws`.
    """
    partition = _partition_of(region)
    if partition is None:
        raise ValueError(f"not an AWS region name: {region!r}")
    return partition.id


def global_region(partition: str) -> str:
    """The region a partition's global services (IAM, STS's global endpoint) are served from
    (`aws` -> `us-east-1`, `aws-cn` -> `cn-northwest-1`): a region to name when only the partition is known."""
    for known in partitions():
        if known.id == partition and known.global_region:
            return known.global_region
    raise ValueError(f"not an AWS partition botocore knows: {partition!r}")


def dns_suffix(region: str) -> str:
    """The DNS suffix of a region's service endpoints (`amazonaws.com`, `amazonaws.com.cn`, ...)."""
    partition = _partition_of(region)
    if partition is None:
        raise ValueError(f"not an AWS region name: {region!r}")
    return partition.dns_suffix


def service_endpoint(service: str, region: str) -> str:
    """`<service>.<region>.<dns suffix>`: the name `kms:ViaService` compares with."""
    return f"{service}.{region}.{dns_suffix(region)}"


def check_region(region: str) -> str:
    """`region` if botocore knows it; otherwise ValueError with the closest names."""
    if not isinstance(region, str) or not re.fullmatch(r"[a-z0-9-]+", region, re.ASCII) or region not in _known_region_set():
        hints = difflib.get_close_matches(str(region).lower().strip(), known_regions(), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
        raise ValueError(f"not an AWS region botocore knows: {region!r}{hint}")
    return region


def check_partition(partition: str, region: str, *, what: str = "this ARN") -> None:
    """ValueError unless an ARN's `partition` is the one `region` belongs to."""
    expected = partition_for_region(region)
    if partition != expected:
        raise ValueError(
            f"{what} is in partition {partition!r}, but region {region} is in {expected!r}: "
            f"use arn:{expected}:... (IAM refuses principals and resources of another partition)"
        )


Location = tuple[str | int, ...]


def strings_in(value: object, loc: Location = (), skip: frozenset[str] = frozenset()) -> Iterator[tuple[Location, str]]:
    """`(key path, string)` of every string in a value of mappings and lists (keys in `skip` left out)."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in skip:
                yield from strings_in(item, (*loc, key), skip)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from strings_in(item, (*loc, index), skip)


def foreign_arns(value: object, region: str, skip: frozenset[str] = frozenset()) -> list[tuple[Location, str, str]]:
    """`(key path, ARN, its partition)` of every ARN in `value` outside the partition of `region`: IAM refuses a
    principal, resource or boundary of another partition, and no role can be assumed across partitions."""
    expected = partition_for_region(region)
    found = []
    for loc, text in strings_in(value, skip=skip):
        partition = arns.partition_of(text)
        if partition is not None and partition != expected:
            found.append((loc, text, partition))
    return found


if __name__ == "__main__":  # `make partitions`
    target = Path(__file__).resolve().parent / DATA
    target.write_text(refreshed_data(), encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
