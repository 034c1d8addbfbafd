"""Settings: defaults < batch-sms.toml < environment < options, and secrets kept out of sight."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from batch_sms.config import Settings, from_public, load_settings, override
from batch_sms.errors import ConfigError, UsageError

TOML = """
tps = 20
sender = "ACME"
default-region = "CN"
hourly_cap = 3

[credentials]
access_key = "file-key"
access_secret = "file-secret"

[prices]
currency = "USD"
default = 0.05
"86" = 0.03
"+60" = 0.02
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "batch-sms.toml"
    path.write_text(TOML, encoding="utf-8")
    return path


def test_defaults_without_any_source(tmp_path: Path, user_data_dir: Path) -> None:
    settings = load_settings({}, environ={}, cwd=tmp_path)
    assert settings.tps == 10.0
    assert settings.hourly_cap == 5
    assert settings.state_path == user_data_dir / "batch-sms.sqlite3"
    assert settings.credentials.missing() == [
        "NXCLOUD_ACCESS_KEY",
        "NXCLOUD_ACCESS_SECRET",
        "NXCLOUD_APP_KEY",
    ]


def test_layers_override_in_order(config_file: Path) -> None:
    env = {"BATCH_SMS_TPS": "30", "NXCLOUD_ACCESS_SECRET": "env-secret", "NXCLOUD_APP_KEY": "app"}
    settings = load_settings({"hourly_cap": 2, "sender": None}, config=config_file, environ=env)
    assert settings.tps == 30.0  # environment beats the file
    assert settings.hourly_cap == 2  # an option beats both
    assert settings.sender == "ACME"  # an option not given (None) leaves the file's value
    assert settings.default_region == "CN"
    assert settings.credentials.access_key == "file-key"
    assert settings.credentials.access_secret == "env-secret"
    assert settings.credentials.missing() == []
    assert settings.prices.by_country == {"86": 0.03, "60": 0.02}
    assert settings.prices.default == 0.05
    assert settings.prices.currency == "USD"


def test_config_file_found_in_working_directory(config_file: Path) -> None:
    settings = load_settings({}, environ={}, cwd=config_file.parent)
    assert settings.sender == "ACME"


def test_secrets_never_in_repr_or_public_settings(config_file: Path) -> None:
    settings = load_settings({}, config=config_file, environ={"NXCLOUD_APP_KEY": "app-from-env"})
    text = repr(settings) + repr(settings.public())
    for secret in ("file-key", "file-secret", "app-from-env"):
        assert secret not in text
    assert "credentials" not in settings.public()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tps": "-1"}, "tps must be positive"),
        ({"hourly_cap": 0}, "hourly-cap must be at least 1"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
        ({"tps": "fast"}, "--tps: 'fast' is not a valid value for tps"),
        ({"template": "x", "template_file": "t.txt"}, "not both"),
        ({"canary": 0}, "canary must be at least 1"),
        ({"canary_wait": -1}, "canary-wait must not be negative"),
        ({"canary_min_delivered": 1.5}, "canary-min-delivered must lie between 0 and 1"),
        ({"max_cost": "0"}, "max-cost must be a positive amount"),
        ({"max_cost": "-5"}, "max-cost must be a positive amount"),
        ({"max_cost": "inf"}, "max-cost must be a positive amount"),
        ({"event_loop": "tokio"}, "event-loop 'tokio' is not one of asyncio, uvloop"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(options, environ={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tps = ", "not valid TOML"),
        ("speed = 3", "unknown setting 'speed'"),
        ("[prices]\nchina = 1", "use a country calling code"),
        ("[credentials]\npassword = 'x'", "unknown credentials key"),
    ],
)
def test_bad_config_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_settings({}, config=path, environ={})
    assert str(path) in info.value.message


def test_max_cost_comes_from_the_file_and_goes_with_the_run(tmp_path: Path) -> None:
    path = tmp_path / "batch-sms.toml"
    path.write_text("max_cost = 12.5\n", encoding="utf-8")
    settings = load_settings({}, config=path, environ={})
    assert settings.max_cost == 12.5
    assert from_public(settings.public(), Settings()).max_cost == 12.5  # resume/retry keep it
    env = load_settings({}, config=path, environ={"BATCH_SMS_MAX_COST": "3"})
    assert env.max_cost == 3.0


def test_unlimited_tps_and_round_trip_through_public(tmp_path: Path) -> None:
    settings = load_settings({"tps": "unlimited", "sender": "X1"}, environ={}, cwd=tmp_path)
    assert settings.tps is None
    again = from_public(settings.public(), Settings())
    assert again.tps is None
    assert again.sender == "X1"
    assert override(again, tps=5.0, sender=None).tps == 5.0


def test_secrets_cannot_come_from_options(tmp_path: Path) -> None:
    """A flag lands in shell history: credentials come from the environment or the file only."""
    with pytest.raises(ValueError, match="unknown option app_key"):
        load_settings({"app_key": "x"}, environ={}, cwd=tmp_path)


def test_state_db_is_one_per_user_whatever_the_out_folder(
    tmp_path: Path, user_data_dir: Path
) -> None:
    one = load_settings({"out": tmp_path / "rep"}, environ={}, cwd=tmp_path)
    two = load_settings({"out": tmp_path / "rep2"}, environ={}, cwd=tmp_path)
    assert one.state_path == two.state_path == user_data_dir / "batch-sms.sqlite3"
    assert one.legacy_state_path == tmp_path / "rep" / "batch-sms.sqlite3"
    trial = load_settings({"sandbox": True}, environ={}, cwd=tmp_path)
    assert trial.state_path == user_data_dir / "sandbox.sqlite3"  # the simulator's own
    env = {"BATCH_SMS_STATE": str(tmp_path / "mine.sqlite3")}
    chosen = load_settings({"sandbox": True}, environ=env, cwd=tmp_path)
    assert chosen.state_path == tmp_path / "mine.sqlite3"
    assert chosen.legacy_state_path is None  # an explicit db is never replaced by an old one
    given = load_settings({"state": tmp_path / "opt.sqlite3"}, environ=env, cwd=tmp_path)
    assert given.state_path == tmp_path / "opt.sqlite3"


def test_unknown_encoding_name_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--encoding: 'klingon' is not a text encoding"):
        load_settings({"encoding": "klingon"}, cwd=tmp_path, environ={})
    with pytest.raises(UsageError, match=r"BATCH_SMS_ENCODING: 'rot13' is not a text encoding"):
        load_settings({}, cwd=tmp_path, environ={"BATCH_SMS_ENCODING": "rot13"})
    assert load_settings({}, cwd=tmp_path, environ={"BATCH_SMS_ENCODING": "CP1252"}).encoding == (
        "cp1252"
    )


def test_content_rule_settings_from_each_source_and_back_from_a_run(tmp_path: Path) -> None:
    config = tmp_path / "batch-sms.toml"
    config.write_text('must_contain = ["Reply STOP", "回T退订"]\ngsm_safe = "yes"\n', "utf-8")
    from_file = load_settings({}, config=config, environ={})
    assert (from_file.must_contain, from_file.gsm_safe) == (("Reply STOP", "回T退订"), True)
    env = {"BATCH_SMS_MUST_CONTAIN": "STOP", "BATCH_SMS_FORBIDDEN_WORDS": "w.txt"}
    from_env = load_settings({}, environ=env, cwd=tmp_path / "none")
    assert (from_env.must_contain, from_env.forbidden_words) == (("STOP",), Path("w.txt"))
    given = load_settings({"must_contain": ("A", "B")}, config=config, environ=env)
    assert given.must_contain == ("A", "B")  # options win over the file and the environment
    recorded = json.loads(json.dumps(from_file.public()))  # as the state db keeps a run's
    assert from_public(recorded, Settings()).must_contain == ("Reply STOP", "回T退订")


def test_the_canary_comes_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "batch-sms.toml"
    path.write_text("canary = 5\ncanary_wait = 60\n", encoding="utf-8")
    env = {"BATCH_SMS_CANARY_MIN_DELIVERED": "0.9"}
    settings = load_settings({}, config=path, environ=env)
    assert (settings.canary, settings.canary_wait, settings.canary_min_delivered) == (5, 60, 0.9)
    assert from_public(settings.public(), Settings()).canary == 5  # kept with the run
    assert Settings().canary is None  # no canary unless asked for


def test_link_options_from_file_environment_and_options(tmp_path: Path) -> None:
    path = tmp_path / "batch-sms.toml"
    path.write_text('short_link = "https://nx.ink/a"\nlink_verbose = false\n', encoding="utf-8")
    settings = load_settings({}, config=path, environ={})
    assert (settings.short_link, settings.link_verbose, settings.link_verbose_field) == (
        "https://nx.ink/a",
        False,
        "0",
    )
    assert load_settings({}, environ={"BATCH_SMS_LINK_VERBOSE": "yes"}).link_verbose_field == "1"
    assert load_settings({}, environ={}).link_verbose_field == ""  # the provider's default
    assert from_public(settings.public(), Settings()).short_link == "https://nx.ink/a"


@pytest.mark.parametrize("link", ["nx.ink/a", "ftp://nx.ink/a", "https://", "https://nx.ink/a b"])
def test_a_short_link_must_be_an_http_url(link: str) -> None:
    with pytest.raises(ConfigError, match="is not an http\\(s\\) URL") as caught:
        load_settings({"short_link": link}, environ={})
    assert "#1#" in (caught.value.hint or "")


def test_uvloop_without_its_extra_is_refused_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else found(name, *a)
    )
    with pytest.raises(ConfigError, match="uvloop is not installed") as info:
        load_settings({"event_loop": "uvloop"}, environ={}, cwd=tmp_path)
    assert "pip install 'batch-sms[uvloop]'" in (info.value.hint or "")
    chosen = load_settings({}, environ={"BATCH_SMS_EVENT_LOOP": "asyncio"}, cwd=tmp_path)
    assert chosen.event_loop == "asyncio"
    assert "event_loop" not in chosen.public()  # this process's choice, not the run's
