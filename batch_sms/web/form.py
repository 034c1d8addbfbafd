"""The campaign options form: its defaults from the settings, and its fields read back as the
settings of a check (the checks themselves are config's and pre-flight's, as for the CLI)."""

from __future__ import annotations

from typing import Any

from batch_sms.config import Settings
from batch_sms.web.engine import InputError
from batch_sms.web.state import Upload

__all__ = ["SAFETY_TEXTS", "defaults", "exact", "given"]

# The texts of the safety fieldsets: a field the form posts blank means "none" (the form shows
# the defaults, so a blank is the user's choice); a field it does not post keeps the default.
SAFETY_TEXTS = ("quiet_hours", "default_timezone", "not_before", "send_until", "short_link")
_SWITCHES = ("recipient_time", "gsm_safe")  # checkboxes, posted "0" then "1" when ticked
_NUMBERS: dict[str, tuple[type, str]] = {  # field -> (type, its name in messages)
    "canary": (int, "canary"),
    "canary_wait": (float, "canary wait"),
    "canary_min_delivered": (float, "canary min delivered"),
    "max_cost": (float, "max cost"),
}
_OPTIONAL = {"canary", "max_cost"}  # numbers whose blank means "none"
_VERBOSE = {"": None, "1": True, "0": False}  # link_verbose as the form's select gives it


def _number(value: float | None) -> str:
    """A number as the form shows it ("" for none)."""
    return "" if value is None else f"{value:g}"


def defaults(settings: Settings) -> dict[str, str]:
    """The form's values before the user changes any: the settings' (config file, environment,
    the web command's options)."""
    verbose = settings.link_verbose
    return {
        "template": settings.template or "",
        "default_region": settings.default_region or "",
        "sender": settings.sender,
        "tps": "unlimited" if settings.tps is None else f"{settings.tps:g}",
        "hourly_cap": str(settings.hourly_cap),
        **{name: getattr(settings, name) or "" for name in SAFETY_TEXTS},
        **{name: "1" if getattr(settings, name) else "0" for name in _SWITCHES},
        **{name: _number(getattr(settings, name)) for name in _NUMBERS},
        "must_contain": "\n".join(settings.must_contain),
        "link_verbose": "" if verbose is None else "1" if verbose else "0",
    }


def given(stored: Upload, fields: dict[str, str], files: dict[str, Upload]) -> dict[str, Any]:
    """The settings the form gives that keep the defaults when blank (override's)."""

    def text(name: str) -> str | None:
        return fields.get(name, "").strip() or None

    template = fields.get("template", "") if fields.get("source") == "template" else ""
    cap = text("hourly_cap")
    suppress = files.get("suppress")
    words = files.get("forbidden_words")
    return {
        "input": stored.path,
        "sheet": text("sheet"),
        "phone_column": text("phone_column"),
        "content_column": None if template.strip() else text("content_column"),
        "template": template if template.strip() else None,
        "default_region": text("default_region"),
        "sender": text("sender"),
        "suppress": suppress.path if suppress else None,
        "forbidden_words": words.path if words else None,
        "tps": text("tps"),
        "hourly_cap": whole(cap, "hourly cap") if cap else None,
    }


def exact(fields: dict[str, str]) -> dict[str, Any]:
    """The safety settings the form posted, taken as they are (a blank clears one)."""
    out: dict[str, Any] = {}
    for name in SAFETY_TEXTS:
        if name in fields:
            out[name] = fields[name].strip() or (None if name != "short_link" else "")
    for name in _SWITCHES:
        if name in fields:
            out[name] = fields[name] == "1"
    for name, (kind, label) in _NUMBERS.items():
        value = fields.get(name, "").strip()
        if value:
            out[name] = whole(value, label) if kind is int else _float(value, label)
        elif name in fields and name in _OPTIONAL:
            out[name] = None
    if "must_contain" in fields:
        lines = (line.strip() for line in fields["must_contain"].splitlines())
        out["must_contain"] = tuple(line for line in lines if line)
    if "link_verbose" in fields:
        if fields["link_verbose"] not in _VERBOSE:
            raise InputError(
                f"link verbose {fields['link_verbose']!r} is not one of the choices",
                "choose yes, no or the provider's default",
            )
        out["link_verbose"] = _VERBOSE[fields["link_verbose"]]
    return out


def whole(text: str, what: str) -> int:
    """A whole number from a form field; InputError naming the field."""
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a whole number") from None


def _float(text: str, what: str) -> float:
    """A number from a form field; InputError naming the field."""
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a number", "give a number, e.g. 0.8") from None
