"""Configuration and usage mistakes: one line on stderr, exit 2, naming the source and the key.

The table walks the mistakes a new user makes; each must say where (``file:line`` or the
environment variable) and what (the dotted key), with no traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import REPO

from monitor.cli import main

# (name, YAML text, environment, expected pieces of the one error line)
BAD_CONFIGS: list[tuple[str, str, dict[str, str], list[str]]] = [
    ("misspelt section", "kafak:\n  topics: [a]\n", {}, ["c.yaml:1:", "kafak", "kafka?"]),
    (
        "unknown key",
        "kafka:\n  bootstrap_server: x:1\n",
        {},
        ["c.yaml:2:", "kafka.bootstrap_server", "unknown key", "bootstrap_servers?"],
    ),
    ("port out of range", "metrics:\n  port: 99999\n", {}, ["c.yaml:2:", "metrics.port"]),
    ("negative port", "metrics: {port: -1}\n", {}, ["c.yaml:1:", "metrics.port"]),
    (
        "short account id",
        "trusted_external_accounts:\n  - '99998877'\n",
        {},
        ["c.yaml:2:", "trusted_external_accounts.0", "12 digits"],
    ),
    (
        "account id YAML read as octal",
        "organization:\n  accounts: [011111111111]\n",
        {},
        ["c.yaml:2:", "organization.accounts.0", "quote"],
    ),
    ("bad log level", "log: {level: loud}\n", {}, ["c.yaml:1:", "log.level"]),
    ("bad duration", "dedup:\n  window: 5 parsecs\n", {}, ["c.yaml:2:", "dedup.window"]),
    ("invalid YAML", "kafka:\n  topics: [a\n", {}, ["c.yaml:", "invalid YAML"]),
    ("top level not a mapping", "- a\n- b\n", {}, ["c.yaml:1:", "mapping"]),
    (
        "missing ssl_cafile",
        "kafka:\n  security_protocol: SSL\n  ssl_cafile: certs/ca.pem\n",
        {},
        ["c.yaml:3:", "kafka.ssl_cafile", "certs/ca.pem"],
    ),
    (
        "detector knob typo",
        "detectors:\n  assume_role_denied_burst:\n    treshold: 3\n",
        {},
        ["c.yaml:3:", "detectors.assume_role_denied_burst.treshold", "unknown key"],
    ),
    (
        "unknown detector",
        "detectors:\n  brak_glass: {enabled: false}\n",
        {},
        ["c.yaml:1:", "detectors", "brak_glass"],
    ),
    (
        "maintenance window ending before it starts",
        "maintenance_windows:\n  - {start: 2026-06-24T18:00:00Z, end: 2026-06-24T08:00:00Z,"
        " reason: DR}\n",
        {},
        ["c.yaml:2:", "maintenance_windows.0", "end 2026-06-24T08:00:00Z is not after start"],
    ),
    (
        "maintenance window with a bad account id",
        "maintenance_windows:\n  - start: 2026-06-24T08:00:00Z\n    end: 2026-06-24T18:00:00Z\n"
        "    accounts: ['2222']\n    reason: DR\n",
        {},
        ["c.yaml:4:", "maintenance_windows.0.accounts.0", "12 digits"],
    ),
    (
        "maintenance window left open for a year",
        "maintenance_windows:\n  - {start: 2026-06-24, end: 2027-06-24, reason: DR}\n",
        {},
        ["c.yaml:2:", "maintenance_windows.0", "at most 7 days"],
    ),
    (
        "maintenance window without a reason",
        "maintenance_windows:\n  - {start: 2026-06-24T08:00:00Z, end: 2026-06-24T18:00:00Z}\n",
        {},
        ["c.yaml:2:", "maintenance_windows.0.reason"],
    ),
    (
        "maintenance window naming no detector",
        "maintenance_windows:\n  - start: 2026-06-24T08:00:00Z\n    end: 2026-06-24T18:00:00Z\n"
        "    detectors: [role_rate_anomoly]\n    reason: DR\n",
        {},
        ["c.yaml:4:", "maintenance_windows.0.detectors", "role_rate_anomoly"],
    ),
    (
        "env: bad port",
        "",
        {"ROLE_MONITOR_METRICS__PORT": "http"},
        ["environment variable ROLE_MONITOR_METRICS__PORT", "metrics.port"],
    ),
    (
        "env beats the file in the blame too",
        "organization:\n  accounts: ['111122223333']\n",
        {"ROLE_MONITOR_ORGANIZATION__ACCOUNTS": "111122223333,1234"},
        ["environment variable ROLE_MONITOR_ORGANIZATION__ACCOUNTS", "organization.accounts"],
    ),
    (
        "env: structured value not JSON",
        "",
        {"ROLE_MONITOR_DETECTORS": "{root_session: off}"},
        ["environment variable ROLE_MONITOR_DETECTORS", "JSON"],
    ),
]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [case[1:] for case in BAD_CONFIGS],
    ids=[case[0] for case in BAD_CONFIGS],
)
def test_a_bad_config_is_one_line_naming_source_and_key(
    text: str,
    env: dict[str, str],
    expected: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text(text, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for command in (["replay", "--config", "c.yaml", os.devnull], ["config", "check"]):
        if command[0] == "config":
            command += ["--config", "c.yaml"]
        assert main(command) == 2, command
        err = capsys.readouterr().err
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("role-monitor: error: "), err
        for piece in expected:
            assert piece in lines[0], (piece, lines[0])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["replay", "/nonexistent/input.json"], "no such file or folder"),
        (["replay", "--config", "/nonexistent/c.yaml", os.devnull], "cannot read config"),
        (["replay", "--state", "/nonexistent/x.db", os.devnull], "--state /nonexistent/x.db"),
        (["replay", "--dead-letter", "/nonexistent/d.jsonl", os.devnull], "dead letters"),
    ],
)
def test_usage_mistakes_are_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    assert not Path("/nonexistent").exists()


def test_replay_of_dev_null_is_empty_input_not_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", os.devnull]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "findings: 0" in captured.err


def test_log_level_is_case_insensitive(tmp_path: Path) -> None:
    from monitor.config.settings import load_settings

    path = tmp_path / "c.yaml"
    path.write_text("log: {level: info}\n")
    assert load_settings(path).log.level == "INFO"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("ROLE_MONITOR_KAFKA_BOOTSTRAP_SERVERS", "ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS"),
        ("ROLE_MONITOR_KAFAK__TOPICS", "ROLE_MONITOR_KAFKA__TOPICS"),
        ("ROLE_MONITOR_METRICS__PROT", "ROLE_MONITOR_METRICS__PORT"),
    ],
)
def test_unknown_environment_variables_are_reported_with_a_hint(
    name: str, hint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(name, "x")
    assert main(["config", "check"]) == 1
    err = capsys.readouterr().err
    assert f"warning: {name}: unknown setting (did you mean {hint}?" in err
    # replay still runs, and says so too
    assert main(["replay", os.devnull]) == 0
    assert f"{name}: unknown setting" in capsys.readouterr().err


def test_config_check_prints_values_sources_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "kafka:\n  topics: [trail]\nstate: {path: s.db}\nalerts:\n  runbook_base_url: https://rb\n"
        "  webhook: {url: 'https://hooks.example/T000/SECRET1', format: slack}\n"
    )
    monkeypatch.setenv("ROLE_MONITOR_KAFKA__GROUP_ID", "from-env")
    monkeypatch.setenv("ROLE_MONITOR_ALERTS__ALERTMANAGER__URL", "http://user:SECRET2@am:9093")
    assert main(["config", "check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" = ")[0]: line for line in out.splitlines()}
    assert rows["kafka.topics"].endswith(f"# {path}:2")
    assert rows["alerts.runbook_base_url"].endswith(f"# {path}:5")
    assert rows["kafka.group_id"].endswith("# environment variable ROLE_MONITOR_KAFKA__GROUP_ID")
    assert rows["kafka.client_id"].endswith("# default")
    assert "SECRET1" not in out and "SECRET2" not in out
    assert rows["alerts.webhook.0.url"].startswith('alerts.webhook.0.url = "**********"')


def test_config_check_warns_about_what_run_would_do_silently(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo config: fine for replay, but `run` would keep no state and serve no metrics."""
    assert main(["config", "check", "--config", str(REPO / "examples" / "config.yaml")]) == 1
    err = capsys.readouterr().err
    assert "state.path is :memory:" in err
    assert "metrics.port is null" in err


def test_config_check_cross_checks_organization_and_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = REPO / "examples"
    path = tmp_path / "c.yaml"
    path.write_text(
        f"organization: {{accounts_file: {examples}/org/accounts.json}}\n"
        f"inventory: {{authorization_details: [{examples}/org/prod-authorization-details.json]}}\n"
        "trusted_external_accounts: ['111111111111']\n"
        "break_glass: {role_name_patterns: ['BreakGlass*', 'Emergency*']}\n"
        "state: {path: s.db}\n"
    )
    member = next(iter(_member_accounts(examples)))
    text = path.read_text().replace("111111111111", member)
    path.write_text(text)
    assert main(["config", "check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"trusted_external_accounts: {member} is also a member" in err
    assert "'Emergency*' matches no role" in err
    assert "'BreakGlass*'" not in err


def _member_accounts(examples: Path) -> list[str]:
    import json

    data = json.loads((examples / "org" / "accounts.json").read_text())
    return [account["Id"] for account in data["Accounts"]]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"role-monitor {__version__}"


def test_every_subcommand_has_a_description_and_an_epilog() -> None:
    from monitor.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert subparsers.choices
    for name, sub in subparsers.choices.items():  # type: ignore[union-attr]
        text = sub.format_help()
        assert sub.description, name
        for section in ("environment:", "ROLE_MONITOR_", "exit status:", "signals:"):
            assert section in text, (name, section)


def test_config_check_says_token_replay_is_silent_without_networks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A note, not a warning: the default is legal, but the operator should know it is blind."""
    path = tmp_path / "c.yaml"
    path.write_text("state: {path: s.db}\n")
    assert main(["config", "check", "--config", str(path)]) == 0
    assert "note: token_replayed_off_network is silent" in capsys.readouterr().err
    path.write_text(
        "state: {path: s.db}\n"
        "networks:\n  'oidc.eks.*': {cidrs: ['10.0.0.0/8'], vpc_endpoints: [vpce-0abc]}\n"
    )
    assert main(["config", "check", "--config", str(path)]) == 0
    err = capsys.readouterr().err
    assert "token_replayed_off_network" not in err and "configuration OK" in err


def test_networks_with_a_bad_cidr_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("networks:\n  'oidc.eks.*': {cidrs: ['10.0.0.0/33']}\n")
    assert main(["config", "check", "--config", str(path)]) == 2
    assert "networks" in capsys.readouterr().err
