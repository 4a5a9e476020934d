"""Closed-loop resolution: internal verification, the customer's confirmation, its evidence."""
