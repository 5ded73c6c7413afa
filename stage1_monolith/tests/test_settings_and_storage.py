"""Settings fail fast; the key file and the schema are handled safely."""
from __future__ import annotations

import os

import pytest

from stage1_monolith.adapters.database import current_revision, make_engine, migrate
from stage1_monolith.keys import load_or_create_signing_key
from stage1_monolith.migrations import HEAD_REVISION
from stage1_monolith.settings import Settings, SettingsError


def test_settings_read_homesense_variables(tmp_path):
    env = {"HOMESENSE_DATA_DIR": str(tmp_path), "HOMESENSE_RATE_LIMIT_RPS": "2.5", "HOMESENSE_RATE_LIMIT_BURST": "3",
           "HOMESENSE_CORS_ORIGINS": "https://a.example, https://b.example", "HOMESENSE_PORT": "9001"}
    settings = Settings.from_env(env)
    assert (settings.rate_limit_rps, settings.rate_limit_burst, settings.port) == (2.5, 3, 9001)
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_command_line_values_override_the_environment(tmp_path):
    settings = Settings.from_env({"HOMESENSE_PORT": "9001"}, port=9002, data_dir=tmp_path)
    assert (settings.port, settings.data_dir) == (9002, tmp_path)


@pytest.mark.parametrize("name,value", [
    ("HOMESENSE_RATE_LIMIT_RPS", "0"), ("HOMESENSE_RATE_LIMIT_RPS", "nan"), ("HOMESENSE_RATE_LIMIT_RPS", "fast"),
    ("HOMESENSE_RATE_LIMIT_BURST", "0"), ("HOMESENSE_PORT", "70000"), ("HOMESENSE_CORS_ORIGINS", "not-an-origin"),
    ("HOMESENSE_OUTBOX_POLL_SECONDS", "0"),
])
def test_unsafe_settings_fail_fast(name, value):
    with pytest.raises(SettingsError):
        Settings.from_env({name: value})


def test_signing_key_is_created_once_with_mode_600(tmp_path):
    path = tmp_path / "key.pem"
    first = load_or_create_signing_key(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create_signing_key(path).kid == first.kid


def test_readable_key_file_is_refused(tmp_path):
    path = tmp_path / "key.pem"
    load_or_create_signing_key(path)
    path.chmod(0o644)
    with pytest.raises(SettingsError):
        load_or_create_signing_key(path)


def test_head_revision_constant_matches_the_migration_scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from stage1_monolith.adapters.database import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_run_once_and_database_is_in_wal_mode(tmp_path):
    engine = make_engine(tmp_path / "db.sqlite3")
    assert current_revision(engine) is None
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
