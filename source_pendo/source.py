"""SourcePendo: from a config to its streams, and the connection check."""

from __future__ import annotations

import logging
from typing import Any, List, Mapping, Optional, Tuple

from airbyte_cdk.models import AirbyteConnectionStatus, Status
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .check import check_connection
from .config import PendoConfig
from .streams import Accounts, Features, Guides, MetadataAccounts, MetadataVisitors, Pages, Reports, Segments, TrackTypes, Visitors


class SourcePendo(AbstractSource):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        # The CDK's check() shows repr(message), quotes and all; users see this text as it is.
        succeeded, message = self.check_connection(logger, config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        try:
            settings = PendoConfig.from_mapping(config)
        except AirbyteTracedException as error:
            return False, error.message
        return check_connection(settings)

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        settings = PendoConfig.from_mapping(config)
        metadata_accounts = MetadataAccounts(settings)
        metadata_visitors = MetadataVisitors(settings)
        return [
            Accounts(settings, catalogue=MetadataAccounts(settings)),
            Visitors(settings, catalogue=MetadataVisitors(settings)),
            Pages(settings),
            Features(settings),
            Guides(settings),
            TrackTypes(settings),
            Reports(settings),
            Segments(settings),
            metadata_accounts,
            metadata_visitors,
        ]
