"""The panel families of both dashboards, one builder function each.

Each returns an SDK panel builder with its title, description, queries and look; the caller sets
its size (``.span(w).height(h)``) and may add more (overrides, links, mappings) with builder calls.
"""

from __future__ import annotations

from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import (
    bargauge,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_build
from grafana_foundation_sdk.builders import dashboard as build
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.style import DS, SEVERITY_COLORS, fixed_color, green, table_target, thresholds

Query = prometheus.Dataquery
Severities = TypeVar("Severities", stat.Panel, timeseries.Panel, bargauge.Panel)


class Placed(Protocol):
    """Any panel builder: sized by the caller, laid out by the dashboard."""

    def span(self, w: int) -> Self: ...
    def height(self, h: int) -> Self: ...
    def build(self) -> model.Panel: ...


def sized(w: int, h: int, *panels: Placed) -> list[Placed]:
    """The panels, each ``w`` columns wide and ``h`` rows high."""
    return [panel.span(w).height(h) for panel in panels]


def last_value() -> common_build.ReduceDataOptions:
    """The panel shows each series' last non-null value."""
    return common_build.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def stat_panel(title: str, description: str, *queries: Query, unit: str = "short") -> stat.Panel:
    """A big number coloured by its thresholds (green unless the caller sets steps)."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(list(queries))
        .unit(unit)
        .no_value("0")
        .color_scheme(build.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .thresholds(green())
        .mappings([])
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
        .text_mode(common.BigValueTextMode.AUTO)
        .reduce_options(last_value())
        .show_percent_change(False)
        .wide_layout(True)
    )


def up_stat(
    title: str, description: str, query: Query, mappings: list[model.ValueMapping]
) -> stat.Panel:
    """Red 0 / green 1, shown as words."""
    return (
        stat_panel(title, description, query)
        .mappings(mappings)
        .thresholds(thresholds((None, "red"), (1, "green")))
    )


def count_stat(title: str, description: str, query: Query, color: str) -> stat.Panel:
    """A whole count that should stay at zero: green at 0, ``color`` from 1."""
    return (
        stat_panel(title, description, query)
        .thresholds(thresholds((None, "green"), (1, color)))
        .decimals(0)
    )


def series_panel(
    title: str, description: str, *queries: Query, unit: str = "short", per: str = ""
) -> timeseries.Panel:
    """Lines from zero, legend as a table on the right; ``per`` labels the axis."""
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(list(queries))
        .unit(unit)
        .min(0)
        .color_scheme(build.FieldColor().mode(model.FieldColorModeId.PALETTE_CLASSIC))
        .thresholds(green())
        .axis_label(per)
        .draw_style(common.GraphDrawStyle.LINE)
        .fill_opacity(10)
        .line_width(1)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .stacking(common_build.StackingConfig().group("A").mode(common.StackingMode.NONE))
        .legend(
            common_build.VizLegendOptions()
            .calcs(["max", "lastNotNull"])
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
        )
        .tooltip(
            common_build.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )


def stacked(panel: timeseries.Panel) -> timeseries.Panel:
    """Series stacked on each other (parts of one whole)."""
    return panel.fill_opacity(30).stacking(
        common_build.StackingConfig().group("A").mode(common.StackingMode.NORMAL)
    )


def stacked_bars(panel: timeseries.Panel) -> timeseries.Panel:
    """Stacked bars: counts of discrete things per interval."""
    return stacked(panel).draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)


def table_panel(
    title: str, description: str, exprs: list[str], renames: dict[str, str]
) -> table.Panel:
    """Instant queries (refs A, B, ...) merged on their labels into one table."""
    organize = {"excludeByName": {"Time": True}, "renameByName": renames}
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets([table_target(expr, chr(ord("A") + i)) for i, expr in enumerate(exprs)])
        .unit("short")
        .thresholds(green())
        .align(common.FieldTextAlignment.AUTO)
        .show_header(True)
        .cell_height(common.TableCellHeight.SM)
        .footer(common_build.TableFooterOptions().show(False))
        .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options=organize))
    )


def timeline_panel(
    title: str, description: str, query: Query, mappings: list[model.ValueMapping]
) -> statetimeline.Panel:
    """A band per series, red while 0, green while 1."""
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets([query])
        .color_scheme(build.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .mappings(mappings)
        .thresholds(thresholds((None, "red"), (1, "green")))
        .show_value(common.VisibilityMode.AUTO)
        .merge_values(True)
        .row_height(0.8)
    )


def bar_gauge_panel(title: str, description: str, query: Query) -> bargauge.Panel:
    """Horizontal bars, one per series, coloured like the series."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets([query])
        .unit("short")
        .no_value("0")
        .color_scheme(build.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
        .thresholds(green())
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(last_value())
        .show_unfilled(True)
        .value_mode(common.BarGaugeValueMode.COLOR)
    )


def by_severity(panel: Severities) -> Severities:
    """Paints each severity's series in the findings' colours."""
    for severity, color in SEVERITY_COLORS.items():
        panel.override_by_name(severity, fixed_color(color))
    return panel
