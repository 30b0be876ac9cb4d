"""`produce --shift-to-now`: the sample's newest event becomes now, the gaps between stay."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.intake.retime import shift_to

NOW = datetime(2030, 5, 6, 7, 8, 9, 500_000, tzinfo=UTC)


def test_the_newest_event_becomes_now_and_gaps_are_kept() -> None:
    records = [
        {"eventTime": "2026-11-01T08:00:00Z", "eventName": "AssumeRole"},
        {
            "eventTime": "2026-11-01T09:15:00Z",
            "userIdentity": {
                "type": "AssumedRole",
                "sessionContext": {"attributes": {"creationDate": "2026-11-01T09:00:00Z"}},
            },
        },
        {"eventTime": "not a time"},
    ]
    moved = shift_to(records, NOW)
    assert moved[1]["eventTime"] == "2030-05-06T07:08:09Z"
    assert moved[0]["eventTime"] == "2030-05-06T05:53:09Z"  # 1 h 15 min earlier, as before
    attributes = moved[1]["userIdentity"]["sessionContext"]["attributes"]
    assert attributes["creationDate"] == "2030-05-06T06:53:09Z"
    assert moved[2] == {"eventTime": "not a time"}
    # the input is not modified
    assert records[1]["userIdentity"]["sessionContext"]["attributes"]["creationDate"].startswith(
        "2026"
    )


def test_records_without_times_are_returned_unchanged() -> None:
    assert shift_to([{"eventName": "x"}], NOW) == [{"eventName": "x"}]
