"""`flask privacy …`: export or erase a customer from the command line."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from service.errors import DomainError


def _fail(error: DomainError) -> click.ClickException:
    details = "; ".join(f"{name}: {' '.join(map(str, messages))}"
                        for name, messages in (error.errors or {}).items()
                        if name != "customer")
    return click.ClickException(f"{error.detail}{' (' + details + ')' if details else ''}")


@click.group("privacy")
def privacy_cli() -> None:
    """Export or erase a customer's personal data."""


@privacy_cli.command("export")
@click.argument("customer")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the JSON here (default: standard output).")
@with_appcontext
def export_command(customer: str, output: Path | None) -> None:
    """Print (or write) everything held about CUSTOMER (an id or an email address)."""
    from service.extensions import db
    from service.privacy import export

    try:
        contact = export.find_contact(customer)
        document = export.export_customer(contact.id)
        db.session.commit()  # the audit entry
    except DomainError as error:
        db.session.rollback()
        raise _fail(error) from None
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"exported customer {contact.id} to {output}", err=True)


@privacy_cli.command("erase")
@click.argument("customer")
@click.option("--reason", required=True, help="Why (e.g. the customer's request and date).")
@click.option("--force", is_flag=True, help="Erase even while the customer has open tickets.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_command(customer: str, reason: str, force: bool, yes: bool) -> None:
    """Erase (anonymise) CUSTOMER (an id or an email address) everywhere."""
    from service.extensions import db
    from service.privacy import erase, export

    try:
        contact = export.find_contact(customer)
        confirm = contact.email or str(contact.id)
        if not yes:
            click.confirm(f"Erase customer {contact.id} ({confirm})? This cannot be undone",
                          abort=True)
        cleaned = erase.check_request(contact, confirm, reason)
        summary = erase.erase_customer(contact.id, reason=cleaned, force=force)
    except DomainError as error:
        db.session.rollback()
        raise _fail(error) from None
    for name, counts in sorted(summary.domains.items()):
        changed = ", ".join(f"{kind} {count}" for kind, count in counts.items() if count)
        click.echo(f"{name}: {changed or 'nothing to change'}")
    click.echo(f"erased customer {summary.contact_id}: {summary.changed} rows changed")
