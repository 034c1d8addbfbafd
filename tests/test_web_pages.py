"""batch_sms.web.pages: the autoescaping template environment, and pages rendered for a request
with the CSRF token and the sandbox banner."""

from __future__ import annotations

import asyncio
from pathlib import Path

import jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from webclient import web_settings

from batch_sms.web.pages import environment, error_page, install, render
from batch_sms.web.security import CSRF_KEY
from batch_sms.web.state import STATE, WebConfig, WebState


def request_for(tmp_path: Path, **settings: object) -> web.Request:
    """A request to an app that has its state and page environment."""
    app = web.Application()
    app[STATE] = WebState(WebConfig(web_settings(tmp_path, **settings)))
    install(app)
    request = make_mocked_request("GET", "/runs", app=app)
    request[CSRF_KEY] = "csrf-token-1"
    return request


def test_environment_escapes_what_a_page_is_given() -> None:
    page = environment().from_string("<p>{{ name }}</p>").render(name="<script>x</script>")
    assert page == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


def test_environment_refuses_a_name_a_page_was_not_given() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string("{{ missing }}").render()


def test_numbers_are_shown_with_thousands_separators() -> None:
    assert environment().from_string("{{ 1234567 | number }}").render() == "1,234,567"


def test_every_template_of_the_package_compiles() -> None:
    env = environment()
    names = env.list_templates()
    assert "base.html" in names
    for name in names:
        env.get_template(name)


def test_a_page_shows_the_sandbox_badge_only_in_the_sandbox(tmp_path: Path) -> None:
    response = render(request_for(tmp_path, sandbox=True), "settings.html", facts=[("a", "<b>")])
    assert (response.status, response.content_type) == (200, "text/html")
    assert response.text is not None
    assert "<td>&lt;b&gt;</td>" in response.text
    assert 'class="badge sandbox"' in response.text
    real = render(request_for(tmp_path), "settings.html", facts=[])
    assert real.text is not None
    assert 'class="badge sandbox"' not in real.text


def test_a_pages_forms_carry_the_requests_csrf_token(tmp_path: Path) -> None:
    run = {"run_id": "20260101-000000-abcd"}
    response = render(request_for(tmp_path), "follow_up.html", run=run, action="resume")
    assert response.text is not None
    assert '<input type="hidden" name="csrf" value="csrf-token-1">' in response.text
    assert 'action="/runs/20260101-000000-abcd/resume"' in response.text


def test_error_page_says_what_happened_with_its_status(tmp_path: Path) -> None:
    async def build() -> web.Response:
        return error_page(request_for(tmp_path), 409, "Not sent", "Nothing <was> sent.")

    response = asyncio.run(build())
    assert response.status == 409
    assert response.text is not None
    assert "Not sent" in response.text
    assert "Nothing &lt;was&gt; sent." in response.text
