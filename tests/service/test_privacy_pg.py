"""The customer export and erasure tests that depend on the database, again on PostgreSQL
(migrated, real connection): the set-based updates, the rollback, the API and the CLI (whose
second run checks idempotency). Each PostgreSQL test empties every table first, so only
these run here; the rest run on SQLite in test_privacy.py."""
from __future__ import annotations

import pytest

from tests.service.test_privacy import (  # noqa: F401  (collected here, on PostgreSQL)
    test_a_failing_domain_rolls_everything_back, test_api_export_and_erase,
    test_cli_export_and_erase, test_erase_blanks_personal_data_everywhere_and_keeps_the_numbers,
    test_export_has_every_domain_of_the_contact_and_nothing_of_another)


@pytest.fixture
def db_app(pg_app):
    """These tests run on PostgreSQL."""
    return pg_app
