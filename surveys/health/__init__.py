"""Account health: one score per account over recent surveys and service, with history."""
