"""RFC 5545 calendars for a meeting, as iTIP (RFC 5546) REQUEST and CANCEL messages.

One UID per meeting, kept for its whole life: the series is the master VEVENT, and a
rescheduled sitting is an extra VEVENT with the same UID and a RECURRENCE-ID naming the
slot the rule put it in. Times carry the meeting's TZID with a matching VTIMEZONE, so a
weekly 09:00 stays 09:00 in the host's zone across daylight-saving changes; a meeting
in UTC is written in UTC instead.
"""

import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.utils import timezone

from . import links
from .models import Meeting, Occurrence, Recurrence
from .schedule import local_starts, schedule_of, to_utc

_FREQ = {Recurrence.DAILY: "DAILY", Recurrence.WEEKLY: "WEEKLY", Recurrence.MONTHLY: "MONTHLY"}
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def uid_of(meeting: Meeting) -> str:
    return f"{meeting.public_id}@{urlsplit(settings.SITE_URL).hostname}"


def description_of(meeting: Meeting, join_link: str) -> str:
    """The event's notes: agenda, join link and passcode, as plain text."""
    lines = [meeting.agenda, ""] if meeting.agenda else []
    lines.append(f"Join the meeting: {join_link}")
    if meeting.passcode:
        lines.append(f"Passcode: {meeting.passcode}")
    return "\n".join(lines)


def build_request(
    meeting: Meeting, *, attendee_email: str | None = None, join_link: str | None = None
) -> bytes:
    """The whole meeting as it stands: a new invitation or an update to one.

    With `attendee_email` only that person is listed (their own copy, with their
    personal `join_link`); without, every invitee is.
    """
    link = join_link or links.join_url(meeting)
    view = MeetingDates(meeting)
    master = _event(meeting, attendee_email)
    _add_times(master, view.first_start, view.first_end)
    if meeting.is_recurring:
        master.add("rrule", _rrule(meeting))
        if view.excluded:
            master.add("exdate", [view.slot(o.original_start) for o in view.excluded])
    _add_details(master, meeting, link)
    calendar = _calendar("REQUEST", [master])
    for occurrence in view.moved:
        override = _event(meeting, attendee_email)
        override.add("recurrence-id", view.slot(occurrence.original_start))
        _add_times(override, view.local(occurrence.starts_at), view.local(occurrence.ends_at))
        _add_details(override, meeting, link)
        calendar.add_component(override)
    return _finish(calendar, view)


def build_cancel(
    meeting: Meeting, *, attendee_email: str | None = None, occurrence: Occurrence | None = None
) -> bytes:
    """Call off the whole meeting, or with `occurrence` that one sitting of the series."""
    view = MeetingDates(meeting)
    event = _event(meeting, attendee_email)
    if occurrence is None:
        _add_times(event, view.first_start, view.first_end)
        if meeting.is_recurring:
            event.add("rrule", _rrule(meeting))
    else:
        event.add("recurrence-id", view.slot(occurrence.original_start))
        _add_times(event, view.local(occurrence.starts_at), view.local(occurrence.ends_at))
        view.note(occurrence.original_start)
    event.add("status", "CANCELLED")
    return _finish(_calendar("CANCEL", [event]), view)


class MeetingDates:
    """The meeting's dates in its own zone, and which sittings differ from the rule.

    `first_start`/`first_end` are the master event's; `excluded` are the cancelled
    sittings of a series (EXDATE), `moved` its rescheduled ones (overrides).
    """

    def __init__(self, meeting: Meeting) -> None:
        self.zone = ZoneInfo(meeting.time_zone)
        duration = timedelta(minutes=meeting.duration_minutes)
        schedule = schedule_of(meeting)
        walls = local_starts(schedule) or [schedule.first_local_start()]
        # Each slot's wall-clock time as the rule wrote it. A start inside a spring-forward
        # gap (02:30 on that night) is stored as the instant RFC 5545 gives it, which reads
        # back as 03:30; RECURRENCE-ID and EXDATE must still say 02:30 to name the slot.
        self._walls = {to_utc(wall, self.zone): wall.replace(tzinfo=self.zone) for wall in walls}
        rule_starts = list(self._walls)
        in_rule = set(rule_starts)
        # Sittings whose slot the current rule no longer has (a timing change left
        # them behind, with their history) are not the calendar's business.
        occurrences = [o for o in meeting.occurrences.all() if o.original_start in in_rule]
        self.excluded = [o for o in occurrences if o.status == Occurrence.Status.CANCELLED]
        moved = [
            o for o in occurrences if o.is_override and o.status != Occurrence.Status.CANCELLED
        ]
        first_start, first_end = rule_starts[0], rule_starts[0] + duration
        if not meeting.is_recurring and moved:
            # A one-off that was moved is simply at its new time: no series to override.
            first_start, first_end = moved[0].starts_at, moved[0].ends_at
            moved = []
        self.moved = moved
        self.first_start = self.slot(first_start)
        self.first_end = self.local(first_end)
        self._instants = [first_start, first_end, rule_starts[-1] + duration]
        for occurrence in [*self.excluded, *self.moved]:
            self._instants += [occurrence.original_start, occurrence.starts_at, occurrence.ends_at]
        if meeting.recurrence_until:
            self._instants.append(_until(meeting))

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def slot(self, instant: datetime) -> datetime:
        """A slot of the rule (DTSTART, RECURRENCE-ID, EXDATE) in its wall-clock time."""
        return self._walls.get(instant) or self.local(instant)

    def note(self, instant: datetime) -> None:
        self._instants.append(instant)

    def year_span(self) -> tuple[date, date]:
        """Whole years around every date written, for a VTIMEZONE that covers them."""
        return (
            date(min(self._instants).year, 1, 1),
            date(max(self._instants).year + 1, 1, 1),
        )


def _calendar(method: str, events: Iterable[icalendar.Event]) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//Meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    return calendar


def _finish(calendar: icalendar.Calendar, view: MeetingDates) -> bytes:
    first, last = view.year_span()
    for tzid in sorted(calendar.get_missing_tzids()):
        vtimezone = _vtimezone(tzid, first, last)
        if vtimezone is not None:
            calendar.subcomponents.insert(len(calendar.timezones), vtimezone)
    return calendar.to_ical()


@functools.lru_cache(maxsize=256)
def _vtimezone(tzid: str, first: date, last: date) -> icalendar.Timezone | None:
    # Walking a zone's transitions is most of a calendar's cost, and reminder batches
    # write one calendar per recipient in a handful of zones: each is built once.
    try:
        return icalendar.Timezone.from_tzid(tzid, first_date=first, last_date=last)
    except ValueError:  # a zone icalendar does not know goes without, as before
        return None


def _event(meeting: Meeting, attendee_email: str | None) -> icalendar.Event:
    """What every VEVENT of the meeting repeats: identity, version, people, title."""
    event = icalendar.Event()
    event.add("uid", uid_of(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", timezone.now().astimezone(UTC))
    host = meeting.host
    event.add("organizer", icalendar.vCalAddress.new(host.email, cn=host.full_name.strip() or None))
    # .all(), so that a batch that prefetched the invitations (reminders) asks nothing.
    emails = (
        [attendee_email]
        if attendee_email
        else [invitation.email for invitation in meeting.invitations.all()]
    )
    for email in emails:
        event.add(
            "attendee",
            icalendar.vCalAddress.new(
                email, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=True
            ),
        )
    event.add("summary", meeting.title)
    return event


def _add_times(event: icalendar.Event, start: datetime, end: datetime) -> None:
    event.add("dtstart", start)
    event.add("dtend", end)


def _add_details(event: icalendar.Event, meeting: Meeting, link: str) -> None:
    event.add("description", description_of(meeting, link))
    event.add("location", link)
    event.add("url", link)
    event.add("status", "CONFIRMED")


def _until(meeting: Meeting) -> datetime:
    # The end date is inclusive in the host's zone; UNTIL must be UTC with a TZID start.
    assert meeting.recurrence_until is not None
    end_of_day = datetime.combine(meeting.recurrence_until, time(23, 59, 59))
    return to_utc(end_of_day, ZoneInfo(meeting.time_zone))


def _rrule(meeting: Meeting) -> dict[str, object]:
    rule: dict[str, object] = {"freq": _FREQ[Recurrence(meeting.recurrence)]}
    if meeting.recurrence_interval > 1:
        rule["interval"] = meeting.recurrence_interval
    if meeting.recurrence == Recurrence.WEEKLY:
        # Stated, because it decides which weeks "every 2 weeks" means.
        rule["wkst"] = "MO"
        rule["byday"] = [_BYDAY[day] for day in sorted(meeting.recurrence_weekdays)]
    if meeting.recurrence_until:
        rule["until"] = _until(meeting)
    elif meeting.recurrence_count:
        rule["count"] = meeting.recurrence_count
    return rule
