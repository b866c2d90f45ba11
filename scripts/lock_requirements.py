"""Prints poetry.lock as a pip requirements file: every locked package of the given groups, pinned
to its locked version, with its environment marker and the hashes of its files.

    python scripts/lock_requirements.py [--groups main,dev] [--lock poetry.lock] [--constraints]

`pip install --require-hashes --no-deps -r <that file>` then installs exactly the lock, without
poetry (its export plugin is not part of poetry). With --constraints, no hashes: a constraints
file (`pip install -c`) that holds a resolving install to the locked versions. Standard library only: it runs in the image's
bare Python before anything is installed.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional


def group_marker(package: Dict[str, Any], group: str) -> Optional[str]:
    """The marker under which `package` belongs to `group` ('' for always, None for never)."""
    if group not in package.get("groups", ["main"]):
        return None
    markers = package.get("markers")
    if isinstance(markers, dict):
        return markers.get(group, "")
    return markers or ""


def requirement_lines(lock: Dict[str, Any], groups: Iterable[str], with_hashes: bool = True) -> List[str]:
    lines = []
    for package in sorted(lock["package"], key=lambda p: (p["name"], p["version"])):
        markers = [m for m in (group_marker(package, group) for group in groups) if m is not None]
        if not markers:
            continue
        requirement = f"{package['name']}=={package['version']}"
        if "" not in markers:
            # In more than one group: wanted when any of the groups wants it.
            requirement += " ; " + " or ".join(f"({marker})" for marker in dict.fromkeys(markers))
        hashes = [f"--hash={entry['hash']}" for entry in package.get("files", [])] if with_hashes else []
        lines.append(" \\\n    ".join([requirement, *hashes]))
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default="main", help="comma-separated poetry groups (default: main)")
    parser.add_argument("--lock", type=Path, default=Path(__file__).resolve().parents[1] / "poetry.lock")
    parser.add_argument("--constraints", action="store_true", help="pins without hashes, for pip's -c")
    args = parser.parse_args(argv)
    with open(args.lock, "rb") as handle:
        lock = tomllib.load(handle)
    print("\n".join(requirement_lines(lock, args.groups.split(","), with_hashes=not args.constraints)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
