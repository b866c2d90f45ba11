"""poetry.lock drives the install: scripts/lock_requirements.py turns it into pinned, hashed
requirements, and the environment the tests run in holds exactly the locked versions."""

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker

from scripts.lock_requirements import group_marker, requirement_lines

ROOT = Path(__file__).resolve().parents[1]


def lock():
    with open(ROOT / "poetry.lock", "rb") as handle:
        return tomllib.load(handle)


def test_the_cdk_is_pinned_with_hashes():
    [cdk] = [line for line in requirement_lines(lock(), ["main"]) if line.startswith("airbyte-cdk==")]
    locked = next(p["version"] for p in lock()["package"] if p["name"] == "airbyte-cdk")
    assert cdk.startswith(f"airbyte-cdk=={locked} ")
    assert "--hash=sha256:" in cdk


def test_dev_only_packages_stay_out_of_the_main_group():
    main = "\n".join(requirement_lines(lock(), ["main"]))
    assert "\npytest==" not in main and "requests-mock==" not in main
    assert "pytest==" in "\n".join(requirement_lines(lock(), ["main", "dev"]))


def test_group_markers():
    package = {"name": "x", "groups": ["main", "dev"], "markers": {"dev": 'python_version < "3.13"'}}
    assert group_marker(package, "main") == ""
    assert group_marker(package, "dev") == 'python_version < "3.13"'
    assert group_marker({"name": "y", "groups": ["dev"]}, "main") is None


def test_this_environment_holds_the_locked_versions():
    wrong = {}
    for package in lock()["package"]:
        markers = [m for m in (group_marker(package, g) for g in ("main", "dev")) if m is not None]
        if not any(m == "" or Marker(m).evaluate() for m in markers):
            continue
        installed = metadata.version(package["name"])
        if installed != package["version"]:
            wrong[package["name"]] = (installed, package["version"])
    assert wrong == {}
