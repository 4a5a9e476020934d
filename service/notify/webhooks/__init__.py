"""Outbound webhooks: admins subscribe URLs to ticket events; signed JSON POSTs, retried.

`services.publish(event, payload)` records one delivery per subscribed webhook inside the
caller's transaction and enqueues its job on the `webhooks` queue (run after commit);
`services.deliver(delivery_id)` sends it once (`sending`: signed, to the address `safety`
resolved and allowed, again at send time).
"""
