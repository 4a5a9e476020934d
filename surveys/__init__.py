"""Surveys and the sales feedback loop: CSAT and NPS, service recovery, account health,
opportunities for sales, VIP revisits."""
