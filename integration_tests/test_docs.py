"""docs/pendo.md stays true to the code: its stream table lists exactly the streams the source builds,
with their primary keys, cursor fields and sync modes (as built with the default event period, day,
plus the note on what `period: hour` changes), its setup guide covers every spec field, and its
changelog's newest version is the one metadata.yaml releases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from source_pendo.source import SourcePendo

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "pendo.md"
SPEC = ROOT / "source_pendo" / "spec.yaml"
METADATA = ROOT / "metadata.yaml"
# Some primary keys and cursors follow the event period: the table shows the spec's default (day).
DEFAULT_PERIOD = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["connectionSpecification"]["properties"]["period"]["default"]
CONFIG = {"api_key": "k", "start_date": "2025-01-01", "period": DEFAULT_PERIOD}  # building streams sends no request
STREAM_COLUMNS = ["Stream", "Pendo endpoint", "Primary key", "Cursor field", "Sync modes"]


def section(heading: str) -> str:
    """The text under `## heading`, up to the next heading of level 2."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"docs/pendo.md has no '## {heading}' section"
    return match.group(1)


def table_rows(text: str) -> List[Dict[str, str]]:
    """The rows of the first Markdown table in `text`, as {column title: cell}."""
    lines = [line.strip() for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split("|")])
    header, separator, *body = table
    assert all(set(cell) <= set(":- ") for cell in separator), f"not a Markdown table header: {separator}"
    return [dict(zip(header, row)) for row in body]


def code_names(cell: str) -> List[str]:
    """The `names` written in code spans in a cell; none for '–'."""
    return re.findall(r"`([^`]+)`", cell)


def as_list(value) -> List[str]:
    """A primary key or cursor as the field names it is made of: "id", ["id"] and [["id"]] are all
    ["id"]; a composite key [["day"], ["visitor_id"]] is ["day", "visitor_id"]; a nested path is
    written "a.b"."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [part if isinstance(part, str) else ".".join(part) for part in value]


@pytest.fixture(scope="module")
def streams():
    return {stream.name: stream for stream in SourcePendo().streams(CONFIG)}


@pytest.fixture(scope="module")
def documented() -> Dict[str, Dict[str, str]]:
    rows = table_rows(section("Supported streams"))
    assert rows and list(rows[0]) == STREAM_COLUMNS, f"the stream table's columns should be {STREAM_COLUMNS}"
    names = [code_names(row["Stream"]) for row in rows]
    assert all(len(found) == 1 for found in names), f"each row names one stream in backticks: {names}"
    by_name = {found[0]: row for found, row in zip(names, rows)}
    assert len(by_name) == len(rows), "a stream is listed twice"
    return by_name


def test_stream_table_lists_exactly_the_streams_the_source_builds(streams, documented):
    assert sorted(documented) == sorted(streams)


def test_primary_keys_and_cursor_fields_are_the_code_s(streams, documented):
    for name, stream in streams.items():
        row = documented.get(name)
        assert row, f"{name} is not in the stream table"
        assert code_names(row["Primary key"]) == as_list(stream.primary_key), f"{name}: primary key"
        assert code_names(row["Cursor field"]) == as_list(stream.cursor_field), f"{name}: cursor field"


def test_the_period_note_is_what_an_hourly_period_changes(streams, documented):
    """With `period: hour` a stream's key and cursor are the table's with `day` read as `hour`, and the
    paragraph of the stream section that mentions `period: hour` names every stream this changes."""
    assert DEFAULT_PERIOD == "day", "the stream table and its note assume the default period is day"
    paragraphs = [p for p in section("Supported streams").split("\n\n") if "`period: hour`" in p]
    assert len(paragraphs) == 1, "one paragraph under the stream table should say what `period: hour` changes"
    hourly = {stream.name: stream for stream in SourcePendo().streams({**CONFIG, "period": "hour"})}
    assert sorted(hourly) == sorted(streams)
    changed = set()
    for name, stream in hourly.items():
        row = documented[name]
        for column, built in (("Primary key", stream.primary_key), ("Cursor field", stream.cursor_field)):
            written = code_names(row[column])
            expected = ["hour" if field == "day" else field for field in written]
            assert as_list(built) == expected, f"{name}: with period hour the {column.lower()} should be the table's with day read as hour"
            if expected != written:
                changed.add(name)
    assert changed, "no stream follows the period: drop the note on `period: hour`"
    named = set(code_names(paragraphs[0]))
    assert changed <= named, f"the note on `period: hour` does not name {sorted(changed - named)}"
    assert not (named & set(streams)) - changed, f"the note on `period: hour` names streams it does not change: {sorted((named & set(streams)) - changed)}"


def test_sync_modes_are_the_code_s(streams, documented):
    for name, stream in streams.items():
        assert name in documented, f"{name} is not in the stream table"
        modes = documented[name]["Sync modes"].lower()
        assert "full refresh" in modes, name
        assert ("incremental" in modes) == stream.supports_incremental, f"{name}: incremental"


def test_setup_guide_covers_every_spec_field():
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["connectionSpecification"]
    guide = section("Setup guide")
    rows = {code_names(row["Field"])[0]: row for row in table_rows(guide) if code_names(row.get("Field", ""))}
    assert sorted(rows) == sorted(spec["properties"]), "the setup table's fields are not the spec's"
    for name, prop in spec["properties"].items():
        row = rows[name]
        assert f"**{prop['title']}**" in row["Title in the form"], f"{name}: title {prop['title']!r}"
        if "default" in prop:
            default = prop["default"]
            written = "false" if default is False else "true" if default is True else str(default)
            assert written in row["Default"].replace(",", ""), f"{name}: default {default!r} not in {row['Default']!r}"
        else:
            assert row["Default"].startswith("–"), f"{name}: has no default in the spec"
    for name in spec["required"]:
        assert "required" in rows[name]["Default"], f"{name} is required"


def test_the_newest_changelog_entry_is_the_released_version():
    released = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["data"]["dockerImageTag"]
    rows = table_rows(section("Changelog"))
    assert rows and list(rows[0])[:2] == ["Version", "Date"], "the changelog table starts with Version and Date"
    assert rows[0]["Version"] == released, f"the newest changelog entry is {rows[0]['Version']}, metadata.yaml releases {released}"
    assert len({row["Version"] for row in rows}) == len(rows), "a version is in the changelog twice"
