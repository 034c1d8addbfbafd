"""Server-rendered pages: one autoescaping Jinja2 environment over the package's templates."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from batch_sms.web.security import csrf_token
from batch_sms.web.state import state

__all__ = ["environment", "error_page", "render"]

_ENV_KEY = web.AppKey("jinja", jinja2.Environment)


def environment() -> jinja2.Environment:
    """The pages' Jinja2 environment: templates shipped in the package, autoescape on."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("batch_sms.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = lambda value: f"{value:,}"
    return env


def install(app: web.Application) -> None:
    """Give `app` its page environment."""
    app[_ENV_KEY] = environment()


def render(request: web.Request, name: str, *, status: int = 200, **context: Any) -> web.Response:
    """The page `name` filled with `context`, plus what every page shows."""
    env = request.app[_ENV_KEY]
    body = env.get_template(name).render(
        csrf=csrf_token(request),
        path=request.path,
        sandbox=state(request).settings.sandbox,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """A page that says what went wrong and what to do."""
    return render(request, "error.html", status=status, title=title, message=message)
