"""The customer export as a file download (the API and the console send the same one)."""
from __future__ import annotations

import json

from flask import Response, current_app

from service.extensions import db
from service.privacy import export


def customer_file(contact_id: int) -> Response:
    """Export the customer (recording the audit entry) and answer with the JSON file."""
    document = export.export_customer(contact_id)
    db.session.commit()  # the audit entry
    body = json.dumps(document, ensure_ascii=False, indent=2,
                      default=current_app.json.default)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="customer-{contact_id}.json"',
        "Cache-Control": "no-store"})
