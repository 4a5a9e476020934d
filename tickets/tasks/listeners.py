"""Reactions to ticket events."""
