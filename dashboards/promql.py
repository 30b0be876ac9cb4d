"""PromQL pieces the panels share: selectors and the ways of counting a counter."""

from __future__ import annotations

#: Every monitor query is scoped by the dashboard's ``job`` and ``instance`` variables.
SEL = 'job=~"$job", instance=~"$instance"'
#: The forwarder (``role-monitor forward``) is a process of its own, picked by its job.
FORWARDER_SEL = 'job=~"$forwarder_job"'
RATE = "$__rate_interval"


def counted(metric: str, selector: str, window: str) -> str:
    """Events counted by ``metric`` within ``window``, per series.

    ``increase()`` cannot see the first increment of a series that did not exist at the start of
    the window (a labelled counter appears at 1), so such a series counts with its whole value.
    """
    series = f"{metric}{{{selector}}}"
    return f"({series} unless {series} offset {window}) or increase({series}[{window}])"


def per_second(metric: str, selector: str = SEL) -> str:
    return f"rate({metric}{{{selector}}}[{RATE}])"


def per_interval(metric: str, selector: str = SEL) -> str:
    """Increments per Grafana interval: for rare events drawn as bars."""
    return f"increase({metric}{{{selector}}}[{RATE}])"


def quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) ({per_second(histogram + '_bucket')}))"
