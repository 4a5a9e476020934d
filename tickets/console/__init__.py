"""The staff console pages of the tickets domain."""
