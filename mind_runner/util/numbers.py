"""Figures as text, one way for every command (report tables, regressions, steps)."""

from __future__ import annotations


def format_time(seconds: float) -> str:
    """The seed's format_time, from asv's seconds: µs below 1 ms, ms below 1 s, else s."""
    us = seconds * 1_000_000
    if abs(us) < 1000:
        return f"{us:.1f} µs"
    if abs(us) < 1_000_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1_000_000:.2f} s"


def format_quantity(value: float, unit: str) -> str:
    """A value in asv's unit ('seconds', 'bytes', '%', or a count such as 'instructions'),
    without the name of a count's unit (tables name it in their header)."""
    if unit == "seconds":
        return format_time(value)
    if unit == "bytes":
        for size, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(value) >= size:
                return f"{value / size:.2f} {name}"
        return f"{value:.0f} B"
    if unit == "%":
        return f"{value:.2f} %"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.6g}"


def format_with_unit(value: float, unit: str) -> str:
    """As format_quantity, naming a count's unit: '215,875 instructions'."""
    text = format_quantity(value, unit)
    return text if unit in ("seconds", "bytes", "%", "") else f"{text} {unit}"
