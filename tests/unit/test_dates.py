"""Unit tests for models.dates: which date ranges a run may touch."""

from datetime import date

import pytest

from models.dates import ImpossibleRange, check_range

TODAY = date(2026, 3, 10)


def test_a_range_up_to_today_gives_its_days():
    assert check_range(date(2026, 3, 8), TODAY, today=TODAY) == [date(2026, 3, 8), date(2026, 3, 9), TODAY]
    assert check_range(TODAY, today=TODAY) == [TODAY]


def test_end_before_start_is_refused_in_one_line():
    with pytest.raises(ImpossibleRange, match=r"^end 2026-03-01 is before start 2026-03-05: nothing to run$"):
        check_range(date(2026, 3, 5), date(2026, 3, 1), today=TODAY)


def test_a_future_day_is_refused_naming_the_first_one():
    with pytest.raises(ImpossibleRange, match=r"2026-03-11 is after today \(2026-03-10\)") as err:
        check_range(date(2026, 3, 9), date(2026, 3, 12), today=TODAY)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)  # never retried by tasks (NOT_RETRIED)


def test_future_days_pass_with_allow_future():
    assert check_range(date(2026, 3, 11), today=TODAY, allow_future=True) == [date(2026, 3, 11)]
