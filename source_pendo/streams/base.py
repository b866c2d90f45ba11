"""What every source-pendo stream shares: host, auth, timeouts, retries, streamed bodies."""

from __future__ import annotations

from abc import ABC
from functools import cached_property
from typing import Any, Callable, Mapping, Optional

import requests
from airbyte_cdk.sources.streams.http import HttpStream
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler

from ..config import PendoConfig
from ..records import ObjectShaper
from ..http import PendoBackoffStrategy, PendoErrorHandler, PendoKeyAuth, request_timeout


class PendoStream(HttpStream, ABC):
    primary_key: Optional[str] = "id"

    def __init__(self, config: PendoConfig):
        self.config = config
        super().__init__(authenticator=PendoKeyAuth(config.api_key))

    @property
    def url_base(self) -> str:
        return self.config.api_root

    def request_kwargs(self, **kwargs: Any) -> Mapping[str, Any]:
        return {"timeout": request_timeout(self.config.request_timeout), "stream": True}

    def get_error_handler(self) -> ErrorHandler:
        return PendoErrorHandler(self.logger)

    def get_backoff_strategy(self) -> BackoffStrategy:
        return PendoBackoffStrategy()

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return None

    @cached_property
    def shape(self) -> Callable[[Mapping[str, Any]], dict]:
        """Turns one Pendo row into a record of this stream's schema."""
        return ObjectShaper(self.get_json_schema())
