"""`flask kb …`: knowledge-base commands (reindex; written in the search part)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

kb_cli = AppGroup("kb", help="Knowledge base: search index.")
