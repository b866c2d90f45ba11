"""source_pendo uses only the CDK's public surface: a minor release of airbyte-cdk 7 may rename or
change anything whose name starts with `_`, and the connector would break without a signal."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "source_pendo"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@lru_cache(maxsize=None)
def private_members(cdk_class: type) -> frozenset:
    """The private names a CDK class and its CDK ancestors define: methods and class attributes, and
    attributes its methods set on `self`."""
    names: Set[str] = set()
    for cls in cdk_class.__mro__:
        if not cls.__module__.startswith("airbyte_cdk"):
            continue
        names |= {name for name in vars(cls) if is_private(name)}
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" and is_private(node.attr):
                names.add(node.attr)
    return frozenset(names)


def cdk_imports(tree: ast.Module, module_name: str) -> Dict[str, object]:
    """Names a module binds to airbyte_cdk objects (classes, functions, modules)."""
    bound: Dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airbyte_cdk"):
            for alias in node.names:
                module = importlib.import_module(node.module)
                bound[alias.asname or alias.name] = getattr(module, alias.name, None)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("airbyte_cdk"):
                    bound[alias.asname or alias.name.split(".")[0]] = importlib.import_module(alias.name.split(".")[0])
    return bound


def cdk_ancestors_privates(module_name: str, class_name: str) -> frozenset:
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not isinstance(cls, type):
        return frozenset()
    names: Set[str] = set()
    for ancestor in cls.__mro__:
        if ancestor.__module__.startswith("airbyte_cdk"):
            names |= private_members(ancestor)
    return frozenset(names)


def private_cdk_uses(package: Path = PACKAGE, package_name: str = "source_pendo") -> List[str]:
    """Every place a module of the package imports, calls, reads, sets or overrides a private CDK
    member, as "path:line: what"."""
    found: List[str] = []
    for path in sorted(package.rglob("*.py")):
        module_name = ".".join((package_name, *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        tree = ast.parse(path.read_text(), filename=str(path))
        where = lambda node: f"{path.relative_to(package.parent)}:{node.lineno}"  # noqa: E731
        imported = cdk_imports(tree, module_name)
        # Private names of the CDK classes the module imports, reached on any other object (a client's session, say).
        reachable = frozenset().union(*(private_members(value) for value in imported.values() if isinstance(value, type)))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airbyte_cdk"):
                found += [f"{where(node)}: imports {node.module}.{alias.name}" for alias in node.names if is_private(alias.name)]
            elif isinstance(node, ast.Attribute) and is_private(node.attr) and isinstance(node.value, ast.Name) and node.value.id in imported:
                # A CDK module, class or function's private member, reached by its name.
                found.append(f"{where(node)}: {node.value.id}.{node.attr}")
            elif isinstance(node, ast.Attribute) and node.attr in reachable and not is_self_or_super(node.value):
                found.append(f"{where(node)}: {ast.unparse(node)}")
        for cls_node in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            privates = cdk_ancestors_privates(module_name, cls_node.name)
            if not privates:
                continue
            for node in ast.walk(cls_node):
                if isinstance(node, ast.Attribute) and node.attr in privates and is_self_or_super(node.value):
                    found.append(f"{where(node)}: {cls_node.name} uses {node.attr} of its CDK base")
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in privates:
                    found.append(f"{where(node)}: {cls_node.name} overrides {node.name} of its CDK base")
    return found


def is_self_or_super(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def test_no_private_cdk_member_is_used_in_source_pendo():
    assert private_cdk_uses() == []


def test_the_check_finds_each_kind_of_private_use(tmp_path, monkeypatch):
    """The check above would catch what issue #12 found: a private method called and overridden, a
    private attribute read (of the stream, or of another CDK object), a private name imported."""
    package = tmp_path / "private_use_example"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "streams.py").write_text(
        textwrap.dedent(
            """
            from airbyte_cdk.sources.streams.http import HttpClient, HttpStream
            from airbyte_cdk.sources.streams.http.http_client import _as_auxiliary_request_log

            class Paged(HttpStream):
                url_base = "https://example.test/"
                primary_key = None

                def path(self, **kwargs):
                    return ""

                def parse_response(self, response, **kwargs):
                    return []

                def next_page_token(self, response):
                    return None

                def _fetch_next_page(self, *args):
                    self._http_client.send_request("GET", "x", {})
                    return super()._fetch_next_page(*args)

                def client(self):
                    http_client = HttpClient("x", None)
                    return http_client._session

                def read_records(self, *args, **kwargs):
                    yield from HttpStream._read_pages(self, None, None)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = private_cdk_uses(package, "private_use_example")
    assert sorted(line.split(": ", 1)[1] for line in found) == sorted([
        "imports airbyte_cdk.sources.streams.http.http_client._as_auxiliary_request_log",
        "HttpStream._read_pages",
        "http_client._session",
        "Paged overrides _fetch_next_page of its CDK base",
        "Paged uses _http_client of its CDK base",
        "Paged uses _fetch_next_page of its CDK base",
    ])


@pytest.mark.parametrize("name, private", [("_read_pages", True), ("__init__", False), ("read_records", False), ("_", True)])
def test_private_means_a_leading_underscore_but_not_a_dunder(name, private):
    assert is_private(name) is private


def test_the_readme_names_the_cdk_version_the_lock_pins():
    root = PACKAGE.parent
    lock = root.joinpath("poetry.lock").read_text()
    locked = re.search(r'\[\[package\]\]\nname = "airbyte-cdk"\nversion = "([^"]+)"', lock).group(1)
    assert f"Tested with airbyte-cdk {locked}, the version `poetry.lock`" in root.joinpath("README.md").read_text().replace("\n  ", " ")
