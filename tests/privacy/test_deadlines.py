from datetime import date

import pytest

from privacy.deadlines import (
    CCPA_CONFIRM_RECEIPT,
    CCPA_EXTENSION,
    CCPA_OPT_OUT,
    CCPA_RESPOND,
    SHINE_THE_LIGHT,
    SHINE_THE_LIGHT_ELSEWHERE,
    DayKind,
    add_days,
    days_left,
    federal_holidays,
    is_business_day,
)


def test_federal_holidays_of_2026_with_observed_days():
    holidays = federal_holidays(2026)

    assert sorted(holidays) == [
        date(2026, 1, 1),
        date(2026, 1, 19),  # MLK: third Monday
        date(2026, 2, 16),
        date(2026, 5, 25),  # last Monday of May
        date(2026, 6, 19),
        date(2026, 7, 3),  # July 4 is a Saturday: observed Friday
        date(2026, 9, 7),
        date(2026, 10, 12),
        date(2026, 11, 11),
        date(2026, 11, 26),  # fourth Thursday
        date(2026, 12, 25),
    ]


def test_a_saturday_new_year_is_observed_on_the_last_day_of_the_year_before():
    # 1 January 2028 is a Saturday.
    assert date(2027, 12, 31) in federal_holidays(2027)
    assert date(2028, 1, 1) not in federal_holidays(2028)


def test_a_sunday_holiday_moves_to_monday():
    # 25 December 2022 was a Sunday.
    assert date(2022, 12, 26) in federal_holidays(2022)


def test_juneteenth_only_from_2021():
    assert date(2020, 6, 19) not in federal_holidays(2020)
    assert date(2021, 6, 18) in federal_holidays(2021)  # a Saturday that year


def test_business_days_skip_weekends_and_holidays():
    assert is_business_day(date(2026, 11, 25))
    assert not is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not is_business_day(date(2026, 11, 28))  # Saturday


def test_ten_business_days_across_thanksgiving():
    # Received Monday 23 Nov 2026: 24, 25, (26 holiday), 27, 30, 1, 2, 3, 4, 7, 8.
    assert CCPA_CONFIRM_RECEIPT.due(date(2026, 11, 23)) == date(2026, 12, 8)


def test_fifteen_business_days_across_christmas_and_new_year():
    # Received Friday 18 Dec 2026; 25 Dec and 1 Jan are holidays.
    assert CCPA_OPT_OUT.due(date(2026, 12, 18)) == date(2027, 1, 12)


def test_a_receipt_on_a_weekend_counts_from_the_next_business_day():
    assert add_days(date(2026, 11, 28), 1, DayKind.BUSINESS) == date(2026, 11, 30)


@pytest.mark.parametrize(
    ("clock", "received", "due"),
    [
        (CCPA_RESPOND, date(2026, 11, 28), date(2027, 1, 12)),
        (CCPA_EXTENSION, date(2026, 11, 28), date(2027, 2, 26)),
        (SHINE_THE_LIGHT, date(2026, 12, 15), date(2027, 1, 14)),
        (SHINE_THE_LIGHT_ELSEWHERE, date(2026, 1, 1), date(2026, 5, 31)),
    ],
)
def test_calendar_clocks(clock, received, due):
    assert clock.due(received) == due


def test_days_left_counts_in_the_clock_s_own_days_and_goes_negative_when_overdue():
    due = date(2026, 12, 8)
    assert days_left(due, date(2026, 11, 25), DayKind.BUSINESS) == 8
    assert days_left(due, date(2026, 12, 8), DayKind.BUSINESS) == 0
    assert days_left(due, date(2026, 12, 10), DayKind.BUSINESS) == -2
    assert days_left(due, date(2026, 11, 25), DayKind.CALENDAR) == 13
