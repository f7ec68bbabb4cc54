"""Aggregates PostgreSQL computes for the figures of every app (alarms, work orders, quality):
one definition of a percentile and of an interval in seconds."""

from typing import Any

from django.db.models import Aggregate, Expression, FloatField, Func


class Seconds(Func):
    """An interval in seconds (NULL stays NULL)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


class Percentile(Aggregate):
    """PostgreSQL's continuous percentile (interpolated), NULLs left out."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Expression, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile's fraction is in [0, 1]")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)
