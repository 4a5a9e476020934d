"""`flask kb …`: knowledge-base commands (reindex; written in the search part)."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

kb_cli = AppGroup("kb", help="Knowledge base: search index.")


@kb_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index and the typo vocabulary from every article."""
    from knowledge_base.search import reindex_all
    from service.extensions import db

    started = time.perf_counter()
    count = reindex_all()
    db.session.commit()
    click.echo(f"Indexed {count} articles in {time.perf_counter() - started:.1f} s.")
