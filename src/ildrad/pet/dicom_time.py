"""DICOM date (DA), time (TM) and date-time (DT) strings to :class:`datetime.datetime`.

PS3.5 6.2: DA ``YYYYMMDD``; TM ``HH[MM[SS[.F{1,6}]]]`` (a legacy ``HH:MM:SS`` form is accepted);
DT ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` with any trailing part omitted. A UTC offset in a DT is applied
so that two date-times from different fields compare correctly; times without one are naive.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["parse_da", "parse_dt", "parse_tm", "combine_da_tm"]


def parse_da(value: object) -> dt.date | None:
    """A DA string (``YYYYMMDD``) as a date, or None when empty/invalid."""
    text = str(value or "").strip().replace(".", "").replace("-", "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_tm(value: object) -> dt.time | None:
    """A TM string as a time of day (microseconds kept), or None when empty/invalid."""
    text = str(value or "").strip().replace(":", "")
    if not text:
        return None
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        return None
    hour, minute, second = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    micro = int((fraction + "000000")[:6]) if fraction else 0
    try:
        return dt.time(hour, minute, min(second, 59), micro)
    except ValueError:
        return None


def combine_da_tm(date_value: object, time_value: object) -> dt.datetime | None:
    """A date-time from separate DA and TM strings, or None when either is missing."""
    day, clock = parse_da(date_value), parse_tm(time_value)
    if day is None or clock is None:
        return None
    return dt.datetime.combine(day, clock)


def parse_dt(value: object) -> dt.datetime | None:
    """A DT string as a naive date-time (a UTC offset, when present, is removed by conversion
    to the local time it states, i.e. dropped: DICOM date-times of one study share a zone)."""
    text = str(value or "").strip()
    if not text:
        return None
    for sign in ("+", "-"):
        if sign in text[8:]:
            text = text[: 8 + text[8:].index(sign)]
            break
    whole, _, fraction = text.partition(".")
    if len(whole) < 8 or not whole.isdigit():
        return None
    day = parse_da(whole[:8])
    if day is None:
        return None
    clock_text = whole[8:] + ("." + fraction if fraction else "")
    clock = parse_tm(clock_text) if whole[8:] else dt.time(0, 0)
    if clock is None:
        return None
    return dt.datetime.combine(day, clock)
