"""Admin API of outbound webhooks: parse → call a service → dump."""
from __future__ import annotations

from flask import Blueprint

from service.api import current_user, doc, json_body, query_args
from service.auth.permissions import Permission, require
from service.extensions import db
from service.notify.webhooks import services
from service.notify.webhooks.schemas import (DeliveryOut, DeliveryPageOut, DeliveryQuery,
                                             WebhookIn, WebhookOut, WebhookPageOut,
                                             WebhookPageQuery, WebhookPatch,
                                             WebhookWithSecretOut)

blueprint = Blueprint("webhooks_api", __name__)

_in, _patch, _out, _with_secret = WebhookIn(), WebhookPatch(), WebhookOut(), WebhookWithSecretOut()
_page_query, _page = WebhookPageQuery(), WebhookPageOut()
_delivery_query, _delivery_out, _delivery_page = DeliveryQuery(), DeliveryOut(), DeliveryPageOut()


def _admin() -> None:
    require(current_user(), Permission.ADMIN_WEBHOOKS)


@blueprint.post("/admin/webhooks")
@doc("Subscribe a URL to events; the signing secret is in this answer only", tags=["admin"],
     body=WebhookIn, responses={201: WebhookWithSecretOut})
def create():
    _admin()
    data = json_body(_in)
    webhook, secret = services.create_webhook(data["url"], data["events"],
                                              data["description"], current_user())
    db.session.commit()
    return {**_out.dump(webhook), "secret": secret}, 201


@blueprint.get("/admin/webhooks")
@doc("List webhooks (keyset pages)", tags=["admin"], query=WebhookPageQuery,
     responses={200: WebhookPageOut})
def list_all():
    _admin()
    args = query_args(_page_query)
    items, next_cursor = services.list_webhooks(args["limit"], args.get("cursor"))
    return _page.dump({"items": items, "next_cursor": next_cursor})


@blueprint.get("/admin/webhooks/<id:webhook_id>")
@doc("Get one webhook", tags=["admin"], responses={200: WebhookOut})
def get_one(webhook_id: int):
    _admin()
    return _out.dump(services.get_webhook(webhook_id))


@blueprint.patch("/admin/webhooks/<id:webhook_id>")
@doc("Change url, events, description or is_active (enabling resets the failure count)",
     tags=["admin"], body=WebhookPatch, responses={200: WebhookOut})
def patch_one(webhook_id: int):
    _admin()
    changes = json_body(_patch)
    webhook = services.update_webhook(services.get_webhook(webhook_id), changes)
    db.session.commit()
    return _out.dump(webhook)


@blueprint.delete("/admin/webhooks/<id:webhook_id>")
@doc("Delete a webhook and its delivery log", tags=["admin"])
def delete_one(webhook_id: int):
    _admin()
    services.delete_webhook(services.get_webhook(webhook_id))
    db.session.commit()
    return "", 204


@blueprint.post("/admin/webhooks/<id:webhook_id>/rotate-secret")
@doc("Replace the signing secret; the new one is in this answer only", tags=["admin"],
     responses={200: WebhookWithSecretOut})
def rotate_secret(webhook_id: int):
    _admin()
    webhook = services.get_webhook(webhook_id)
    secret = services.rotate_secret(webhook)
    db.session.commit()
    return {**_out.dump(webhook), "secret": secret}


@blueprint.get("/admin/webhooks/<id:webhook_id>/deliveries")
@doc("A webhook's delivery log, newest first (keyset pages)", tags=["admin"],
     query=DeliveryQuery, responses={200: DeliveryPageOut})
def list_deliveries(webhook_id: int):
    _admin()
    args = query_args(_delivery_query)
    items, next_cursor = services.list_deliveries(services.get_webhook(webhook_id),
                                                  args["limit"], args.get("cursor"),
                                                  args.get("status"))
    return _delivery_page.dump({"items": items, "next_cursor": next_cursor})


@blueprint.post("/admin/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver")
@doc("Send a delivery again (receivers dedupe on X-Loopdesk-Delivery)", tags=["admin"],
     responses={202: DeliveryOut})
def redeliver(webhook_id: int, delivery_id: int):
    _admin()
    delivery = services.redeliver(services.get_webhook(webhook_id), delivery_id)
    db.session.commit()
    return _delivery_out.dump(delivery), 202
