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

# The part of Airbyte's ConnectorMetadataDefinitionV0 this file can meet: every key
# `data` may hold (anything else is rejected there), with the constraints of the keys
# used here. Key names and enums as in the definition; nested shapes written out only
# where this connector fills them in.
_REGISTRY_OVERRIDE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["enabled"],
    "properties": {
        "enabled": {"type": "boolean"},
        "name": {"type": "string"},
        "dockerRepository": {"type": "string"},
        "dockerImageTag": {"type": "string"},
        "supportsDbt": {"type": "boolean"},
        "supportsNormalization": {"type": "boolean"},
        "license": {"type": "string"},
        "documentationUrl": {"type": "string"},
        "connectorSubtype": {"type": "string"},
        "allowedHosts": {"type": "object"},
        "normalizationConfig": {"type": "object"},
        "suggestedStreams": {"type": "object"},
        "resourceRequirements": {"type": "object"},
    },
}
_STRING_LIST = {"type": "array", "items": {"type": "string"}}
DATA_REQUIRED = [
    "name",
    "definitionId",
    "connectorType",
    "dockerRepository",
    "dockerImageTag",
    "license",
    "documentationUrl",
    "githubIssueLabel",
    "connectorSubtype",
    "releaseStage",
]
DATA_PROPERTIES: Dict[str, Any] = {
    "name": {"type": "string", "minLength": 1},
    "icon": {"type": "string"},
    "definitionId": {"type": "string"},
    "connectorBuildOptions": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"baseImage": {"type": "string"}},
    },
    "connectorTestSuitesOptions": {"type": "array"},
    "connectorType": {"enum": ["destination", "source"]},
    "dockerRepository": {"type": "string", "minLength": 1},
    "dockerImageTag": {"type": "string", "minLength": 1},
    "supportsDbt": {"type": "boolean"},
    "supportsNormalization": {"type": "boolean"},
    "license": {"type": "string", "minLength": 1},
    "documentationUrl": {"type": "string"},
    "githubIssueLabel": {"type": "string", "minLength": 1},
    "maxSecondsBetweenMessages": {"type": "integer"},
    "releaseDate": {"type": "string"},
    "protocolVersion": {"type": "string"},
    "erdUrl": {"type": "string"},
    "connectorSubtype": {
        "enum": ["api", "database", "datalake", "file", "custom", "message_queue", "unknown", "vectorstore"]
    },
    "releaseStage": {"enum": ["alpha", "beta", "generally_available", "custom"]},
    "supportLevel": {"enum": ["community", "certified", "archived"]},
    "tags": _STRING_LIST,
    "registryOverrides": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"oss": _REGISTRY_OVERRIDE, "cloud": _REGISTRY_OVERRIDE},
    },
    "allowedHosts": {"type": "object", "properties": {"hosts": _STRING_LIST}},
    "releases": {"type": "object"},
    "normalizationConfig": {"type": "object"},
    "suggestedStreams": {"type": "object", "properties": {"streams": _STRING_LIST}},
    "resourceRequirements": {"type": "object"},
    "ab_internal": {
        "type": "object",
        "properties": {
            "sl": {"enum": [0, 100, 200, 300]},
            "ql": {"enum": [0, 100, 200, 300, 400, 500, 600]},
            "isEnterprise": {"type": "boolean"},
            "requireVersionIncrementsInPullRequests": {"type": "boolean"},
        },
    },
    "remoteRegistries": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "pypi": {
                "type": "object",
                "additionalProperties": False,
                "required": ["enabled", "packageName"],
                "properties": {"enabled": {"type": "boolean"}, "packageName": {"type": "string"}},
            }
        },
    },
    "supportsRefreshes": {"type": "boolean"},
    "generated": {"type": "object"},
    "supportsFileTransfer": {"type": "boolean"},
    "supportsDataActivation": {"type": "boolean"},
    "connectorIPCOptions": {"type": "object"},
}
METADATA_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["metadataSpecVersion", "data"],
    "properties": {
        "metadataSpecVersion": {"type": "string"},
        "data": {
            "type": "object",
            "additionalProperties": False,
            "required": DATA_REQUIRED,
            "properties": DATA_PROPERTIES,
        },
    },
}


def schema_errors(document: Any) -> List[str]:
    """Every schema violation, as 'path: message', plus a definitionId that is no UUID."""
    validator = jsonschema.Draft7Validator(METADATA_SCHEMA)
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]
    definition_id = (document.get("data") or {}).get("definitionId") if isinstance(document, dict) else None
    if isinstance(definition_id, str):
        try:
            uuid.UUID(definition_id)
        except ValueError:
            errors.append(f"data/definitionId: {definition_id!r} is not a UUID")
    return errors


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


def test_required_data_keys_are_present_and_filled(data):
    missing = [key for key in DATA_REQUIRED if key not in data]
    assert missing == []
    empty = [key for key in DATA_REQUIRED if not isinstance(data[key], str) or not data[key].strip()]
    assert empty == []


def test_no_data_keys_beyond_the_schema(data):
    assert sorted(set(data) - set(DATA_PROPERTIES)) == []


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
        (lambda d: d["data"]["registryOverrides"]["cloud"].pop("enabled"), "'enabled' is a required property"),
        (lambda d: d["data"]["registryOverrides"].update(enterprise={"enabled": True}), "data/registryOverrides"),
        (lambda d: d["data"]["ab_internal"].update(sl=150), "data/ab_internal/sl: 150 is not one of"),
        (lambda d: d["data"]["allowedHosts"].update(hosts="app.pendo.io"), "data/allowedHosts/hosts: 'app.pendo.io' is not of type 'array'"),
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


def test_definition_id_is_a_canonical_uuid(data):
    assert str(uuid.UUID(data["definitionId"])) == data["definitionId"]


def test_documentation_url(data):
    url = urlparse(data["documentationUrl"])
    assert (url.scheme, url.netloc) == ("https", "docs.airbyte.com")
    assert url.path.rstrip("/").endswith("/sources/pendo")


def test_registries(data, pyproject):
    assert data["registryOverrides"] == {"cloud": {"enabled": True}, "oss": {"enabled": True}}
    assert data["remoteRegistries"]["pypi"] == {"enabled": False, "packageName": "airbyte-" + pyproject["project"]["name"]}


# --- in step with the Dockerfile and pyproject.toml ---------------------------------


def test_versions_agree(data, pyproject, labels):
    assert data["dockerImageTag"] == pyproject["project"]["version"] == labels["io.airbyte.version"]
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
    assert set(sources) == {"pyproject.toml", "README.md", "main.py", "source_pendo"}
    assert [source for source in sources if not (ROOT / source).exists()] == []


# --- in step with the connector's code ----------------------------------------------


def test_allowed_hosts_are_the_region_hosts(data):
    hosts = data["allowedHosts"]["hosts"]
    assert len(hosts) == len(set(hosts))
    region_hosts = {urlparse(root).hostname for root in REGION_API_ROOTS.values()}
    assert set(hosts) == region_hosts
    assert region_hosts == {"app.pendo.io", "us1.app.pendo.io", "app.eu.pendo.io", "app.jpn.pendo.io", "app.au.pendo.io"}


def test_suggested_streams_are_real_streams(data, stream_names):
    suggested = data["suggestedStreams"]["streams"]
    assert suggested == ["accounts", "visitors", "pages", "features", "guides"]
    assert [name for name in suggested if name not in stream_names] == []
