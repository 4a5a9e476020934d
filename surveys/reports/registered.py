"""The feedback reports, registered with service.reports (helper fills this in)."""
from surveys.reports import dashboard as _dashboard  # noqa: F401  (registers the section)
