"""SourcePendo: from a config to its streams, the connection check, and the checks discover and read
make before they start."""

from __future__ import annotations

import logging
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from airbyte_cdk.models import AirbyteCatalog, AirbyteConnectionStatus, AirbyteMessage, AirbyteStateMessage, ConfiguredAirbyteCatalog, FailureType, Status
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .check import diagnose
from .config import PendoConfig, config_error
from .http import request_budget
from .streams import (
    Accounts,
    Events,
    FeatureEvents,
    Features,
    GuideEvents,
    Guides,
    MetadataAccounts,
    MetadataVisitors,
    PageEvents,
    Pages,
    PollEvents,
    Reports,
    Segments,
    TrackEvents,
    TrackTypes,
    VisitorHistory,
    Visitors,
)


logger = logging.getLogger("airbyte")


def settings_of(config: Mapping[str, Any]) -> PendoConfig:
    settings = PendoConfig.from_mapping(config)
    if settings.region_from_key:
        logger.info(f"Using region {settings.region}: 'Region' was left at US and the integration key ends in the suffix of {settings.region}.")
    return settings


class SourcePendo(AbstractSource):
    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        # The CDK's check() shows repr(message), quotes and all; users see this text as it is.
        succeeded, message = self.check_connection(logger, config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        try:
            problem = diagnose(settings_of(config))
        except AirbyteTracedException as error:
            return False, error.message
        return (False, problem.message) if problem else (True, None)

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        problem = diagnose(settings_of(config))
        if problem and problem.failure_type == FailureType.config_error:
            raise config_error(problem.message)
        return super().discover(logger, config)

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[Any]] = None,
    ) -> Iterator[AirbyteMessage]:
        known = {stream.name for stream in self.streams(config)}
        unknown = sorted({configured.stream.name for configured in catalog.streams} - known)
        if unknown:
            raise config_error(
                f"The catalog names streams source-pendo does not have: {', '.join(unknown)}. Refresh the source schema in the"
                f" connection's settings and deselect them (source-pendo has: {', '.join(sorted(known))})."
            )
        yield from super().read(logger, config, catalog, state)

    def read_state(self, state_path: str) -> List[AirbyteStateMessage]:
        try:
            return super().read_state(state_path)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise config_error(
                f"The saved state is not state source-pendo can read ({error}). Reset the connection's state (or the"
                " streams' data) so the next sync starts afresh."
            ) from error

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        settings = settings_of(config)
        budget = request_budget(settings.requests_per_second)
        stream_classes = [
            Accounts,
            Visitors,
            Pages,
            Features,
            Guides,
            TrackTypes,
            Reports,
            Segments,
            MetadataAccounts,
            MetadataVisitors,
            Events,
            FeatureEvents,
            PageEvents,
            TrackEvents,
            GuideEvents,
            PollEvents,
            VisitorHistory,
        ]
        return [stream_class(settings, budget) for stream_class in stream_classes]
