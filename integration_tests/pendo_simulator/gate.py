"""A gate that holds the first requests of a path until several arrive together: a client that
sends them one after another cannot open it, so it proves requests run concurrently."""
from __future__ import annotations

import threading


class RequestGate:
    def __init__(self, path: str, parties: int, timeout: float):
        self.path = path
        self.opened = False
        self._barrier = threading.Barrier(parties, timeout=timeout)
        self._lock = threading.Lock()

    def hold(self, path: str) -> None:
        """Waits at the gate until it opens (or times out) — only while it is still closed."""
        if self.path not in path or self.opened or self._barrier.broken:
            return
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            return
        with self._lock:
            self.opened = True
