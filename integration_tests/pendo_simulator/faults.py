"""Fault injection: rules that make matching requests fail in a chosen way.

Rules are tried in the order they were added; the first live rule that matches a
request (``path`` substring and/or aggregation ``source`` name) faults it and uses up
one of its ``times`` (``None`` = forever), once its first ``after`` matching requests went
through unharmed. If no rule matches, the seeded random mode,
when enabled, may fault the request. How each fault looks on the wire is the server's
business; this module only decides which fault applies.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

# Fault kind -> the parameters it accepts, with their defaults.
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "status": {"status": None, "retry_after": None, "html": False},
    "reset": {},  # connection reset (RST) before any response byte
    "reset_mid_body": {"after_rows": 0},  # headers and some rows, then RST
    "truncate": {"keep_fraction": 0.5},  # Content-Length promises more than is sent
    "invalid_json": {"after_rows": 0},  # the answer's first rows, then a row that is not JSON
    "slow": {"delay": 1.0, "rows_per_chunk": 1},  # a pause before every body chunk
    "stall": {"after_rows": 0, "seconds": 30.0},  # headers and some rows, then silence (for a client's read timeout)
    "missing_results": {},  # 200 with {"startTime": ...} only
}
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_RANDOM_KINDS = ("status", "reset", "reset_mid_body", "truncate", "invalid_json", "missing_results")


@dataclass(frozen=True)
class Fault:
    kind: str
    params: dict[str, Any]


def make_fault(kind: str, params: dict[str, Any]) -> Fault:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    unknown = set(params) - set(FAULT_KINDS[kind])
    if unknown:
        raise ValueError(f"fault {kind!r} does not take {', '.join(sorted(unknown))}")
    merged = {**FAULT_KINDS[kind], **params}
    if kind == "status" and not (isinstance(merged["status"], int) and 400 <= merged["status"] <= 599):
        raise ValueError("fault 'status' needs status=<an HTTP error status, e.g. 429 or 503>")
    if kind == "truncate" and not 0 <= merged["keep_fraction"] < 1:
        raise ValueError("keep_fraction must be in [0, 1)")
    if kind == "slow" and (merged["delay"] < 0 or merged["rows_per_chunk"] < 1):
        raise ValueError("slow needs delay >= 0 and rows_per_chunk >= 1")
    if kind == "stall" and (merged["seconds"] <= 0 or merged["after_rows"] < 0):
        raise ValueError("stall needs seconds > 0 and after_rows >= 0")
    return Fault(kind, merged)


@dataclass
class FaultRule:
    fault: Fault
    path: str | None = None
    source: str | None = None
    times: int | None = 1
    after: int = 0  # matching requests let through before the rule starts faulting
    hits: int = 0
    passed: int = 0

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, path: str, source: str | None) -> bool:
        return (self.path is None or self.path in path) and (self.source is None or self.source == source)


@dataclass
class RandomFaults:
    """Faults about ``rate`` of the matching requests; the sequence depends only on the seed
    and the order of requests."""

    rate: float
    seed: int
    kinds: tuple[str, ...]
    path: str | None = None
    source: str | None = None
    seen: int = 0
    faulted: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def matches(self, path: str, source: str | None) -> bool:
        return (self.path is None or self.path in path) and (self.source is None or self.source == source)

    def draw(self) -> Fault | None:
        self.seen += 1
        # Both draws happen for every request so the sequence does not depend on outcomes.
        roll, kind = self._rng.random(), self._rng.choice(self.kinds)
        if roll >= self.rate:
            return None
        self.faulted += 1
        return make_fault(kind, self._params(kind))

    def _params(self, kind: str) -> dict[str, Any]:
        rng = self._rng
        if kind == "status":
            status = rng.choice(RETRYABLE_STATUSES)
            return {"status": status, "retry_after": 0 if status == 429 and rng.random() < 0.5 else None, "html": status in (502, 503, 504) and rng.random() < 0.5}
        if kind == "reset_mid_body":
            return {"after_rows": rng.randrange(20)}
        if kind == "truncate":
            return {"keep_fraction": rng.choice((0.1, 0.5, 0.9))}
        if kind == "slow":
            return {"delay": 0.05}
        if kind == "stall":
            return {"after_rows": rng.randrange(5)}
        return {}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random: RandomFaults | None = None

    def add(self, fault: str, *, path: str | None = None, source: str | None = None, times: int | None = 1, after: int = 0, **params: Any) -> FaultRule:
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError("times must be a positive integer or None (forever)")
        if not isinstance(after, int) or after < 0:
            raise ValueError("after must be a whole number of requests")
        rule = FaultRule(make_fault(fault, params), path, source, times, after)
        with self._lock:
            self._rules.append(rule)
        return rule

    def random(self, rate: float = 0.1, seed: int = 1, kinds: list[str] | tuple[str, ...] | None = None, *, path: str | None = None, source: str | None = None) -> RandomFaults:
        kinds = tuple(kinds or DEFAULT_RANDOM_KINDS)
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}")
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        mode = RandomFaults(rate, seed, kinds, path, source)
        with self._lock:
            self._random = mode
        return mode

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._random = None

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def match(self, path: str, source: str | None) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if not rule.spent and rule.matches(path, source):
                    if rule.passed < rule.after:
                        rule.passed += 1
                        continue
                    rule.hits += 1
                    return rule.fault
            if self._random is not None and self._random.matches(path, source):
                return self._random.draw()
        return None
