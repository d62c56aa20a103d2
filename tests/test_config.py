"""config.py: every setting read once, validated, with a clear message on a bad value."""

import logging

import pytest

from ghdw.config import ConfigError, load_settings
from ghdw.logger import setup_logging


def test_defaults_use_the_embedded_database():
    settings = load_settings({})
    assert settings.uses_embedded_db
    assert settings.silver_batch_size == 5000 and settings.etl_mode == "demo"
    assert settings.embedded_pg_dir.name == ".pgdata"


def test_database_settings_from_spec_variables():
    settings = load_settings(
        {"DB_HOST": "db", "DB_NAME": "gh", "DB_USER": "etl", "DB_PASS": "s3cret", "DB_PORT": "6543"}
    )
    assert not settings.uses_embedded_db
    assert (settings.db_host, settings.db_name, settings.db_user, settings.db_port) == ("db", "gh", "etl", 6543)
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DB_PORT": "abc"}, "DB_PORT='abc' is not an integer"),
        ({"DB_PORT": "70000"}, "DB_PORT=70000 is out of range"),
        ({"SILVER_BATCH_SIZE": "0"}, "SILVER_BATCH_SIZE=0 is out of range"),
        ({"ETL_MODE": "hourly"}, "ETL_MODE='hourly' is not one of demo, production"),
        ({"PRODUCTION_TIME": "25:00"}, "PRODUCTION_TIME='25:00' is not a time of day"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with postgresql://"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not one of"),
    ],
)
def test_bad_values_fail_with_a_clear_message(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env)


def test_production_mode_schedule_is_chosen_by_environment():
    settings = load_settings({"ETL_MODE": "production", "PRODUCTION_TIME": "2:00"})
    assert (settings.etl_mode, settings.production_time) == ("production", "02:00")


def test_silver_data_logger_writes_to_file_only_and_secrets_are_redacted(tmp_path, capsys):
    setup_logging(tmp_path, "INFO", secrets=["hunter2"])
    logging.getLogger("ghdw.SILVER_DATA").info("row detail")
    logging.getLogger("ghdw.SILVER_JOB").info("Saved 3 events with password hunter2")
    for handler in logging.getLogger("ghdw.SILVER_JOB").handlers:
        handler.flush()
    console = capsys.readouterr().err
    assert "row detail" not in console and "Saved 3 events" in console
    assert "hunter2" not in console and "***" in console
    assert "row detail" in (tmp_path / "silver.log").read_text()
    assert "hunter2" not in (tmp_path / "pipeline.log").read_text()
