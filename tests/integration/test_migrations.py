"""Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from service.schema_filter import include_name
from service import create_app
from service.extensions import db
from tests.conftest import BASE_CONFIG, PG_ADMIN_URL, PG_TEST_DB, pg_url, unavailable

pytestmark = pytest.mark.integration

MIGCHECK_DB = f"{PG_TEST_DB}_migcheck"


@contextmanager
def _fresh_postgres() -> Iterator[str]:
    admin_url = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://")
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{MIGCHECK_DB}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{MIGCHECK_DB}"'))
    except Exception as error:
        unavailable("PostgreSQL", error)
    try:
        yield pg_url(MIGCHECK_DB)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{MIGCHECK_DB}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migcheck.db'}"
        return
    with _fresh_postgres() as url:
        yield url


def _schema_diff() -> list:
    with db.engine.connect() as connection:
        # The search backends' own tables (FTS5, tsvector) live outside the models.
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": include_name})
        return compare_metadata(context, db.metadata)


def _tables() -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_migrations_match_the_models_and_downgrade_to_base(empty_database):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    directory = app.config["MIGRATIONS_DIR"]
    with app.app_context():
        try:
            upgrade(directory=directory)
            assert _tables() >= {table.name for table in db.metadata.sorted_tables}
            assert _schema_diff() == []

            downgrade(directory=directory, revision="base")
            assert _tables() <= {"alembic_version"}

            upgrade(directory=directory)  # and the round trip leaves the same schema
            assert _schema_diff() == []
        finally:
            db.session.remove()
            db.engine.dispose()
