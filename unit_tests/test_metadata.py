"""metadata.yaml: valid in Airbyte's metadata shape and in step with the Dockerfile,
pyproject.toml and the connector's own code."""

from __future__ import annotations

import copy
import json
import re
import shlex
import tomllib
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple
from urllib.parse import urlparse

import jsonschema
import pytest
import requests
import yaml

from source_pendo.config import REGION_API_ROOTS
from source_pendo.source import SourcePendo

ROOT = Path(__file__).resolve().parents[1]
STREAM_CONFIG = {"api_key": "k", "start_date": "2025-01-01"}
BASE_IMAGE_PREFIX = "docker.io/airbyte/python-connector-base:"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

OFFICIAL_DEFINITION_ID = "b1ccb590-e84f-46c0-83a0-2048ccfffdae"
# The streams of the manifest connector 0.2.x that 1.0.0 replaces (docs/pendo-migrations.md).
STREAMS_OF_0_2 = ["Page", "Feature", "Report", "Guide", "Account Metadata", "Visitor Metadata"]
pytest.importorskip(
    "airbyte_connector_models.metadata.v0", reason="airbyte-connector-models (dev group) supports Python < 3.13 only"
)
from scripts.qa_checks import airbyte_metadata_schema, metadata_schema_errors  # noqa: E402

METADATA_SCHEMA = airbyte_metadata_schema()
schema_errors = metadata_schema_errors


def dockerfile_instructions(text: str) -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: List[Tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


@pytest.fixture(scope="module")
def metadata() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())


@pytest.fixture(scope="module")
def data(metadata) -> Dict[str, Any]:
    return metadata["data"]


@pytest.fixture(scope="module")
def pyproject() -> Dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def dockerfile() -> List[Tuple[str, str]]:
    return dockerfile_instructions((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def labels(dockerfile) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for keyword, arguments in dockerfile:
        if keyword == "LABEL":
            for pair in shlex.split(arguments):
                key, sep, value = pair.partition("=")
                assert sep, f"LABEL without '=': {pair!r}"
                found[key] = value
    return found


@pytest.fixture(scope="module")
def stream_names(monkeypatch_module) -> List[str]:
    return [stream.name for stream in SourcePendo().streams(STREAM_CONFIG)]


@pytest.fixture(scope="module")
def monkeypatch_module():
    # Building the streams must not reach the network: any HTTP send fails the test.
    patcher = pytest.MonkeyPatch()

    def refuse(*args, **kwargs):
        raise AssertionError("building streams sent an HTTP request")

    patcher.setattr(requests.Session, "send", refuse)
    yield patcher
    patcher.undo()


# --- the schema ---------------------------------------------------------------------


def test_metadata_is_valid_against_the_schema(metadata):
    assert schema_errors(metadata) == []
    assert metadata["metadataSpecVersion"] == "1.0"


def test_required_data_keys_are_filled(data):
    required = METADATA_SCHEMA["properties"]["data"]["required"]
    assert "definitionId" in required
    empty = [key for key in required if not isinstance(data.get(key), str) or not data[key].strip()]
    assert empty == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["data"].update(registries={"oss": {"enabled": True}}), "data: Additional properties"),
        (lambda d: d.update(extra=1), "<root>: Additional properties"),
        (lambda d: d["data"].pop("githubIssueLabel"), "'githubIssueLabel' is a required property"),
        (lambda d: d["data"].update(releaseStage="ga"), "data/releaseStage: 'ga' is not one of"),
        (lambda d: d["data"].update(connectorSubtype="http"), "data/connectorSubtype: 'http' is not one of"),
        (lambda d: d["data"].update(definitionId="pendo"), "data/definitionId: 'pendo' is not a UUID"),
        (lambda d: d["data"]["remoteRegistries"]["pypi"].pop("packageName"), "'packageName' is a required property"),
        (lambda d: d["data"]["registryOverrides"]["cloud"].pop("enabled"), "data/registryOverrides: {'cloud': {}"),
        (lambda d: d["data"]["registryOverrides"].update(enterprise={"enabled": True}), "data/registryOverrides"),
        (lambda d: d["data"]["ab_internal"].update(sl=150), "data/ab_internal/sl: 150 is not one of"),
        (lambda d: d["data"]["allowedHosts"].update(hosts="app.pendo.io"), "data/allowedHosts/hosts: 'app.pendo.io' is not of type 'array'"),
        (lambda d: d["data"]["releases"]["breakingChanges"]["1.0.0"].pop("upgradeDeadline"), "'upgradeDeadline' is a required property"),
        (lambda d: d["data"]["releases"]["breakingChanges"]["1.0.0"].update(upgradeDeadline="soon"), "'soon' is not a 'date'"),
        (lambda d: d["data"]["releases"]["breakingChanges"].update({"v2": {}}), "data/releases/breakingChanges: 'v2' does not match any of the regexes"),
        (lambda d: d["data"]["releases"]["breakingChanges"]["1.0.0"]["scopedImpact"][0].update(scopeType="table"), "scopedImpact/0"),
        (lambda d: d["data"]["externalDocumentationUrls"][0].update(type="manual"), "data/externalDocumentationUrls/0/type: 'manual' is not one of"),
        (lambda d: d["data"]["connectorTestSuitesOptions"].append({"suite": "e2eTests"}), "data/connectorTestSuitesOptions/3/suite"),
    ],
    ids=[
        "old-registries-key",
        "unknown-top-level-key",
        "missing-required",
        "bad-release-stage",
        "bad-subtype",
        "bad-uuid",
        "pypi-without-package",
        "override-without-enabled",
        "unknown-registry",
        "bad-sl",
        "hosts-not-a-list",
        "breaking-change-without-deadline",
        "deadline-not-a-date",
        "breaking-change-not-a-version",
        "scope-not-a-stream",
        "unknown-documentation-url-type",
        "unknown-test-suite",
    ],
)
def test_schema_check_rejects_broken_metadata(metadata, mutate, expected):
    broken = copy.deepcopy(metadata)
    mutate(broken)
    errors = schema_errors(broken)
    assert any(expected in error for error in errors), errors


# --- the fixed values ---------------------------------------------------------------


def test_identity_fields(data):
    assert data["name"] == "Pendo"
    assert data["connectorType"] == "source"
    assert data["connectorSubtype"] == "api"
    assert data["dockerRepository"] == "airbyte/source-pendo"
    assert data["githubIssueLabel"] == data["dockerRepository"].split("/", 1)[1]
    assert data["license"] == "MIT"
    assert data["releaseStage"] == "alpha"
    assert data["supportLevel"] == "community"
    assert {"language:python", "cdk:python"} <= set(data["tags"])
    assert data["ab_internal"] == {"sl": 100, "ql": 100}


def test_identity_is_the_official_connectors(data):
    # The next major version of Airbyte's own source-pendo: same definition, same image name.
    assert data["definitionId"] == OFFICIAL_DEFINITION_ID
    assert str(uuid.UUID(data["definitionId"])) == data["definitionId"]


def test_documentation_url(data):
    url = urlparse(data["documentationUrl"])
    assert (url.scheme, url.netloc) == ("https", "docs.airbyte.com")
    assert url.path.rstrip("/").endswith("/sources/pendo")


def test_registries(data, pyproject):
    assert data["registryOverrides"] == {"cloud": {"enabled": True}, "oss": {"enabled": True}}
    assert data["remoteRegistries"]["pypi"] == {"enabled": True, "packageName": pyproject["tool"]["poetry"]["name"]}
    assert pyproject["tool"]["poetry"]["name"] == "airbyte-source-pendo"
    assert pyproject["tool"]["poetry"]["scripts"] == {"source-pendo": "source_pendo.run:run"}


# --- in step with the Dockerfile and pyproject.toml ---------------------------------


def test_versions_agree(data, pyproject, labels):
    assert data["dockerImageTag"] == pyproject["tool"]["poetry"]["version"] == labels["io.airbyte.version"]
    assert data["dockerImageTag"] == "1.0.0"
    assert re.fullmatch(r"\d+\.\d+\.\d+", data["dockerImageTag"])


def test_docker_repository_matches_image_label(data, labels):
    assert labels["io.airbyte.name"] == data["dockerRepository"]


def test_base_image_matches_dockerfile_from(data, dockerfile):
    froms = [arguments for keyword, arguments in dockerfile if keyword == "FROM"]
    assert len(froms) == 1, froms
    image = [token for token in froms[0].split() if not token.startswith("--")][0]
    assert data["connectorBuildOptions"]["baseImage"] == image
    assert image.startswith(BASE_IMAGE_PREFIX)
    assert DIGEST.search(image), f"base image not pinned by digest: {image}"


def test_dockerfile_entrypoint_and_user(dockerfile):
    entrypoints = [json.loads(arguments) for keyword, arguments in dockerfile if keyword == "ENTRYPOINT"]
    assert entrypoints == [["python", "/airbyte/integration_code/main.py"]]
    envs = [shlex.split(arguments) for keyword, arguments in dockerfile if keyword == "ENV"]
    airbyte_entrypoint = [pair.split("=", 1)[1] for env in envs for pair in env if pair.startswith("AIRBYTE_ENTRYPOINT=")]
    assert airbyte_entrypoint == [" ".join(entrypoints[0])]
    users = [arguments for keyword, arguments in dockerfile if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    workdirs = [arguments for keyword, arguments in dockerfile if keyword == "WORKDIR"]
    assert workdirs[-1] == "/airbyte/integration_code"


def test_dockerfile_copies_only_existing_paths(dockerfile):
    sources = []
    for keyword, arguments in dockerfile:
        if keyword == "COPY":
            tokens = [token for token in arguments.split() if not token.startswith("--")]
            sources.extend(tokens[:-1])
    assert set(sources) == {"poetry.lock", "scripts/lock_requirements.py", "pyproject.toml", "README.md", "main.py", "source_pendo"}
    assert [source for source in sources if not (ROOT / source).exists()] == []


# --- in step with the connector's code ----------------------------------------------


def test_allowed_hosts_are_the_region_hosts_and_the_base_url_override(data):
    hosts = data["allowedHosts"]["hosts"]
    assert len(hosts) == len(set(hosts))
    region_hosts = {urlparse(root).hostname for root in REGION_API_ROOTS.values()}
    placeholders = {host for host in hosts if host.startswith("${")}
    assert placeholders == {"${base_url}"}
    spec = yaml.safe_load((ROOT / "source_pendo" / "spec.yaml").read_text())
    assert "base_url" in spec["connectionSpecification"]["properties"]
    assert set(hosts) - placeholders == region_hosts
    assert region_hosts == {"app.pendo.io", "us1.app.pendo.io", "app.eu.pendo.io", "app.jpn.pendo.io", "app.au.pendo.io"}


def test_suggested_streams_are_real_streams(data, stream_names):
    suggested = data["suggestedStreams"]["streams"]
    assert suggested == ["accounts", "visitors", "pages", "features", "guides"]
    assert [name for name in suggested if name not in stream_names] == []


# --- the upgrade from 0.2.x ----------------------------------------------------------


def test_breaking_change_of_this_major_version(data):
    major = data["dockerImageTag"]
    assert major.endswith(".0.0")
    change = data["releases"]["breakingChanges"][major]
    assert change["upgradeDeadline"] > "2026-12-04"
    [scope] = change["scopedImpact"]
    assert scope == {"scopeType": "stream", "impactedScopes": STREAMS_OF_0_2}
    assert "migration guide" in change["message"]
    for old in STREAMS_OF_0_2:
        assert old in change["message"]


def test_migration_guide_covers_every_old_stream(data, stream_names):
    guide = (ROOT / "docs" / "pendo-migrations.md").read_text()
    assert data["releases"]["migrationDocumentationUrl"] == data["documentationUrl"] + "-migrations"
    assert "## Upgrading to 1.0.0" in guide
    for old in STREAMS_OF_0_2:
        assert f"| {old} |" in guide, old
    mapped = [name for name in stream_names if f"`{name}`" in guide]
    assert mapped == stream_names, sorted(set(stream_names) - set(mapped))
