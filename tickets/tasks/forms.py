"""Forms of the task pages: queue filters, a new task, status, assignee, due time, notes."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateTimeLocalField, HiddenField, SelectChoice, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, Optional,
                                ValidationError)

from service.templating import display_zone
from service.console.form_values import as_id, clean
from tickets.tasks.labels import TASK_STATUS_LABELS
from tickets.tasks.models import TaskStatus

TITLE_MAX = 200
TEXT_MAX = 20000
NOTE_MAX = 10000  # tickets.tasks.services.NOTE_MAX
# Filter values of the queue besides a department id / a status.
MY_DEPARTMENTS, ALL_DEPARTMENTS = "mine", "all"
ACTIVE, ANY_STATUS = "active", "any"


class LocalDateTimeField(DateTimeLocalField):
    """A datetime-local input read and shown in the reader's time zone; data is UTC."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None:  # wall time in the reader's zone → the instant, in UTC
            self.data = self.data.replace(tzinfo=display_zone()).astimezone(UTC)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, datetime):
            moment = self.data if self.data.tzinfo else self.data.replace(tzinfo=UTC)
            return moment.astimezone(display_zone()).strftime("%Y-%m-%dT%H:%M")
        return ""


def _due_field(label: Any, *, required: bool) -> LocalDateTimeField:
    first = (InputRequired(_l("Choose the due time.")) if required else Optional())
    return LocalDateTimeField(label, validators=[first])


def _text(label: Any, *, required: str | None = None, max_length: int = TEXT_MAX) -> Any:
    first = DataRequired(required) if required else Optional()
    return TextAreaField(label, filters=[clean], validators=[
        first, Length(max=max_length, message=_l("At most %(max)d characters."))])


def status_choices() -> list[SelectChoice]:
    """The task statuses as select options."""
    return [SelectChoice(value, label) for value, label in TASK_STATUS_LABELS.items()]


class TaskFilterForm(FlaskForm):
    """The task queue's GET arguments: department, status, assignee, overdue, page cursor."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    department = SelectField(_l("Department"), default=MY_DEPARTMENTS, choices=[],
                             invalid_choice_message=_l("Choose a department from the list."))
    status = SelectField(_l("Status"), default=ACTIVE, choices=[
        SelectChoice(ACTIVE, _l("Active (open, in progress, blocked)")),
        *status_choices(), SelectChoice(ANY_STATUS, _l("Any status"))],
        invalid_choice_message=_l("Choose a status from the list."))
    assignee = SelectField(_l("Assignee"), default="", choices=[
        SelectChoice("", _l("Anyone")), SelectChoice("me", _l("Me"))],
        invalid_choice_message=_l("Choose “Anyone” or “Me”."))
    overdue = BooleanField(_l("Overdue only"))
    cursor = HiddenField(filters=[clean], validators=[Optional(), Length(max=200)])


class NewTaskForm(FlaskForm):
    """A task for a department, opened from a ticket."""

    title = StringField(_l("Title"), filters=[clean], validators=[
        DataRequired(_l("Give the task a title.")),
        Length(max=TITLE_MAX, message=_l("At most %(max)d characters."))])
    description = _text(_l("What is needed"))
    department_id = SelectField(_l("Department"), choices=[], validate_choice=False)
    assignee_id = SelectField(_l("Assignee (optional)"), choices=[], validate_choice=False)
    due_at = _due_field(_l("Due (optional)"), required=False)
    expected_outcome = _text(_l("Expected back"))

    def set_choices(self, departments: list[tuple[int, str]],
                    people: list[tuple[int, str, list[int]]]) -> None:
        """The departments and the people who may be chosen (with their departments)."""
        self.department_id.choices = [SelectChoice("", _l("Choose a department")),
                                      *(SelectChoice(str(id_), name) for id_, name in departments)]
        self.assignee_id.choices = [SelectChoice("", _l("Nobody yet: the department picks")),
                                    *(SelectChoice(str(id_), name) for id_, name, _ in people)]
        self._department_ids = {id_ for id_, _name in departments}
        self._person_ids = {id_ for id_, _name, _teams in people}
        # The page groups people by department: one <optgroup> each.
        self.groups = [(name, [(person_id, person) for person_id, person, teams in people
                               if id_ in teams]) for id_, name in departments]

    def validate_department_id(self, field: SelectField) -> None:
        if as_id(field.data) not in self._department_ids:
            raise ValidationError(_l("Choose a department from the list."))

    def validate_assignee_id(self, field: SelectField) -> None:
        if field.data and as_id(field.data) not in self._person_ids:
            raise ValidationError(_l("Choose a member of the department, or nobody."))

    def values(self) -> dict[str, Any]:
        """The validated fields as create_task takes them."""
        return {"title": self.title.data, "description": self.description.data or "",
                "department_id": as_id(self.department_id.data),
                "assignee_id": as_id(self.assignee_id.data), "due_at": self.due_at.data,
                "expected_outcome": self.expected_outcome.data or ""}


class StatusForm(FlaskForm):
    """Move the task to another status, with an optional note and, when done, the outcome."""

    status = SelectField(_l("New status"), choices=status_choices(),
                         invalid_choice_message=_l("Choose a status from the list."))

    def set_choices(self, current: TaskStatus, allowed: frozenset[TaskStatus]) -> None:
        """The statuses the task may move to from where it is (and where it is)."""
        self.status.choices = [SelectChoice(status.value, TASK_STATUS_LABELS[status.value])
                               for status in TaskStatus if status == current or status in allowed]
    note = _text(_l("Note (optional)"), max_length=NOTE_MAX)
    outcome = _text(_l("Outcome (what the department gives back)"))

    def changes(self) -> dict[str, Any]:
        """What update_task is asked to change."""
        changes: dict[str, Any] = {"status": TaskStatus(self.status.data)}
        if self.note.data:
            changes["note"] = self.note.data
        if self.outcome.data:
            changes["outcome"] = self.outcome.data
        return changes


class ReassignForm(FlaskForm):
    """Give the task to another member of its department (or to nobody)."""

    assignee_id = SelectField(_l("Assignee"), choices=[], validate_choice=False)

    def set_choices(self, members: list[tuple[int, str]]) -> None:
        """The department's members."""
        self.assignee_id.choices = [SelectChoice("", _l("Nobody")),
                                    *(SelectChoice(str(id_), name) for id_, name in members)]
        self._member_ids = {id_ for id_, _name in members}

    def validate_assignee_id(self, field: SelectField) -> None:
        if field.data and as_id(field.data) not in self._member_ids:
            raise ValidationError(_l("Choose a member of the department, or nobody."))


class DueForm(FlaskForm):
    """A new due time for the task."""

    due_at = _due_field(_l("Due"), required=True)


class NoteForm(FlaskForm):
    """A progress note with files, published to the customer if asked."""

    body = _text(_l("Note"), required=_l("Write the note first."), max_length=NOTE_MAX)
    attachments = MultipleFileField(_l("Attachments"))
    publish_to_customer = BooleanField(_l("Publish to the customer"))
