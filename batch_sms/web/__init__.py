"""`batch-sms web`: the campaign flow in a browser, over the same use cases as the CLI."""

from __future__ import annotations

from batch_sms.web import security
from batch_sms.web.app import make_app, serve, url
from batch_sms.web.state import WebConfig

__all__ = ["WebConfig", "make_app", "security", "serve", "url"]
