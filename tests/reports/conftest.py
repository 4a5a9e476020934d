"""The reports' tests run each hand-worked data set on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    """The app under test: the per-test SQLite app, then the PostgreSQL one."""
    return request.getfixturevalue("pg_app" if request.param == "postgresql" else "app")
