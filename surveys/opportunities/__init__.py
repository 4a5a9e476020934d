"""Opportunities for sales: evidenced reasons to call a customer, and the sales inbox."""
