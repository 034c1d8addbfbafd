"""Settings: defaults < batch-sms.toml < environment < command-line options. Secrets live here only.

The config file (`--config FILE`, else `./batch-sms.toml` when present) holds the same names as
the command-line options, with `_` for `-`, plus two tables:

    tps = 20
    sender = "ACME"
    default_region = "CN"

    [credentials]           # better kept in the environment: NXCLOUD_ACCESS_KEY, …
    access_key = "…"
    access_secret = "…"
    app_key = "…"

    [prices]                # price per billed segment, by country calling code
    currency = "USD"
    default = 0.05
    "86" = 0.03

Every setting can also come from the environment as `BATCH_SMS_<NAME>` (e.g. `BATCH_SMS_TPS`).
"""

from __future__ import annotations

import codecs
import dataclasses
import importlib.util
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from batch_sms.errors import ConfigError, UsageError
from batch_sms.models import DEFAULT_BASE_URL, SECRET_ENV, Credentials

__all__ = [
    "SECRET_ENV", "Prices", "Settings", "load_settings", "user_state_dir",
]  # fmt: skip

CONFIG_NAME = "batch-sms.toml"
VERIFICATION_MOST = 5  # numbers a verification-code application takes per request (code 104)
APP_NAME = "batch-sms"


def check_encoding(name: str, source: str = "--encoding") -> str:
    """Return the codec name for an encoding setting; UsageError when it is no text encoding."""
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UsageError(
            f"{source}: {name!r} is not a text encoding",
            "give a name such as utf-8, utf-16, gb18030, big5, shift_jis, cp1252 or cp1250",
        )
    return info.name


@dataclass(frozen=True)
class Prices:
    """Price per billed segment by country calling code, with a default and a currency label."""

    by_country: Mapping[str, float] = field(default_factory=dict)
    default: float | None = None
    currency: str = ""


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, after all sources are merged."""

    input: Path | None = None
    phone_column: str | None = None
    content_column: str | None = None
    template: str | None = None
    template_file: Path | None = None
    sheet: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    default_region: str | None = None
    sender: str = ""
    suppress: Path | None = None
    allow_duplicates: bool = False
    max_segments: int | None = None
    allow_landlines: bool = False
    trust_numeric_phones: bool = False
    gsm_safe: bool = False  # replace look-alikes so texts fit GSM-7 (checks.gsmsafe)
    must_contain: tuple[str, ...] = ()  # texts every message must hold (checks.content_rules)
    forbidden_words: Path | None = None  # file of words no message may hold
    tps: float | None = 10.0
    hourly_cap: int = 5
    concurrency: int = 20
    group: int = 1  # numbers per request for identical texts (--group N); 1: one each
    verification_app: bool = False  # a verification-code app: at most 5 numbers per request
    max_attempts: int = 5
    timeout: float = 30.0
    max_cost: float | None = None  # cost ceiling of a run (and its retries), in the prices' unit
    base_url: str = DEFAULT_BASE_URL
    dr_url: str = ""
    canary: int | None = None  # messages sent first, to check delivery; None: no canary
    canary_wait: float = 300.0  # seconds to wait for the canary's receipts
    canary_min_delivered: float = 0.8  # share of its receipts that must say delivered
    short_link: str = ""  # sent as shortLink; every text needs the placeholder #1#
    link_verbose: bool | None = None  # sent as linkVerbose "1"/"0"; None: the provider's default
    sandbox: bool = False
    dry_run: bool = False
    yes: bool = False
    out: Path = Path("reports")
    state: Path | None = None
    credentials: Credentials = field(default_factory=Credentials, repr=False)
    prices: Prices = field(default_factory=Prices)
    config_file: Path | None = None  # the --config given, for hints that must find it again
    # When messages may go (checks.quiet, checks.window): kept with the run, so resume and retry
    # keep them; --wait is this process's alone.
    quiet_hours: str | None = None  # "21:00-08:00" in each recipient's own time zone
    default_timezone: str | None = None  # the zone of numbers whose zone is not known
    not_before: str | None = None  # "2026-12-01 09:00 [zone]"
    send_until: str | None = None
    recipient_time: bool = False  # not_before/send_until in each recipient's zone
    wait: bool = False  # keep running until the held messages' windows open
    event_loop: str = "asyncio"  # the sending's event loop: "uvloop" with the optional extra

    @property
    def state_path(self) -> Path:
        """The state db: `--state` (or BATCH_SMS_STATE), else `batch-sms.sqlite3` in the user's
        data folder, whatever `--out` is: the repeat-file refusal, the cross-run duplicate check
        and the hourly caps only protect people when every run of a user sees the same db.

        Runs against the simulator keep their own db (`sandbox.sqlite3` beside it): a message
        that only reached the simulator must not count as sent for the provider, nor take a
        number's hourly slot or make a real campaign's rows look like duplicates."""
        if self.state is not None:
            return self.state
        return user_state_dir() / self._state_name

    @property
    def link_verbose_field(self) -> str:
        """linkVerbose as sent: "1" collect clicks, "0" don't, "" leave the provider's default."""
        return "" if self.link_verbose is None else "1" if self.link_verbose else "0"

    @property
    def legacy_state_path(self) -> Path | None:
        """Where versions before the per-user db kept it (`<out>/…`); None when `--state` is set."""
        return None if self.state is not None else self.out / self._state_name

    @property
    def _state_name(self) -> str:
        return "sandbox.sqlite3" if self.sandbox else "batch-sms.sqlite3"

    def public(self) -> dict[str, Any]:
        """The settings worth recording with a run: JSON-able, never a secret."""
        skip = {"credentials", "prices", "yes", "dry_run", "out", "state", "config_file", "wait"}
        skip.add("event_loop")  # this process's choice, like --wait
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in skip:
                continue
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def user_state_dir() -> Path:
    """The user's data folder for batch-sms (platformdirs), where the state dbs live by default."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


_PATHS = {"input", "template_file", "suppress", "out", "state", "forbidden_words"}
_LISTS = {"must_contain"}  # repeatable options: a list in the config file, one text elsewhere
_CONVERT: dict[str, type] = {
    "tps": float,
    "hourly_cap": int,
    "concurrency": int,
    "group": int,
    "max_attempts": int,
    "max_segments": int,
    "header_row": int,
    "timeout": float,
    "canary": int,
    "canary_wait": float,
    "canary_min_delivered": float,
    "max_cost": float,
}
_BOOLS = {"allow_duplicates", "sandbox", "dry_run", "yes"}
_BOOLS |= {"allow_landlines", "trust_numeric_phones"}  # the phone checks' switches
_BOOLS |= {"gsm_safe", "recipient_time", "wait", "link_verbose"}  # texts, window, links
_BOOLS |= {"verification_app"}
_NAMES = {f.name for f in fields(Settings)} - {"credentials", "prices", "config_file"}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Turn a raw value from a file or the environment into the setting's type."""
    if value is None:
        return None
    try:
        if name in _PATHS:
            return Path(str(value))
        if name in _LISTS:
            items = value if isinstance(value, list | tuple) else [value]
            return tuple(str(item) for item in items)
        if name in _BOOLS:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if name == "tps" and str(value).strip().lower() == "unlimited":
            return None  # only the word: a 0 is a mistake, not a wish for no limit
        if name == "encoding":
            return check_encoding(str(value), source) if str(value).strip() else None
        if name in _CONVERT:
            return _CONVERT[name](value)
        return str(value)
    except ValueError:
        raise ConfigError(
            f"{source}: {value!r} is not a valid value for {name}",
            "see batch-sms COMMAND --help for the values it takes",
        ) from None


def _read_file(path: Path) -> dict[str, Any]:
    """The config file's contents, with a clear error when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found", "check the path given to --config"
        ) from None
    except OSError as exc:  # a folder, or a file this user may not read
        raise ConfigError(
            f"{path}: cannot read the config file: {exc.strerror}",
            "check the path given to --config",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}",
            "write one name = value per line, text in quotes; README.md (Configuration) has an "
            "example",
        ) from None


def _prices(table: Mapping[str, Any], source: str) -> Prices:
    """Read the [prices] table."""
    by_country: dict[str, float] = {}
    default: float | None = None
    currency = ""
    for key, value in table.items():
        if key == "currency":
            currency = str(value)
            continue
        try:
            price = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{source}: prices.{key} = {value!r} is not a number",
                'give the price per billed segment, e.g. "86" = 0.03',
            ) from None
        if key == "default":
            default = price
        elif key.lstrip("+").isdigit():
            by_country[key.lstrip("+")] = price
        else:
            raise ConfigError(
                f'{source}: prices.{key}: use a country calling code such as "86", or default'
            )
    return Prices(by_country=by_country, default=default, currency=currency)


def load_settings(
    options: Mapping[str, Any],
    *,
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and the given options (None = not given)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    prices = Prices()

    path = config
    if path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_NAME
        path = candidate if candidate.is_file() else None
    if path is not None:
        data = _read_file(path)
        for key, value in data.items():
            name = key.replace("-", "_")
            if name == "credentials" and isinstance(value, dict):
                unknown = set(value) - set(SECRET_ENV)
                if unknown:
                    raise ConfigError(
                        f"{path}: unknown credentials key(s): {sorted(unknown)}",
                        "the keys are access_key, access_secret and app_key",
                    )
                secrets.update({k: str(v) for k, v in value.items()})
            elif name == "prices" and isinstance(value, dict):
                prices = _prices(value, str(path))
            elif name in _NAMES:
                values[name] = _coerce(name, value, str(path))
            else:
                raise ConfigError(
                    f"{path}: unknown setting {key!r}",
                    "settings are the long option names with _ for -, e.g. default_region",
                )

    for name in _NAMES:
        raw = env.get(f"BATCH_SMS_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw, f"BATCH_SMS_{name.upper()}")
    for name, var in SECRET_ENV.items():
        if env.get(var):
            secrets[name] = env[var]

    for name, value in options.items():
        if value is None:
            continue
        if name in _NAMES:
            values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
        else:
            raise ValueError(f"unknown option {name}")

    settings = Settings(
        **values, credentials=Credentials(**secrets), prices=prices, config_file=config
    )
    _check(settings)
    return settings


EVENT_LOOPS = ("asyncio", "uvloop")


def _check_event_loop(name: str) -> None:
    """An event loop this machine has: asyncio's, or uvloop once its extra is installed."""
    if name not in EVENT_LOOPS:
        raise ConfigError(
            f"event-loop {name!r} is not one of {', '.join(EVENT_LOOPS)}",
            "give --event-loop asyncio (the default) or uvloop",
        )
    if name == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise ConfigError(
            "event-loop uvloop: uvloop is not installed",
            "pip install 'batch-sms[uvloop]', or leave --event-loop out",
        )


def _check(settings: Settings) -> None:
    """Refuse values that can only end badly."""
    if settings.tps is not None and settings.tps <= 0:
        raise ConfigError(
            "tps must be positive (or 'unlimited')",
            "give --tps a number above 0, or --tps unlimited",
        )
    for name in ("hourly_cap", "concurrency", "max_attempts", "group"):
        if getattr(settings, name) < 1:
            option = name.replace("_", "-")
            raise ConfigError(f"{option} must be at least 1", f"give --{option} 1 or more")
    if settings.verification_app and settings.group > VERIFICATION_MOST:
        raise ConfigError(
            f"group {settings.group}: a verification-code application takes at most "
            f"{VERIFICATION_MOST} numbers per request (the provider answers code 104)",
            f"give --group {VERIFICATION_MOST} or less",
        )
    if settings.timeout <= 0:
        raise ConfigError("timeout must be positive", "give --timeout a number of seconds above 0")
    _check_event_loop(settings.event_loop)
    if settings.max_cost is not None and not 0 < settings.max_cost < math.inf:
        raise ConfigError(
            "max-cost must be a positive amount",
            "give --max-cost the most the run may cost, e.g. --max-cost 50",
        )
    if settings.max_segments is not None and settings.max_segments < 1:
        raise ConfigError("max-segments must be at least 1", "give --max-segments 1 or more")
    _check_canary(settings)
    _check_region(settings.default_region)
    if any(not text.strip() for text in settings.must_contain):
        raise ConfigError(
            "must-contain: a required text is empty",
            "give the text every message must hold, e.g. --must-contain 'Reply STOP'",
        )
    _check_short_link(settings.short_link)
    if settings.template is not None and settings.template_file is not None:
        raise ConfigError(
            "give --template or --template-file, not both", "drop one of the two options"
        )


def _check_canary(settings: Settings) -> None:
    """The canary's size, wait and share must make sense."""
    if settings.canary is not None and settings.canary < 1:
        raise ConfigError("canary must be at least 1", "give --canary 1 or more, or leave it out")
    if settings.canary_wait < 0:
        raise ConfigError(
            "canary-wait must not be negative", "give --canary-wait a number of seconds, e.g. 300"
        )
    if not 0 <= settings.canary_min_delivered <= 1:
        raise ConfigError(
            "canary-min-delivered must lie between 0 and 1",
            "give --canary-min-delivered a share, e.g. 0.8 for 80%",
        )


def _check_short_link(link: str) -> None:
    """A short link is an http(s) URL from the account's list of short links."""
    if not link:
        return
    scheme, _, rest = link.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or any(c.isspace() for c in link):
        raise ConfigError(
            f"short-link {link!r} is not an http(s) URL",
            "give one of your account's short links, e.g. --short-link https://nx.ink/abc; "
            "the texts place it with #1#",
        )


def _check_region(region: str | None) -> None:
    """A default region must be one phonenumbers knows: a wrong one would make every national
    number of the file invalid instead of stopping at once."""
    import phonenumbers  # here, not on top: `batch-sms --help` reads Settings without it

    if region is None or region.upper() in phonenumbers.SUPPORTED_REGIONS:
        return
    raise ConfigError(
        f"default-region {region!r} is not a region code",
        "give the two-letter ISO code of the country, e.g. --default-region CN (China), US, GB, "
        "DE, IN, BR",
    )


def override(settings: Settings, **changes: Any) -> Settings:
    """A copy with some settings replaced (None values are ignored)."""
    given = {k: v for k, v in changes.items() if v is not None}
    result = replace(settings, **given)
    _check(result)
    return result


def from_public(public: Mapping[str, Any], base: Settings) -> Settings:
    """Rebuild settings recorded with a run, on top of `base` (which brings the secrets)."""
    known = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {
        k: _coerce(k, v, "run settings") if v is not None else None
        for k, v in public.items()
        if k in known and k not in {"credentials", "prices"}
    }
    return replace(base, **values)
