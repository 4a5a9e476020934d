"""Numbers of the feedback loop: NPS, CSAT, response rate, recovery, opportunities."""
