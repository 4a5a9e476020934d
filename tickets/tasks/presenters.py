"""How the task pages and panels word a task: its status, its due time, lengths of time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


from service.templating import display_zone, localtime
from tickets.console.ticket_page import countdown, span
from tickets.tasks.labels import TASK_STATUS_LABELS
from tickets.tasks.models import ACTIVE_TASK_STATUSES, Task
from tickets.ticket_page import team_name


def task_status_label(value: Any) -> str:
    """A task status in the reader's words."""
    return str(TASK_STATUS_LABELS.get(getattr(value, "value", value), value))


@dataclass(frozen=True)
class DueView:
    """A task's due time as pages show it: a countdown, a colour (state), overdue or not."""
    state: str  # on_track, at_risk, breached (overdue), paused (finished: no clock)
    text: str
    overdue: bool


def due_view(task: Task, now: datetime) -> DueView:
    """How the task's due time reads now; at risk in the last quarter of its time."""
    if task.status not in ACTIVE_TASK_STATUSES:
        return DueView("paused", localtime(task.due_at, with_zone=False), False)
    left = (task.due_at - now).total_seconds()
    allotted = max((task.due_at - task.created_at).total_seconds(), 1)
    state = "breached" if left <= 0 else "at_risk" if left < allotted / 4 else "on_track"
    return DueView(state, countdown(task.due_at, now), left <= 0)


TEMPLATE_HELPERS: dict[str, Any] = {
    "task_status_label": task_status_label, "task_due": due_view, "task_span": span,
    "task_zone": lambda: display_zone().key,
    "task_team_label": lambda team: team_name(team.name, team.name_zh) if team else None,
}
