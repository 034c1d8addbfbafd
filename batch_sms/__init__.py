"""batch-sms: personalised SMS campaigns from spreadsheets through the NXCloud SMS API.

From Python: `validate(source, **options)`, `send(source, **options)` and `results(run_id)`,
where `source` is a CSV/Excel path or a pandas DataFrame (see batch_sms.api). They are imported
on first use, so `import batch_sms` and the command line load neither pandas nor aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batch_sms.api import Progress, Result, Source, results, send, validate

    __version__: str

__all__ = ["Progress", "Result", "Source", "__version__", "results", "send", "validate"]

_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    """The API's names, imported from batch_sms.api (and pandas with it) on first use, and
    the version, looked up in the installed metadata on first use (importlib.metadata alone
    takes 40 ms, a noticeable part of a command's start)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("batch-sms")
        except PackageNotFoundError:  # running from a source tree that was never installed
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    if name in _API:
        from batch_sms import api

        return getattr(api, name)
    raise AttributeError(f"module 'batch_sms' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazily imported ones included."""
    return sorted({*globals(), *__all__})
