"""What both dashboards share around their panels: variables, annotations, links, the layout."""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders import dashboard as build
from grafana_foundation_sdk.cog import builder as cog
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from dashboards.panels import Placed
from dashboards.promql import SEL
from dashboards.style import DS

TAGS = ["role-usage-monitor", "security", "aws"]

#: A row of the dashboard: its title and its panels, left to right (24 columns a line).
Row = tuple[str, list[Placed]]


def query_variable(name: str, label: str, query: str) -> build.QueryVariable:
    """A multi-value variable listing a label's values, "All" by default."""
    return (
        build.QueryVariable(name)
        .label(label)
        .datasource(DS)
        .query({"query": query, "refId": f"{name}-variable"})
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .multi(True)
        .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .hide(model.VariableHide.DONT_HIDE)
        .options([])
        .regex("")
    )


def base_variables() -> list[cog.Builder[model.VariableModel]]:
    """The data source, then the monitor's ``job`` and ``instance``."""
    return [
        build.DatasourceVariable("DS_PROMETHEUS")
        .label("Data source")
        .type("prometheus")
        .hide(model.VariableHide.DONT_HIDE)
        .regex(""),
        query_variable("job", "Job", "label_values(role_monitor_ready, job)"),
        query_variable(
            "instance", "Instance", 'label_values(role_monitor_ready{job=~"$job"}, instance)'
        ),
    ]


class _PrometheusAnnotationModel(model.AnnotationQuery):
    """Prometheus keeps an annotation's options beside its query, where Grafana's dashboard
    schema (and so the SDK's model) has no field for them: written as the data source's own
    annotation editor writes them."""

    def __init__(self, options: dict[str, object]) -> None:
        super().__init__()
        self.options = options

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), **self.options}


class PrometheusAnnotation(build.AnnotationQuery):
    """The SDK's annotation builder, with Prometheus's options (step, title and text)."""

    def __init__(self, **options: object) -> None:
        self._internal = _PrometheusAnnotationModel(options)


def builtin_annotation() -> build.AnnotationQuery:
    """The "Annotations & Alerts" entry Grafana gives every dashboard."""
    return (
        build.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
        .enable(True)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
        .built_in(1)
    )


def break_glass_annotation() -> build.AnnotationQuery:
    """A red marker in every time series at each minute a break-glass finding was raised."""
    findings = 'role_monitor_findings_total{detector="break_glass_assumed", ' + SEL + "}"
    return (
        PrometheusAnnotation(
            step="1m",
            titleFormat="Break-glass role assumed",
            textFormat="{{instance}}: a break_glass_assumed finding; the finding names the role",
            tagKeys="instance",
            useValueForTime=False,
        )
        .name("Break-glass role assumed")
        .datasource(DS)
        .enable(True)
        .hide(False)
        .icon_color("red")
        .expr(
            f"sum by (instance) (increase({findings}[2m]) > 0 "
            f"or ({findings} unless {findings} offset 2m))"
        )
    )


def sibling_links() -> build.DashboardLink:
    """The header's dropdown of every role-usage dashboard, keeping time and variables."""
    return (
        build.DashboardLink("Role usage")
        .type(model.DashboardLinkType.DASHBOARDS)
        .tags(["role-usage-monitor"])
        .as_dropdown(False)
        .include_vars(True)
        .keep_time(True)
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    rows: list[Row],
    variables: list[cog.Builder[model.VariableModel]],
) -> build.Dashboard:
    builder = (
        build.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("")
        .week_start("")
        .fiscal_year_start_month(0)
        .version(1)
        .link(sibling_links())
        .annotations([builtin_annotation(), break_glass_annotation()])
        .variables(variables)
    )
    for row_title, panels in rows:
        builder.with_row(build.Row(row_title))
        for panel in panels:
            builder.with_panel(panel)  # type: ignore[arg-type]  # any panel builder
    return builder


def as_json(builder: build.Dashboard) -> str:
    """The dashboard's JSON text, panels numbered from 1 in their order."""
    built = builder.build()
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    return json.dumps(built, cls=JSONEncoder, indent=2) + "\n"
