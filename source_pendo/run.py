import sys
from typing import List, Optional

from airbyte_cdk.entrypoint import PRINT_BUFFER, AirbyteEntrypoint

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


def run(args: Optional[List[str]] = None) -> None:
    """The CDK's `launch`, with PendoEntrypoint, after upgrading an older saved configuration."""
    args = sys.argv[1:] if args is None else args
    source = SourcePendo()
    MigrateStartDate.migrate(args, source)
    entrypoint = PendoEntrypoint(source)
    parsed_args = entrypoint.parse_args(args)
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed_args):
            print(f"{message}\n", end="")
