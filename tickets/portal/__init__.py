"""The customer portal: magic-link sign-in, own (or account) tickets, replies, confirmations."""
