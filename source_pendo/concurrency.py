"""Requests in parallel, results in order."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Deque, Iterable, Iterator, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_map(function: Callable[[Item], Result], items: Iterable[Item], workers: int) -> Iterator[Result]:
    """`map(function, items)` with up to `workers` calls under way at once in worker threads (none:
    in this thread); results come in the order of `items`, and at most `workers` of them wait in
    memory."""
    if workers < 1:
        yield from map(function, items)
        return
    pending: Deque[Future] = deque()
    remaining = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pendo-request") as pool:
        try:
            for item in remaining:
                pending.append(pool.submit(function, item))
                if len(pending) >= workers:
                    break
            while pending:
                result = pending.popleft().result()
                for item in remaining:
                    pending.append(pool.submit(function, item))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()
