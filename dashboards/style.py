"""Queries, thresholds, value mappings, overrides and links, as the SDK's typed models."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as build
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

#: The panels' data source: the ``DS_PROMETHEUS`` variable (provisioned uid ``prometheus``).
DS = model.DataSourceRef(type_val="prometheus", uid="${DS_PROMETHEUS}")
DETECTORS_UID = "role-usage-detectors"
OVERVIEW_UID = "role-usage-overview"

SEVERITY_COLORS = {
    "critical": "dark-red",
    "high": "red",
    "medium": "orange",
    "low": "yellow",
    "info": "blue",
}


def target(
    expr: str, legend: str = "", ref: str = "A", *, instant: bool = False
) -> prometheus.Dataquery:
    """A Prometheus query; ``instant`` evaluates it once, at the end of the time range."""
    query = (
        prometheus.Dataquery()
        .datasource(DS)
        .expr(expr)
        .legend_format(legend or "__auto")
        .ref_id(ref)
        .format(PromQueryFormat.TIME_SERIES)
    )
    return query.instant() if instant else query.range()


def table_target(expr: str, ref: str = "A") -> prometheus.Dataquery:
    """An instant query in table format: one row per label set."""
    return target(expr, ref=ref, instant=True).format(PromQueryFormat.TABLE)


def thresholds(*steps: tuple[float | None, str]) -> build.ThresholdsConfig:
    """Colour steps from a base (``None``) upwards, in absolute values."""
    return (
        build.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def green() -> build.ThresholdsConfig:
    return thresholds((None, "green"))


def up_down(ok: str, bad: str) -> list[model.ValueMapping]:
    """1 shown as ``ok`` in green, 0 as ``bad`` in red."""
    return [
        model.ValueMap(
            options={
                "0": model.ValueMappingResult(color="red", index=0, text=bad),
                "1": model.ValueMappingResult(color="green", index=1, text=ok),
            }
        )
    ]


def fixed_color(color: str) -> list[model.DynamicConfigValue]:
    """Override properties painting the matched series one colour."""
    return [model.DynamicConfigValue(id_val="color", value={"fixedColor": color, "mode": "fixed"})]


def from_one(color: str) -> list[model.DynamicConfigValue]:
    """Override properties: green at zero, ``color`` from one up (a stat panel's value)."""
    steps = thresholds((None, "green"), (1, color)).build()
    return [model.DynamicConfigValue(id_val="thresholds", value=steps)]


def drilldown_link(*, per_detector: bool = True) -> build.DashboardLink:
    """A data link to the detectors dashboard, for the clicked series' detector or all."""
    detector = "var-detector=${__field.labels.detector}&" if per_detector else ""
    return build.DashboardLink("Detector drill-down").url(
        f"/d/{DETECTORS_UID}/role-usage-detectors?{detector}"
        "${job:queryparam}&${instance:queryparam}&${__url_time_range}"
    )
