"""Log lines kept back until their place among the messages of a stream read ahead."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, List, Mapping, Tuple


@dataclass
class HeldLog:
    """One log line, written when `write` is called (by the thread that writes the messages)."""

    logger: logging.Logger
    level: int
    message: str
    args: Tuple[Any, ...]
    kwargs: Mapping[str, Any]

    def write(self) -> None:
        self.logger.log(self.level, self.message, *self.args, **self.kwargs)


class HeldLogger(logging.LoggerAdapter):
    """A logger whose lines wait in order until `held()` hands them over: the CDK's lines about a
    stream read ahead ("Marking stream … as STOPPED", "Read N records …") then come beside that
    stream's messages, not among another stream's."""

    def __init__(self, logger: logging.Logger):
        super().__init__(logger, {})
        self.lines: List[HeldLog] = []

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            self.lines.append(HeldLog(self.logger, level, msg, args, kwargs))

    def held(self) -> List[HeldLog]:
        lines, self.lines = self.lines, []
        return lines
