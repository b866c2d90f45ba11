"""scripts/qa_checks.py: this repository passes every check, and each kind of breakage is caught
and named."""

import shutil
from pathlib import Path

import pytest

from scripts.qa_checks import CHECKS, main, run_checks

ROOT = Path(__file__).resolve().parents[1]
FILES = ["metadata.yaml", "pyproject.toml", "poetry.lock", "icon.svg", "acceptance-test-config.yml", "source_pendo/spec.yaml", "docs/pendo.md", "docs/pendo-migrations.md"]


@pytest.fixture
def copy(tmp_path) -> Path:
    for relative in FILES:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    return tmp_path


def failures(root: Path):
    return {name: problems for name, problems in run_checks(root) if problems}


def test_this_repository_passes_every_check(capsys):
    assert main([str(ROOT)]) == 0
    assert f"{len(CHECKS)} of {len(CHECKS)} QA checks passed" in capsys.readouterr().out


def edit(path: Path, old: str, new: str):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    "breakage, check",
    [
        (lambda r: edit(r / "docs/pendo.md", "## Supported sync modes", "## Sync modes"), "CheckDocumentationHeadersOrder"),
        (lambda r: edit(r / "docs/pendo.md", "| 1.0.0 |", "| 0.9.0 |"), "CheckChangelogEntry"),
        (lambda r: edit(r / "docs/pendo-migrations.md", "## Upgrading to 1.0.0", "## Upgrading"), "CheckMigrationGuide"),
        (lambda r: (r / "docs/pendo-migrations.md").unlink(), "CheckMigrationGuide"),
        (lambda r: edit(r / "metadata.yaml", "      1.0.0:\n", "      2.0.0:\n"), "ValidateMetadata: a major version has a breaking change entry"),
        (lambda r: edit(r / "metadata.yaml", "releaseStage: alpha", "releaseStage: ga"), "ValidateMetadata"),
        (lambda r: (r / "poetry.lock").unlink(), "CheckConnectorUsesPoetry"),
        (lambda r: edit(r / "metadata.yaml", "enabled: true\n      packageName", "enabled: false\n      packageName"), "CheckPublishToPyPiIsDeclared"),
        (lambda r: edit(r / "pyproject.toml", 'license = "MIT"', 'license = "GPL"'), "CheckConnectorLicense / CheckConnectorLicenseMatchInPyproject"),
        (lambda r: (r / "icon.svg").write_text("<png/>"), "CheckConnectorIconIsAvailable"),
        (lambda r: edit(r / "metadata.yaml", "  - language:python\n", ""), "CheckConnectorLanguageTag / CheckConnectorCDKTag"),
        (lambda r: edit(r / "pyproject.toml", 'version = "1.0.0"', 'version = "0.9.0"'), "(this project's) pyproject.toml and metadata.yaml versions agree"),
        (lambda r: edit(r / "source_pendo/spec.yaml", "  required:\n    - api_key\n", "  required:\n    - api_key\n    - page_size\n"), "CheckPrerequisitesSectionDescribesRequiredFieldsFromSpec"),
    ],
)
def test_a_breakage_fails_its_check(copy, breakage, check):
    assert failures(copy) == {}
    breakage(copy)
    failed = failures(copy)
    assert check in failed, failed
    assert main([str(copy)]) == 1
