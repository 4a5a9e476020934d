"""Staff-facing names of task statuses, defined once for the task pages and panels."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TASK_STATUS_LABELS = {
    "open": _l("Open"), "in_progress": _l("In progress"), "blocked": _l("Blocked"),
    "done": _l("Done"), "cancelled": _l("Cancelled"),
}
