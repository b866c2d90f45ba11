"""Airbyte's standard connector tests, driven by acceptance-test-config.yml."""

from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from source_pendo.source import SourcePendo


class TestSourcePendo(SourceTestSuiteBase):
    connector = SourcePendo
