"""Upgrades a configuration saved for an older source-pendo before the CDK reads it.

A 0.2.x configuration is `{"api_key": ...}` alone. 1.0.0 runs with it as it is (start_date is
optional), but a start date left empty would otherwise slide with every sync; so on the first
run without one, the default is written into the configuration: into the config file, and to the
platform as a CONNECTOR_CONFIG control message (Airbyte's way for a connector to update its own
saved configuration), so that it shows in the source's settings and stays put.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, List, Mapping, MutableMapping, Optional

from airbyte_cdk.config_observation import emit_configuration_as_airbyte_control_message
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.sources import Source
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .config import default_start_date

logger = logging.getLogger("airbyte")


class MigrateStartDate:
    """Fills in the default start_date of a configuration that has none."""

    @staticmethod
    def should_migrate(config: Mapping[str, Any]) -> bool:
        return not config.get("start_date")

    @staticmethod
    def migrated(config: Mapping[str, Any], now: datetime) -> MutableMapping[str, Any]:
        return {**config, "start_date": default_start_date(now).strftime("%Y-%m-%d")}

    @classmethod
    def migrate(cls, args: List[str], source: Source) -> None:
        """Rewrites the file given as `--config` in `args` (if any) and announces the new config.
        A file that cannot be read is left to the entrypoint, which reports it."""
        config_path: Optional[str] = AirbyteEntrypoint.extract_config(args)
        if not config_path:
            return
        try:
            config = source.read_config(config_path)
        except (OSError, ValueError, AirbyteTracedException):
            return
        if not cls.should_migrate(config):
            return
        new_config = cls.migrated(config, datetime.now(timezone.utc))
        try:
            with open(config_path, "w") as handle:
                json.dump(new_config, handle)
        except OSError:
            # A read-only mount: this run uses the same default, and the platform saves it.
            logger.info("The config file is read-only; the default start date goes to the platform only.")
        emit_configuration_as_airbyte_control_message(new_config)
