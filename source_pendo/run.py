import logging
import sys
from typing import List, Optional

from airbyte_cdk.entrypoint import PRINT_BUFFER, AirbyteEntrypoint
from airbyte_cdk.logger import AirbyteLogFormatter

from .config import PendoConfig
from .config_migration import MigrateStartDate
from .source import SourcePendo


class PendoEntrypoint(AirbyteEntrypoint):
    @staticmethod
    def validate_connection(source_spec, config) -> None:
        # Our own checks first: their messages name the field and the fix, where a JSON-schema
        # error only quotes the rule that failed. The spec's own validation still follows.
        PendoConfig.from_mapping(config)
        AirbyteEntrypoint.validate_connection(source_spec, config)


class WithoutTracebacks(logging.Filter):
    """Log messages as a user reads them: the CDK logs a failed stream, and the error that ends the
    run as FATAL, with its traceback; the TRACE message's stack_trace keeps it for developers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def hide_tracebacks_from_log_messages() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, AirbyteLogFormatter) and not any(isinstance(f, WithoutTracebacks) for f in handler.filters):
            handler.addFilter(WithoutTracebacks())


def run(args: Optional[List[str]] = None) -> None:
    """The CDK's `launch`, with PendoEntrypoint, after upgrading an older saved configuration."""
    args = sys.argv[1:] if args is None else args
    source = SourcePendo()
    MigrateStartDate.migrate(args, source)
    entrypoint = PendoEntrypoint(source)
    hide_tracebacks_from_log_messages()
    parsed_args = entrypoint.parse_args(args)
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed_args):
            print(f"{message}\n", end="")
