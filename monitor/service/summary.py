"""The closing summary replay prints on stderr (progress: :mod:`monitor.service.progress`)."""

from __future__ import annotations

from monitor.detect.pipeline import Stats


def summary_lines(stats: Stats, elapsed: float, findings_label: str = "findings") -> list[str]:
    """``findings_label`` names what happened to the findings (``learn`` delivers none)."""
    rate = stats.records / elapsed if elapsed > 0 else 0.0
    lines = [
        f"records read: {stats.records} in {stats.messages} messages "
        f"({rate:,.0f} records/s, {elapsed:.2f} s)",
        f"in-scope events processed: {stats.processed}{_breakdown(stats.kinds)}",
        f"skipped as out of scope: {stats.skipped}",
        f"duplicate copies (cross-account pairs, repeats): {stats.duplicates}",
        f"rejected: {sum(stats.rejected.values())}{_breakdown(stats.rejected)}",
        f"{findings_label}: {sum(stats.findings.values())}{_breakdown(stats.findings)}",
    ]
    if stats.suppressed:
        lines.append(f"suppressed: {sum(stats.suppressed.values())}{_breakdown(stats.suppressed)}")
    if stats.detector_errors:
        lines.append(f"detector errors: {_breakdown(stats.detector_errors).strip()}")
    return lines


def _breakdown(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    parts = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
    return f" ({parts})"
