"""A customer's data on request: export all of it, erase (anonymise) it."""
