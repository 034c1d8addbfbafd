"""batch-sms: personalised SMS campaigns from spreadsheets through the NXCloud SMS API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("batch-sms")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
