"""batch_sms.web.state: how the app was started, the registries of uploads and checks, and ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web
from webclient import web_settings

from batch_sms.web.state import Registry, WebConfig, WebState, new_id


def test_upload_limit_in_bytes(tmp_path: Path) -> None:
    assert WebConfig(web_settings(tmp_path)).max_upload_bytes == 50 * 1024 * 1024
    assert WebConfig(web_settings(tmp_path), max_upload_mb=0.5).max_upload_bytes == 524288


def test_registry_keeps_the_latest_and_forgets_the_oldest() -> None:
    registry: Registry[int] = Registry(keep=2)
    for i, key in enumerate(("a", "b", "c")):
        registry.add(key, i)
    assert (registry.get("b"), registry.get("c")) == (1, 2)
    with pytest.raises(web.HTTPNotFound) as gone:
        registry.get("a")
    assert "Start again from New campaign" in (gone.value.text or "")


def test_state_gives_the_settings_it_was_started_with(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, sender="Shop")
    app = WebState(WebConfig(settings))
    assert app.settings is settings
    assert (app.tickets, app.sends) == ({}, {})


def test_new_ids_are_random_and_safe_in_urls_and_file_names() -> None:
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
