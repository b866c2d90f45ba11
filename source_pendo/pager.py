"""Keyset paging that asks Pendo for nothing but `>`, `==` and one column that is never null.

Public evidence shows Pendo's filters with `>`, `>=`, `<=`, `==` and `&&`, never `||`, parentheses
or a null literal, and says nothing of where nulls sort. So a read is ordered by one *group* column
that every row has (a visitor id, an object id, a last-updated time) and nothing else is relied on:

- a page asks for the rows after the last complete group (`column > value`), `page_size` at most;
- a page that fills may end inside a group: that group is held back and asked for again, whole,
  with the next page, so a group is emitted whole or not at all and ties never split over pages;
- a group that fills a page by itself (or outgrows the buffer) is asked for alone
  (`column == value`, no limit), then reading goes on after it.

Where the read stands is a `Position` value; `Page` turns rows of one response into records to emit
and the position after them. The module knows nothing of HTTP or of Pendo's body format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

# Rows of one group held back in memory at most; a bigger group is asked for alone.
GROUP_BUFFER_ROWS = 2000

AFTER = ">"
EQUAL = "=="


@dataclass(frozen=True)
class Position:
    """Every group up to and including `after` is emitted (nothing yet if `started` is False).
    `whole_group`: the next request asks for the group `after` alone; `skip` of its rows were
    emitted by an answer that broke off."""

    after: Any = None
    started: bool = False
    whole_group: bool = False
    skip: int = 0
    done: bool = False

    def query(self) -> Tuple[Optional[Tuple[str, Any]], bool]:
        """(comparison on the group column or None, whether the answer is limited to a page)."""
        if self.whole_group:
            return (EQUAL, self.after), False
        return ((AFTER, self.after) if self.started else None), True


START = Position()


def after(value: Any) -> Position:
    return Position(after=value, started=True)


class Page:
    """One answer read as records grouped by the group column.

    `read(batches)` takes (rows, records) pairs in the answer's order and yields the records that may
    be emitted. `position` is where the read stands; it moves on just before the record that
    completes a group is yielded, so a state taken after any record (records go out before states)
    counts exactly the records emitted. Records still held back when an answer breaks off are
    simply asked for again."""

    def __init__(self, position: Position, group_of: Callable[[Any], Any], page_size: int, unique: bool, buffer_rows: int = GROUP_BUFFER_ROWS):
        self.asked = position
        self.position = position
        self.rows = 0  # rows received
        self.emitted = 0  # records yielded
        self._group_of = group_of
        self._page_size = page_size
        self._unique = unique
        self._buffer_rows = buffer_rows
        self._held: List[Any] = []
        self._held_group: Any = None
        self._holding = False
        self._completed_groups = 0

    def read(self, batches: Iterable[Tuple[Sequence[Any], Sequence[Any]]]) -> Iterator[Any]:
        if self.asked.whole_group:
            yield from self._read_whole_group(batches)
            return
        for rows, records in batches:
            if not rows:
                continue
            self.rows += len(rows)
            if self._unique:
                for row, record in zip(rows, records):
                    self.position = after(self._group_of(row))
                    self.emitted += 1
                    yield record
                continue
            yield from self._take(list(map(self._group_of, rows)), records)
            if len(self._held) > self._buffer_rows:
                # Too big to hold: ask for this group alone, after what is emitted.
                self.position = Position(self._held_group, self.position.started, whole_group=True)
                self._held = []
                return
        yield from self._finish()

    def _take(self, groups: List[Any], records: Sequence[Any]) -> Iterator[Any]:
        last = groups[-1]
        trailing = len(groups) - 1
        while trailing > 0 and groups[trailing - 1] == last:
            trailing -= 1
        if trailing == 0 and self._holding and self._held_group == last:
            self._held.extend(records)
            return
        # Everything before the trailing group is complete, and so is the group held before it.
        ready = self._held
        ready.extend(records[:trailing])
        completed = groups[trailing - 1] if trailing else self._held_group
        self._held = list(records[trailing:])
        self._held_group, self._holding = last, True
        if ready:
            self._completed_groups += 1
            yield from self._emit(ready, after(completed))

    def _emit(self, records: List[Any], position: Position) -> Iterator[Any]:
        """The records, the position moved on before the last one."""
        yield from records[:-1]
        self.position = position
        self.emitted += len(records)
        yield records[-1]

    def _finish(self) -> Iterator[Any]:
        held, self._held = self._held, []
        if self.rows < self._page_size:
            # The last page: what is held is a complete group.
            last = Position(self._held_group if held else self.position.after, self.position.started or bool(held), done=True)
            if held:
                yield from self._emit(held, last)
            self.position = last
        elif not self._unique and self._completed_groups == 0:
            # One group filled the page: ask for it alone.
            self.position = Position(self._held_group, self.position.started, whole_group=True)

    def _read_whole_group(self, batches: Iterable[Tuple[Sequence[Any], Sequence[Any]]]) -> Iterator[Any]:
        skip = self.asked.skip
        for rows, records in batches:
            self.rows += len(rows)
            if skip >= len(records):
                skip -= len(records)
                continue
            for record in records[skip:] if skip else records:
                # Counted before the yield: a state taken after this record counts it.
                self.position = Position(self.asked.after, self.asked.started, whole_group=True, skip=self.position.skip + 1)
                self.emitted += 1
                yield record
            skip = 0
        self.position = after(self.asked.after)
