"""SourcePendo: from a config to its streams, the connection check, and the checks discover and read
make before they start."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Dict, Iterator, List, Mapping, MutableMapping, Optional, Tuple, Union

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    FailureType,
    Status,
    TraceType,
    Type,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .check import diagnose
from .config import PendoConfig, config_error, read_config_file
from .http import request_budget
from .held_logs import HeldLog, HeldLogger
from .in_turn import in_turn
from .outage import GAVE_UP_EARLY, OUTAGE_RETRIES
from .streams.base import StreamStopped
from .streams.events import ObjectEventStream
from .streams.query_form import find_query_form
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


def sync_failed(errors: Mapping[str, AirbyteErrorTraceMessage]) -> AirbyteTracedException:
    """The sync's last error, in place of the CDK's (always a config error, and quoting each
    stream's internal message): each stream's own message, typed by whose fault they are; the
    streams that gave up early on a Pendo found down are told once, together."""
    early = [name for name, error in errors.items() if error.message.endswith(GAVE_UP_EARLY)]
    messages = [
        error.message if error.message.startswith(f"Stream '{name}'") else f"Stream '{name}': {error.message}"
        for name, error in errors.items()
        if name not in early
    ]
    if early:
        messages.append(
            f"Pendo was still unavailable for {', '.join(early)}: each gave up after {OUTAGE_RETRIES} quick retries, because"
            " another stream of this sync had already waited out the full retries. Try again later."
        )
    message = f"During the sync, the following streams did not sync successfully: {', '.join(errors)}. " + " ".join(messages)
    return AirbyteTracedException(message=message, internal_message=message, failure_type=_most_actionable({error.failure_type for error in errors.values()}))


def stream_error(message: AirbyteMessage) -> Optional[AirbyteErrorTraceMessage]:
    """A stream's error, if `message` tells one."""
    if message.type == Type.TRACE and message.trace.type == TraceType.ERROR and message.trace.error.stream_descriptor:
        return message.trace.error
    return None


def _most_actionable(failure_types: set) -> FailureType:
    """A config error needs the user whatever else failed; a retry cannot fix a connector's fault either."""
    if FailureType.config_error in failure_types:
        return FailureType.config_error
    if failure_types - {FailureType.transient_error}:
        return FailureType.system_error
    return FailureType.transient_error


class SourcePendo(AbstractSource):
    streams_of_this_sync: Optional[List[Stream]] = None

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        # The CDK's check() shows repr(message), quotes and all; users see this text as it is.
        succeeded, message = self.check_connection(logger, config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED, message=self.event_query_forms(logger, config))
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))

    def event_query_forms(self, logger: logging.Logger, config: Mapping[str, Any]) -> str:
        """Which query form featureEvents and trackEvents take on this Pendo (told by check, and logged)."""
        forms = []
        for stream in self.streams(config):
            if isinstance(stream, ObjectEventStream):
                try:
                    forms.append(find_query_form(stream).describe(stream))
                except AirbyteTracedException as error:
                    reason = error.reason if isinstance(error, StreamStopped) else error.message
                    forms.append(f"{stream.source_name}: not found out ({reason}); each sync probes again.")
        for form in forms:
            logger.info(form)
        return " ".join(forms)

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        try:
            problem = diagnose(settings_of(config))
        except AirbyteTracedException as error:
            return False, error.message
        return (False, problem.message) if problem else (True, None)

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        # The catalogue needs Pendo's metadata: a problem check finds is told as check tells it,
        # before any stream is asked for its schema.
        problem = diagnose(settings_of(config))
        if problem:
            raise AirbyteTracedException(message=problem.message, internal_message=problem.message, failure_type=problem.failure_type)
        try:
            return super().discover(logger, config)
        except StreamStopped as error:
            # No stream runs in discover: what failed is reading the catalogue a schema is built from.
            message = f"Could not build the schema of stream '{error.stream}' from Pendo's metadata catalogue: {error.reason}"
            raise AirbyteTracedException(message=message, internal_message=message, failure_type=error.failure_type) from error

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[Any]] = None,
    ) -> Iterator[AirbyteMessage]:
        streams = self.streams(config)
        known = {stream.name for stream in streams}
        unknown = sorted({configured.stream.name for configured in catalog.streams} - known)
        if unknown:
            raise config_error(
                f"The catalog names streams source-pendo does not have: {', '.join(unknown)}. Refresh the source schema in the"
                f" connection's settings and deselect them (source-pendo has: {', '.join(sorted(known))})."
            )
        failures: Dict[str, AirbyteErrorTraceMessage] = {}
        readings = [partial(self.read_stream, logger, config, configured, state, failures) for configured in catalog.streams]
        ahead = PendoConfig.from_mapping(config).max_concurrent_requests - 1
        self.streams_of_this_sync = streams
        try:
            for message in in_turn(readings, ahead, ends_batch=lambda item: item.__class__ is HeldLog or item.type != Type.RECORD):
                if message.__class__ is HeldLog:
                    message.write()
                    continue
                yield message
        finally:
            self.streams_of_this_sync = None
        if failures:
            raise sync_failed({configured.stream.name: failures[configured.stream.name] for configured in catalog.streams if configured.stream.name in failures})

    def read_stream(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        configured: ConfiguredAirbyteStream,
        state: Optional[List[Any]],
        failures: Dict[str, AirbyteErrorTraceMessage],
    ) -> Iterator[Union[AirbyteMessage, HeldLog]]:
        """One stream's messages, read by the CDK, with the CDK's log lines about it in their places.
        Its failure is told in its error message and kept in `failures`: the sync's own error is
        raised once, after every stream has had its turn."""
        held = HeldLogger(logger)
        try:
            for message in AbstractSource.read(self, held, config, ConfiguredAirbyteCatalog(streams=[configured]), state):
                if held.lines:
                    yield from held.held()
                if message.type == Type.TRACE:
                    error = stream_error(message)
                    if error:
                        failures[error.stream_descriptor.name] = error
                yield message
        except AirbyteTracedException:
            if configured.stream.name not in failures:
                raise
        yield from held.held()

    @staticmethod
    def read_config(config_path: str) -> MutableMapping[str, Any]:
        return read_config_file(config_path)

    def read_state(self, state_path: str) -> List[AirbyteStateMessage]:
        try:
            return super().read_state(state_path)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise config_error(
                f"The saved state is not state source-pendo can read ({error}). Reset the connection's state (or the"
                " streams' data) so the next sync starts afresh."
            ) from error

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        if self.streams_of_this_sync is not None:
            # A sync's streams are made once: they share its request budget and outage watch.
            return self.streams_of_this_sync
        settings = settings_of(config)
        budget = request_budget(settings.requests_per_second, settings.max_concurrent_requests)
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
