"""Service recovery: a low CSAT or an NPS detractor gets a call back with a deadline."""
