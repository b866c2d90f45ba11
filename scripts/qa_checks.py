"""Airbyte's connector QA checks that apply to a Python API source, run on this repository.

    .venv/bin/python scripts/qa_checks.py [ROOT]

Each check is a function that returns what is wrong (an empty list when it passes); the README's
"QA checks" section names Airbyte's check each one stands for. Prints PASS/FAIL per check and
exits 1 if any failed. Reads files only: no network, no Docker.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from importlib import resources
from typing import Any, Callable, Dict, List, Tuple

import jsonschema
import yaml

DOCS = "docs/pendo.md"
MIGRATION_GUIDE = "docs/pendo-migrations.md"
# The level-2 headings of Airbyte's source documentation template, in order; a page may have more.
TEMPLATE_HEADINGS = [
    "Prerequisites",
    "Setup guide",
    "Supported sync modes",
    "Supported streams",
    "Performance considerations",
    "Limitations & troubleshooting",
    "Changelog",
]
LICENSES = {"MIT", "ELv2"}
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def _without_nested_ids(node: Any, is_root: bool = True) -> Any:
    # The bundled schema keeps the $id of each file it was assembled from, but its $refs are
    # pointers into the whole bundle ("#/properties/data/..."): with the nested $ids in place a
    # validator would resolve them inside the sub-file and find nothing.
    if isinstance(node, dict):
        return {key: _without_nested_ids(value, False) for key, value in node.items() if is_root or key != "$id"}
    if isinstance(node, list):
        return [_without_nested_ids(item, False) for item in node]
    return node


def airbyte_metadata_schema() -> Dict[str, Any]:
    """Airbyte's ConnectorMetadataDefinitionV0 as the airbyte-connector-models package (dev group)
    ships it."""
    package = resources.files("airbyte_connector_models.metadata.v0")
    return _without_nested_ids(json.loads((package / "ConnectorMetadataDefinitionV0.json").read_text()))


def metadata_schema_errors(document: Any) -> List[str]:
    """Every violation of Airbyte's metadata schema, as 'path: message', plus a definitionId that
    is no UUID (draft 7 has no 'uuid' format to check)."""
    validator = jsonschema.Draft7Validator(airbyte_metadata_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]
    definition_id = (document.get("data") or {}).get("definitionId") if isinstance(document, dict) else None
    if isinstance(definition_id, str):
        try:
            uuid.UUID(definition_id)
        except ValueError:
            errors.append(f"data/definitionId: {definition_id!r} is not a UUID")
    return errors


class Repo:
    """The files the checks read, loaded once."""

    def __init__(self, root: Path):
        self.root = root
        self.metadata_document: Dict[str, Any] = yaml.safe_load((root / "metadata.yaml").read_text())
        self.metadata: Dict[str, Any] = self.metadata_document["data"]
        with open(root / "pyproject.toml", "rb") as handle:
            self.pyproject: Dict[str, Any] = tomllib.load(handle)
        self.spec: Dict[str, Any] = yaml.safe_load((root / "source_pendo" / "spec.yaml").read_text())["connectionSpecification"]

    def text(self, relative: str) -> str:
        path = self.root / relative
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def headings(self, relative: str, level: int) -> List[str]:
        marks = "#" * level
        return [m.group(1).strip() for m in re.finditer(rf"^{marks} (.+)$", self.text(relative), flags=re.MULTILINE)]

    def section(self, relative: str, heading: str) -> str:
        match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", self.text(relative), flags=re.MULTILINE | re.DOTALL)
        return match.group(1) if match else ""

    def changelog_versions(self) -> List[str]:
        return re.findall(r"^\|\s*(\d+\.\d+\.\d+)\s*\|", self.section(DOCS, "Changelog"), flags=re.MULTILINE)


def metadata_is_valid(repo: Repo) -> List[str]:
    return metadata_schema_errors(repo.metadata_document)


def documentation_exists(repo: Repo) -> List[str]:
    return [] if repo.text(DOCS).startswith(f"# {repo.metadata['name']}\n") else [f"{DOCS} must exist and start with '# {repo.metadata['name']}'"]


def documentation_headings_follow_template(repo: Repo) -> List[str]:
    found = [heading.lower() for heading in repo.headings(DOCS, 2)]
    missing = [heading for heading in TEMPLATE_HEADINGS if heading.lower() not in found]
    if missing:
        return [f"{DOCS} lacks the sections {missing}"]
    positions = [found.index(heading.lower()) for heading in TEMPLATE_HEADINGS]
    return [] if positions == sorted(positions) else [f"{DOCS}: sections out of the template's order {TEMPLATE_HEADINGS}"]


def prerequisites_name_required_fields(repo: Repo) -> List[str]:
    prerequisites = repo.section(DOCS, "Prerequisites").lower()
    problems = []
    for field in repo.spec.get("required", []):
        title = repo.spec["properties"][field]["title"]
        if title.lower() not in prerequisites:
            problems.append(f"the Prerequisites section does not mention the required field '{title}' ({field})")
    return problems


def changelog_has_the_current_version(repo: Repo) -> List[str]:
    versions = repo.changelog_versions()
    current = repo.metadata["dockerImageTag"]
    return [] if versions[:1] == [current] else [f"the changelog's newest entry is {versions[:1]}, metadata.yaml says {current}"]


def version_follows_semver(repo: Repo) -> List[str]:
    return [] if SEMVER.match(repo.metadata["dockerImageTag"]) else [f"dockerImageTag {repo.metadata['dockerImageTag']!r} is not MAJOR.MINOR.PATCH"]


def version_incremented(repo: Repo) -> List[str]:
    versions = [tuple(map(int, v.split("."))) for v in repo.changelog_versions() if SEMVER.match(v)]
    if len(versions) < 2:
        return []
    return [] if versions[0] > versions[1] else [f"version {versions[0]} is not above the previous release {versions[1]}"]


def version_agrees_with_pyproject(repo: Repo) -> List[str]:
    version = repo.pyproject["tool"]["poetry"]["version"]
    return [] if version == repo.metadata["dockerImageTag"] else [f"pyproject.toml has version {version}, metadata.yaml {repo.metadata['dockerImageTag']}"]


def major_version_has_breaking_change(repo: Repo) -> List[str]:
    major, minor, patch = SEMVER.match(repo.metadata["dockerImageTag"]).groups()
    if (minor, patch) != ("0", "0") or major == "0":
        return []
    changes = repo.metadata.get("releases", {}).get("breakingChanges", {})
    return [] if repo.metadata["dockerImageTag"] in changes else [f"major version {repo.metadata['dockerImageTag']} has no releases.breakingChanges entry"]


def migration_guide_covers_breaking_changes(repo: Repo) -> List[str]:
    changes = repo.metadata.get("releases", {}).get("breakingChanges", {})
    if not changes:
        return []
    guide = repo.text(MIGRATION_GUIDE)
    if not guide.startswith(f"# {repo.metadata['name']} Migration Guide\n"):
        return [f"{MIGRATION_GUIDE} must exist and start with '# {repo.metadata['name']} Migration Guide'"]
    expected = [f"Upgrading to {version}" for version in sorted(changes, key=lambda v: tuple(map(int, v.split("."))), reverse=True)]
    found = [heading for heading in repo.headings(MIGRATION_GUIDE, 2) if heading.startswith("Upgrading to ")]
    return [] if found == expected else [f"{MIGRATION_GUIDE} has {found}; breaking changes need {expected}, newest first"]


def uses_poetry(repo: Repo) -> List[str]:
    problems = []
    if "poetry" not in repo.pyproject.get("tool", {}):
        problems.append("pyproject.toml has no [tool.poetry]")
    if "poetry" not in repo.pyproject.get("build-system", {}).get("build-backend", ""):
        problems.append("pyproject.toml's build backend is not poetry-core")
    if not (repo.root / "poetry.lock").is_file():
        problems.append("poetry.lock is missing")
    return problems


def publishes_to_pypi(repo: Repo) -> List[str]:
    pypi = repo.metadata.get("remoteRegistries", {}).get("pypi", {})
    expected = f"airbyte-{repo.metadata['dockerRepository'].split('/', 1)[1]}"
    problems = []
    if pypi != {"enabled": True, "packageName": expected}:
        problems.append(f"remoteRegistries.pypi should be enabled with packageName {expected}, is {pypi}")
    if repo.pyproject["tool"]["poetry"]["name"] != expected:
        problems.append(f"pyproject.toml's package name is not {expected}")
    return problems


def license_is_allowed_and_matches(repo: Repo) -> List[str]:
    license_name = repo.metadata["license"]
    problems = [] if license_name in LICENSES else [f"license {license_name} is not one of {sorted(LICENSES)}"]
    if repo.pyproject["tool"]["poetry"].get("license") != license_name:
        problems.append(f"pyproject.toml's license is not metadata.yaml's {license_name}")
    return problems


def language_and_cdk_tags(repo: Repo) -> List[str]:
    missing = {"language:python", "cdk:python"} - set(repo.metadata.get("tags", []))
    return [f"metadata.yaml lacks the tags {sorted(missing)}"] if missing else []


def uses_python_base_image(repo: Repo) -> List[str]:
    image = repo.metadata.get("connectorBuildOptions", {}).get("baseImage", "")
    if not re.match(r"^docker\.io/airbyte/python-connector-base:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$", image):
        return [f"connectorBuildOptions.baseImage is not airbyte/python-connector-base pinned by digest: {image!r}"]
    return []


def icon_is_an_svg(repo: Repo) -> List[str]:
    path = repo.root / "icon.svg"
    if not path.is_file():
        return ["icon.svg is missing"]
    try:
        svg = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        return [f"icon.svg is not XML: {error}"]
    problems = [] if svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") else ["icon.svg is not an SVG with a viewBox"]
    if not repo.metadata.get("icon", "").endswith(".svg"):
        problems.append("metadata.yaml's icon does not name an SVG")
    return problems


def has_acceptance_tests(repo: Repo) -> List[str]:
    config = repo.root / "acceptance-test-config.yml"
    if not config.is_file():
        return ["acceptance-test-config.yml is missing"]
    suites = {suite.get("suite") for suite in repo.metadata.get("connectorTestSuitesOptions", [])}
    return [] if "acceptanceTests" in suites else ["connectorTestSuitesOptions has no acceptanceTests suite"]


# (Airbyte's check name, category, function)
CHECKS: List[Tuple[str, str, Callable[[Repo], List[str]]]] = [
    ("CheckDocumentationExists", "documentation", documentation_exists),
    ("CheckDocumentationHeadersOrder", "documentation", documentation_headings_follow_template),
    ("CheckPrerequisitesSectionDescribesRequiredFieldsFromSpec", "documentation", prerequisites_name_required_fields),
    ("CheckChangelogEntry", "documentation", changelog_has_the_current_version),
    ("CheckMigrationGuide", "documentation", migration_guide_covers_breaking_changes),
    ("CheckVersionFollowsSemver", "metadata", version_follows_semver),
    ("CheckVersionIncremented", "metadata", version_incremented),
    ("ValidateMetadata", "metadata", metadata_is_valid),
    ("ValidateMetadata: a major version has a breaking change entry", "metadata", major_version_has_breaking_change),
    ("CheckConnectorLanguageTag / CheckConnectorCDKTag", "metadata", language_and_cdk_tags),
    ("CheckConnectorUsesPoetry", "packaging", uses_poetry),
    ("CheckPublishToPyPiIsDeclared", "packaging", publishes_to_pypi),
    ("CheckConnectorLicense / CheckConnectorLicenseMatchInPyproject", "packaging", license_is_allowed_and_matches),
    ("(this project's) pyproject.toml and metadata.yaml versions agree", "packaging", version_agrees_with_pyproject),
    ("CheckConnectorUsesPythonBaseImage", "packaging", uses_python_base_image),
    ("CheckConnectorIconIsAvailable", "assets", icon_is_an_svg),
    ("CheckConnectorHasAcceptanceTests", "testing", has_acceptance_tests),
]


def run_checks(root: Path) -> List[Tuple[str, List[str]]]:
    repo = Repo(root)
    return [(name, check(repo)) for name, _, check in CHECKS]


def main(argv: List[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    results = run_checks(root)
    for name, problems in results:
        print(f"{'PASS' if not problems else 'FAIL'} {name}" + "".join(f"\n     {problem}" for problem in problems))
    failed = sum(1 for _, problems in results if problems)
    print(f"{len(results) - failed} of {len(results)} QA checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
