"""VIP revisits: recurring calls to VIP accounts, their checklists and outcomes."""
