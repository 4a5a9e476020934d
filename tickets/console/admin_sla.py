"""SLA policies and business calendars in the console."""
from __future__ import annotations

from datetime import date

from babel import Locale
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from service.auth.permissions import Permission
from service.console.access import staff_required
from service.db_types import utcnow
from service.errors import Conflict, InvalidInput, NotFound
from service.extensions import db
from tickets import sla_admin
from tickets.console.forms_admin import (CalendarForm, DayForm, ImportHolidaysForm, PolicyForm,
                                         WEEKDAY_LABELS, apply_errors)

blueprint = Blueprint("admin_sla", __name__, url_prefix="/console/admin")
TEMPLATES = "tickets/console/admin/"


def duration_text(minutes: int) -> str:
    """A target for people: "45 min", "1 h", "3 d 4 h" (1 d = 24 h of working time)."""
    days, rest = divmod(int(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [_("%(n)s d", n=days) if days else "", _("%(n)s h", n=hours) if hours else "",
             _("%(n)s min", n=mins) if mins else ""]
    return " ".join(part for part in parts if part) or _("%(n)s min", n=0)


@blueprint.context_processor
def _helpers() -> dict:
    return {"duration_text": duration_text, "weekday_labels": WEEKDAY_LABELS,
            "format_day_hours": sla_admin.format_day_hours}


def _see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), code=303)


# ---- policies ----

@blueprint.get("/sla")
@staff_required(Permission.ADMIN_SLA)
def policies():
    """The four SLA policies with their targets and calendars."""
    return render_template(TEMPLATES + "sla_policies.html", policies=sla_admin.list_policies())


@blueprint.route("/sla/<id:policy_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_SLA)
def edit_policy(policy_id: int):
    """Edit one policy's targets, warning point and calendar."""
    policy = sla_admin.get_policy(policy_id)
    form = PolicyForm()
    form.calendar_id.choices = [SelectChoice(str(key), name)
                                for key, name in sla_admin.calendar_choices()]
    if request.method == "GET":
        form.first_response_hours.data, form.first_response_minutes.data = divmod(
            policy.first_response_minutes, 60)
        form.resolution_hours.data, form.resolution_minutes.data = divmod(
            policy.resolution_minutes, 60)
        form.warning_percent.data = policy.warning_ratio_percent
        form.calendar_id.data = policy.calendar_id
    elif form.validate_on_submit():
        try:
            sla_admin.update_policy(
                policy,
                first_response_minutes=_minutes(form.first_response_hours.data,
                                                form.first_response_minutes.data),
                resolution_minutes=_minutes(form.resolution_hours.data,
                                            form.resolution_minutes.data),
                warning_percent=form.warning_percent.data,
                calendar_id=form.calendar_id.data)
        except InvalidInput as error:
            db.session.rollback()
            apply_errors(form, error.errors, {"first_response": "first_response_hours",
                                              "resolution": "resolution_hours"})
        else:
            db.session.commit()
            flash(_("SLA policy %(name)s saved.", name=policy.name), "success")
            return _see_other("admin_sla.policies")
    status = 400 if request.method == "POST" else 200
    return render_template(TEMPLATES + "sla_policy_form.html", policy=policy, form=form), status


def _minutes(hours: int, minutes: int) -> int:
    # Bounded here so an absurd entry is a range error, not a huge integer downstream.
    return max(min(hours, 10**6), -1) * 60 + minutes


# ---- calendars ----

@blueprint.get("/calendars")
@staff_required(Permission.ADMIN_SLA)
def calendars():
    """Every business calendar, with the policies that use it."""
    return render_template(TEMPLATES + "calendars.html", rows=sla_admin.list_calendars())


@blueprint.route("/calendars/new", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_SLA)
def new_calendar():
    """Create a calendar: name, time zone, weekly hours."""
    form = CalendarForm()
    if request.method == "GET":
        form.timezone.data = current_app.config["TIMEZONE"]
        for day in range(5):
            form[f"hours_{day}"].data = "09:00-18:00"
    return _save_calendar(form, None)


@blueprint.route("/calendars/<id:calendar_id>/edit", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_SLA)
def edit_calendar(calendar_id: int):
    """Edit a calendar's name, time zone and weekly hours."""
    calendar = sla_admin.get_calendar(calendar_id)
    form = CalendarForm(obj=calendar)
    if request.method == "GET":
        for day, field in enumerate(form.day_fields()):
            field.data = sla_admin.format_day_hours(calendar.weekly_hours.get(str(day)))
    return _save_calendar(form, calendar)


def _save_calendar(form: CalendarForm, calendar):
    problems: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            saved = sla_admin.save_calendar(calendar, name=form.name.data,
                                            timezone=form.timezone.data.strip(),
                                            weekly_hours=form.weekly_hours())
        except InvalidInput as error:
            db.session.rollback()
            problems = apply_errors(form, error.errors)
        else:
            db.session.commit()
            flash(_("Calendar %(name)s saved.", name=saved.name), "success")
            return _see_other("admin_sla.calendars")
    status = 400 if request.method == "POST" else 200
    return render_template(TEMPLATES + "calendar_form.html", form=form, calendar=calendar,
                           problems=problems, zones=sla_admin.timezone_names()), status


@blueprint.post("/calendars/<id:calendar_id>/delete")
@staff_required(Permission.ADMIN_SLA)
def delete_calendar(calendar_id: int):
    """Delete a calendar no policy uses."""
    calendar = sla_admin.get_calendar(calendar_id)
    name = calendar.name
    try:
        sla_admin.delete_calendar(calendar)
    except Conflict as error:
        db.session.rollback()
        flash(str(error.detail), "error")
        return _see_other("admin_sla.edit_calendar", calendar_id=calendar_id)
    db.session.commit()
    flash(_("Calendar %(name)s deleted.", name=name), "success")
    return _see_other("admin_sla.calendars")


# ---- holidays and extra working days ----

@blueprint.route("/calendars/<id:calendar_id>/days", methods=["GET", "POST"])
@staff_required(Permission.ADMIN_SLA)
def calendar_days(calendar_id: int):
    """A calendar's holidays and extra working days of one year; add one."""
    calendar = sla_admin.get_calendar(calendar_id)
    form = DayForm()
    if request.method == "POST":
        if form.validate_on_submit():
            working = form.kind.data == "working"
            hours = form.hours.parsed if working else None
            if working and not hours:
                hours = sla_admin.usual_working_hours(calendar)
            try:
                entry = sla_admin.add_day(calendar, form.day.data, form.name.data, hours)
            except InvalidInput as error:
                db.session.rollback()
                apply_errors(form, error.errors)
            else:
                db.session.commit()
                flash(_("%(day)s added.", day=entry.day.isoformat()), "success")
                return _see_other("admin_sla.calendar_days", calendar_id=calendar.id,
                                  year=entry.day.year)
        year = form.day.data.year if form.day.data else None
        return _days_page(calendar, year, day_form=form), 400
    return _days_page(calendar, request.args.get("year", type=int), day_form=form)


@blueprint.post("/calendars/<id:calendar_id>/days/<string:day>/delete")
@staff_required(Permission.ADMIN_SLA)
def delete_day(calendar_id: int, day: str):
    """Remove one holiday or extra working day."""
    calendar = sla_admin.get_calendar(calendar_id)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise NotFound("No such date.") from None
    sla_admin.remove_day(calendar, when)
    db.session.commit()
    flash(_("%(day)s removed.", day=when.isoformat()), "success")
    return _see_other("admin_sla.calendar_days", calendar_id=calendar.id, year=when.year)


@blueprint.post("/calendars/<id:calendar_id>/import-holidays")
@staff_required(Permission.ADMIN_SLA)
def import_holidays(calendar_id: int):
    """Import a country's public holidays (and make-up working days) for some years."""
    calendar = sla_admin.get_calendar(calendar_id)
    form = ImportHolidaysForm()
    if form.validate_on_submit():
        try:
            years = sla_admin.parse_years(form.years.data)
            report = sla_admin.import_public_holidays(
                calendar, form.country.data, years, form.subdivision.data,
                language="zh_CN" if str(get_locale()).startswith("zh") else "en_US",
                make_up_day_name=_("Official make-up working day"))
        except InvalidInput as error:
            db.session.rollback()
            apply_errors(form, error.errors)
        else:
            db.session.commit()
            flash(_("Imported %(holidays)s holidays and %(workdays)s make-up working days; "
                    "skipped %(skipped)s dates the calendar already had.",
                    holidays=report.holidays_added, workdays=report.working_days_added,
                    skipped=report.skipped), "success")
            return _see_other("admin_sla.calendar_days", calendar_id=calendar.id,
                              year=years[0])
    return _days_page(calendar, None, import_form=form), 400


def _days_page(calendar, year: int | None, *, day_form: DayForm | None = None,
               import_form: ImportHolidaysForm | None = None):
    this_year = utcnow().year
    if year is None or not sla_admin.MIN_YEAR <= year <= sla_admin.MAX_YEAR:
        year = this_year
    import_form = import_form or ImportHolidaysForm(formdata=None)
    import_form.country.choices = _country_choices()
    if import_form.years.data is None:
        import_form.years.data = f"{this_year}, {this_year + 1}"
    years = sorted({*sla_admin.years_with_days(calendar), this_year, this_year + 1, year})
    return render_template(TEMPLATES + "calendar_days.html", calendar=calendar, year=year,
                           years=years, days=sla_admin.days_in_year(calendar, year),
                           day_form=day_form or DayForm(formdata=None),
                           import_form=import_form,
                           usual_hours=sla_admin.usual_working_hours(calendar),
                           min_date=f"{sla_admin.MIN_YEAR}-01-01",
                           max_date=f"{sla_admin.MAX_YEAR}-12-31")


def _country_choices() -> list[SelectChoice]:
    """Supported countries named in the reader's language, sorted by that name."""
    names = (get_locale() or Locale("en")).territories
    countries = sorted((f"{names.get(code, code)} ({code})", code)
                       for code in sla_admin.holiday_countries())
    return [SelectChoice("", _("Choose a country"))] + [SelectChoice(code, label)
                                                        for label, code in countries]
