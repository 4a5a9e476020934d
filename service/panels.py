"""Panels: boxes one domain adds to another's page (the ticket page, the contact and
account pages), so the page's owner never reads the other domain's tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from service.auth.models import User

Subject = TypeVar("Subject")
COLUMNS = ("side", "main")  # next to the page's main content, or under it


@dataclass(frozen=True)
class Panel(Generic[Subject]):
    """A box on a page; `context(user, subject)` gives its template's variables, or None
    to leave it out for this user and subject."""
    name: str
    template: str
    context: Callable[[User, Subject], dict[str, Any] | None]
    order: int = 100
    column: str = "side"


@dataclass(frozen=True)
class ShownPanel:
    name: str
    template: str
    column: str
    data: dict[str, Any]


class PanelRegistry(Generic[Subject]):
    """The panels of one kind of page, by name (a panel of the same name is replaced)."""

    def __init__(self) -> None:
        self._panels: dict[str, Panel[Subject]] = {}

    def register(self, name: str, template: str,
                 context_fn: Callable[[User, Subject], dict[str, Any] | None],
                 order: int = 100, *, column: str = "side") -> None:
        """Add a panel; its template is included with `panel` (the name) and `data` (what
        context_fn returned) and should render one `<section class="card">` with a heading."""
        if column not in COLUMNS:
            raise ValueError("column is 'side' or 'main'")
        self._panels[name] = Panel(name, template, context_fn, order, column)

    def shown(self, user: User, subject: Subject) -> list[ShownPanel]:
        """The panels this user sees for this subject, in order."""
        result = []
        for panel in sorted(self._panels.values(), key=lambda item: (item.order, item.name)):
            data = panel.context(user, subject)
            if data is not None:
                result.append(ShownPanel(panel.name, panel.template, panel.column, data))
        return result
