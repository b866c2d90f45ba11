"""Several readings run side by side, their items handed over one reading after another.

Airbyte expects a sync's messages one stream after another, and most of a Pendo sync is waiting on
Pendo. So the next few streams are read in worker threads while the current one's messages are
written: their waits overlap, and what they read waits in small bounded buffers until its turn."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, List, Optional, Sequence, TypeVar

Item = TypeVar("Item")

# A reading hands over its items in batches (a queue hand-over per item would cost more than
# writing the item); a batch is handed over early after an item that ends one (a checkpoint).
BATCH_SIZE = 256
# Items a reading holds at most before its turn, counted by item, not by batch: a stream with a
# checkpoint every few items (windows without rows) reads on instead of waiting after a few batches.
ITEMS_BUFFERED = 4 * BATCH_SIZE
_STOP_CHECK_SECONDS = 0.5


class _Reading:
    """One reading, run in its own thread, its items queued in batches."""

    def __init__(self, read: Callable[[], Iterator[Item]], ends_batch: Callable[[Item], bool], stopping: threading.Event):
        self.batches: "queue.SimpleQueue[Optional[List[Item]]]" = queue.SimpleQueue()
        self.error: Optional[BaseException] = None
        self._held = 0  # items queued and not yet taken
        self._room = threading.Condition()
        self._read = read
        self._ends_batch = ends_batch
        self._stopping = stopping
        self.thread = threading.Thread(target=self._run, name="pendo-stream-ahead", daemon=True)

    def _run(self) -> None:
        items: Optional[Iterator[Item]] = None
        batch: List[Item] = []
        try:
            items = self._read()
            for item in items:
                batch.append(item)
                if len(batch) >= BATCH_SIZE or self._ends_batch(item):
                    if not self._hand_over(batch):
                        return
                    batch = []
        except BaseException as error:  # handed to the thread that writes, which raises it in turn
            self.error = error
        finally:
            close = getattr(items, "close", None)
            if close:
                close()
        if not batch or self._hand_over(batch):
            self._hand_over(None)

    def _hand_over(self, batch: Optional[List[Item]]) -> bool:
        """Queues `batch` (None: the end) once there is room for it; False once the items are no longer wanted."""
        size = len(batch) if batch else 0
        with self._room:
            while not self._stopping.is_set():
                if not self._held or self._held + size <= ITEMS_BUFFERED:
                    self._held += size
                    self.batches.put(batch)
                    return True
                self._room.wait(_STOP_CHECK_SECONDS)
        return False

    def items(self) -> Iterator[Item]:
        while True:
            batch = self.batches.get()
            if batch is None:
                break
            with self._room:
                self._held -= len(batch)
                self._room.notify()
            yield from batch
        if self.error is not None:
            raise self.error


def in_turn(readings: Sequence[Callable[[], Iterator[Item]]], ahead: int, ends_batch: Callable[[Item], bool]) -> Iterator[Item]:
    """The items of each reading, all of the first reading's before the second's, and so on, while
    up to `ahead` readings after the one being handed over are already under way. A reading's error
    is raised when its turn comes, after the items it gave before it. One reading, or `ahead` 0:
    read here, in this thread."""
    if ahead < 1 or len(readings) < 2:
        for read in readings:
            yield from read()
        return
    stopping = threading.Event()
    started: List[_Reading] = []
    try:
        for turn in range(len(readings)):
            while len(started) < min(turn + 1 + ahead, len(readings)):
                reading = _Reading(readings[len(started)], ends_batch, stopping)
                reading.thread.start()
                started.append(reading)
            yield from started[turn].items()
    finally:
        stopping.set()
