"""Configuration: YAML, environment overrides, relative paths, durations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.settings import ConfigError, load_settings


def test_every_key_is_optional() -> None:
    settings = load_settings(None)
    assert settings.kafka.topics == ["cloudtrail"]
    assert settings.detectors == {}


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("kafka: {bootstrap_servers: 'file:9092', group_id: from-file}\n")
    monkeypatch.setenv("ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS", "a:1,b:2")
    monkeypatch.setenv("ROLE_MONITOR_BREAK_GLASS__ROLE_TAGS", '{"emergency": "yes"}')
    settings = load_settings(path)
    assert settings.kafka.bootstrap_servers == ["a:1", "b:2"]
    assert settings.kafka.group_id == "from-file"
    assert settings.break_glass.role_tags == {"emergency": "yes"}


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "c.yaml"
    path.write_text("organization: {accounts_file: accounts.json}\n")
    settings = load_settings(path)
    assert settings.resolve(settings.organization.accounts_file or "") == (
        tmp_path / "sub" / "accounts.json"
    )


def test_durations_and_account_ids() -> None:
    import yaml

    data = yaml.safe_load("state: {retention: 7d}\ntrusted_external_accounts: [123456789012]\n")
    from pydantic import ValidationError

    from monitor.config.settings import Settings

    settings = Settings(**data)
    assert settings.state.retention == timedelta(days=7)
    assert settings.trusted_external_accounts == ["123456789012"]
    # Not padded: 12345 is no account, and padding would make a member look external.
    with pytest.raises(ValidationError, match="12 digits"):
        Settings(trusted_external_accounts=[12345])


def test_secrets_are_masked_in_dumps(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("alerts: {webhook: {url: 'https://hooks.example/T000/SECRET'}}\n")
    dumped = load_settings(path).model_dump_json()
    assert "SECRET" not in dumped


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(path)
