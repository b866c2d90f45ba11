import sys

from airbyte_cdk.entrypoint import launch

from .source import SourcePendo


def run() -> None:
    launch(SourcePendo(), sys.argv[1:])
