"""What the web app holds between requests: its settings, the uploads and the checks made."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from aiohttp import web

from batch_sms.config import Settings
from batch_sms.web.engine import SYSTEM_CLOCK, Clock

__all__ = ["STATE", "Registry", "Upload", "WebConfig", "WebState", "new_id", "state"]

T = TypeVar("T")
MB = 1024 * 1024


@dataclass(frozen=True)
class WebConfig:
    """How `batch-sms web` was started."""

    settings: Settings  # the defaults of every form (config file, environment, options)
    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None  # None: no access token needed (loopback, none given)
    max_upload_mb: float = 50.0
    clock: Clock = SYSTEM_CLOCK  # what send windows and their waits go by (a test's FakeClock)

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * MB)


@dataclass(frozen=True)
class Upload:
    """A file a user uploaded: where the app stored it and the name the user gave it."""

    id: str
    path: Path  # a server-chosen name inside the output folder
    name: str  # the user's file name, only ever shown, never used as a path


class Registry(Generic[T]):
    """The latest items by id, the oldest forgotten past `keep` (the files stay on disk)."""

    def __init__(self, keep: int = 50) -> None:
        self._items: OrderedDict[str, T] = OrderedDict()
        self._keep = keep

    def add(self, key: str, item: T) -> None:
        """Remember `item` under `key`."""
        self._items[key] = item
        while len(self._items) > self._keep:
            self._items.popitem(last=False)

    def get(self, key: str) -> T:
        """The item under `key`; 404 when there is none."""
        try:
            return self._items[key]
        except KeyError:
            raise web.HTTPNotFound(
                text="This page is gone: the file or check it showed is no longer kept. "
                "Start again from New campaign."
            ) from None


@dataclass
class WebState:
    """The app's state: configuration and what users uploaded and checked."""

    config: WebConfig
    uploads: Registry[Upload] = field(default_factory=Registry)
    checks: Registry[Any] = field(default_factory=Registry)
    tickets: dict[str, str] = field(default_factory=dict)  # one-time send ticket -> check id
    sends: dict[str, Any] = field(default_factory=dict)  # check id -> its send (sends.SendJob)

    @property
    def settings(self) -> Settings:
        """The base settings."""
        return self.config.settings


STATE = web.AppKey("state", WebState)


def state(request: web.Request) -> WebState:
    """The app's state, from a request."""
    return request.app[STATE]


def new_id() -> str:
    """A random id for an upload, unguessable and safe in a URL and a file name."""
    return secrets.token_hex(12)
