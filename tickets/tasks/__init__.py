"""Cross-department tasks: work another department does for a ticket, on its own clock."""
