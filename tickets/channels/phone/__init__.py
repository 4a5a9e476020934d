"""Phone: calls staff log on tickets, and calls a telephony system reports (signed)."""
