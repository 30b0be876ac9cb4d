"""``role-monitor tune``: the noisiest groups, and rules that load and silence exactly them.

Each block tune prints goes back through the real config loader and a real replay: the
groups it names must disappear from the findings, and nothing else may.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import cli, ok
from history import write_history

from monitor.config.settings import load_settings
from monitor.detect.suppress import Suppressor
from monitor.findings import Finding


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_history(tmp_path_factory.mktemp("history"), days=9, per_day=500)


@pytest.fixture(scope="module")
def findings(history: list[Path]) -> list[str]:
    config = str(history[0].parent / "config.yaml")
    return ok(cli("replay", "--config", config, *map(str, history))).stdout.splitlines()


def with_rules(history: list[Path], block: str, folder: Path) -> Path:
    """The history's config plus the suppressions tune printed, loaded by the real loader."""
    config = yaml.safe_load((history[0].parent / "config.yaml").read_text())
    config["suppressions"] = yaml.safe_load(block)["suppressions"]
    config["organization"]["accounts_file"] = str(history[0].parent / "org/accounts.json")
    config["inventory"]["authorization_details"] = [
        str(history[0].parent / path) for path in config["inventory"]["authorization_details"]
    ]
    path = folder / "tuned.yaml"
    path.write_text(yaml.safe_dump(config))
    assert len(load_settings(path).suppressions) == len(config["suppressions"])
    return path


def rules_of(block: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load(block)["suppressions"])


def matches(rule: dict[str, Any], finding: dict[str, Any]) -> bool:
    return fnmatchcase(finding["detector"], rule["detector"]) and all(
        fnmatchcase(str(finding.get(field) or ""), glob) for field, glob in rule["match"].items()
    )


def test_block_from_findings_file_silences_exactly_the_noisiest_groups(
    history: list[Path], findings: list[str], tmp_path: Path
) -> None:
    source = tmp_path / "findings.jsonl"
    source.write_text("\n".join(findings) + "\n")
    tuned = ok(cli("tune", "--findings", str(source), "--top", "3"))
    rules = rules_of(tuned.stdout)
    assert len(rules) == 3
    parsed = [json.loads(line) for line in findings]
    counts = [sum(matches(rule, f) for f in parsed) for rule in rules]
    assert counts == sorted(counts, reverse=True) and counts[-1] >= 2
    for rule, count in zip(rules, counts, strict=True):
        assert set(rule["match"]) == {"principal", "role_arn"}
        assert rule["reason"] and rule["expires"]
        assert f"#{count:>8}" in tuned.stdout, "the table gives each group's count"

    config = with_rules(history, tuned.stdout, tmp_path)
    again = ok(cli("replay", "--config", str(config), *map(str, history)))
    left = again.stdout.splitlines()
    assert left == [line for line, f in zip(findings, parsed, strict=True)
                    if not any(matches(rule, f) for rule in rules)]  # fmt: skip
    suppressed = next(line for line in again.stderr.splitlines() if line.startswith("suppressed"))
    assert f"suppressed {sum(counts)}" in suppressed

    retuned = ok(cli("tune", "--config", str(config), "--findings", str(source), "--top", "3"))
    assert f"{sum(counts)} findings already suppressed" in retuned.stderr
    assert not [rule for rule in rules_of(retuned.stdout) if rule["match"] in
                [old["match"] for old in rules]]  # fmt: skip


def test_block_from_learned_state_silences_those_keys(
    history: list[Path], findings: list[str], tmp_path: Path
) -> None:
    """learn, then tune over the state it left: the merge windows name the keys to silence."""
    config, state = str(history[0].parent / "config.yaml"), str(tmp_path / "learned.db")
    ok(cli("learn", "--config", config, "--state", state, *map(str, history)))
    tuned = ok(cli("tune", "--config", config, "--state", state, "--top", "5", "--min-count", "1"))
    assert "only its latest merge window" in tuned.stdout
    rules = rules_of(tuned.stdout)
    assert len(rules) == 5 and all(set(rule["match"]) == {"dedup_key"} for rule in rules)
    parsed = [json.loads(line) for line in findings]
    silenced = [f for f in parsed if any(matches(rule, f) for rule in rules)]
    assert silenced

    tuned_config = with_rules(history, tuned.stdout, tmp_path)
    again = ok(cli("replay", "--config", str(tuned_config), *map(str, history)))
    keys = {json.loads(line)["dedup_key"] for line in again.stdout.splitlines()}
    assert not keys & {f["dedup_key"] for f in silenced}
    assert len(again.stdout.splitlines()) <= len(findings) - len(silenced)


def test_hostile_values_stay_inside_their_rule(findings: list[str], tmp_path: Path) -> None:
    """A principal with glob, YAML and line-breaking characters: the output is still YAML,
    the table stays comments, and the rule matches that principal and no other."""
    hostile = "arn:aws:iam::1:user/*x?[a]\n- detector: \"*\"\u2028# : 'quote'"
    finding = {**json.loads(findings[0]), "principal": hostile}
    source = tmp_path / "findings.jsonl"
    source.write_text((json.dumps(finding) + "\n") * 2 + "not json\n")
    tuned = ok(cli("tune", "--findings", str(source)))
    assert "1 lines were not findings" in tuned.stderr
    head, _, _ = tuned.stdout.partition("suppressions:")
    assert all(line.startswith("#") for line in head.splitlines())
    (rule,) = rules_of(tuned.stdout)
    settings_rule = load_settings(_config(tmp_path, rule)).suppressions
    suppressor = Suppressor(settings_rule)
    assert suppressor.match(Finding.model_validate(finding)) is not None
    for other in (hostile.replace("*x", "yx"), hostile.replace("[a]", "a"), "anyone"):
        assert suppressor.match(Finding.model_validate({**finding, "principal": other})) is None


def _config(folder: Path, rule: dict[str, Any]) -> Path:
    path = folder / "one-rule.yaml"
    path.write_text(yaml.safe_dump({"suppressions": [rule]}))
    return path


def test_groups_by_key_widen_only_a_window_start(tmp_path: Path) -> None:
    """Bursts name their start in the dedup key: the rule covers the key's later bursts."""
    burst = {
        "detector": "assume_role_denied_burst",
        "event_time": "2026-11-03T10:00:00Z",
        "dedup_key": "assume_role_denied_burst:arn:aws:iam::1:role/x@2026-11-03T09:58:00+00:00",
    }
    later = {**burst, "dedup_key": burst["dedup_key"].replace("03T09", "04T11")}
    source = tmp_path / "f.jsonl"
    source.write_text(json.dumps(burst) + "\n" + json.dumps(later) + "\n")
    (rule,) = rules_of(ok(cli("tune", "--findings", str(source), "--by", "key")).stdout)
    assert rule["match"] == {"dedup_key": "assume_role_denied_burst:arn:aws:iam::1:role/x@*"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--state", "missing.db"], "no state file"),
        (["--state", "missing.db", "--by", "principal"], "--by key"),
        (["--findings", "missing.jsonl"], "--findings missing.jsonl"),
        (["--findings", "-", "--by", "colour"], "--by colour"),
        (["--findings", "-", "--expires-in", "soon"], "--expires-in"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], says: str, tmp_path: Path) -> None:
    result = cli("tune", *args, cwd=tmp_path, stdin="")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr
    assert not list(tmp_path.iterdir()), "tune writes nothing"


def test_nothing_to_tune_is_an_empty_block(tmp_path: Path) -> None:
    tuned = ok(cli("tune", "--findings", "-", cwd=tmp_path, stdin=""))
    assert rules_of(tuned.stdout) == [] and "suppressions: []" in tuned.stdout


def test_never_a_rule_on_an_empty_field_and_a_change_set_instead(tmp_path: Path) -> None:
    """Issue 19: ``--by role`` over identity-provider changes (no role) offered
    ``role_arn: ""``, a rule silencing every provider change; now it proposes none, and the
    default groups the fleet-wide rotation as one change set of its principal."""
    hub = "arn:aws:sts::111111111111:assumed-role/TerraformHub/"
    rotations = [
        {
            "detector": "identity_provider_changed",
            "event_time": f"2026-11-03T01:{n:02d}:00Z",
            "event_name": "UpdateOpenIDConnectProviderThumbprint",
            "principal": f"{hub}run-{n}",
            "role_arn": None,
            "dedup_key": f"identity_provider_changed:e{n}",
        }
        for n in range(40)
    ]
    source = tmp_path / "f.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rotations))
    by_role = ok(cli("tune", "--findings", str(source), "--by", "role"))
    assert rules_of(by_role.stdout) == [] and "40 findings left out" in by_role.stderr
    (rule,) = rules_of(ok(cli("tune", "--findings", str(source))).stdout)
    assert rule["match"] == {
        "principal": f"{hub}*",
        "event_name": "UpdateOpenIDConnectProviderThumbprint",
    }
