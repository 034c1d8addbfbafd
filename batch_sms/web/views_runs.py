"""The Runs page, a run's downloads and the Settings page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from batch_sms.web import engine
from batch_sms.web.facts import settings_facts
from batch_sms.web.pages import render
from batch_sms.web.state import state
from batch_sms.web.uploads import shown_name

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """The app opens on the runs."""
    raise web.HTTPSeeOther(location="/runs")


@routes.get("/runs")
async def runs(request: web.Request) -> web.Response:
    """Every run of the state db, newest first; a run this process sends links to its page."""
    app = state(request)
    settings = app.settings
    jobs = list(app.sends.values())
    await asyncio.to_thread(lambda: [job.refresh() for job in jobs if not job.current_run()])
    live = {job.current_run(): job.id for job in jobs if job.current_run()}
    found = await asyncio.to_thread(engine.list_runs, settings)
    for run in found:
        run["input"] = shown_name(settings.out, run["input"])
    return render(request, "runs.html", runs=found, statuses=engine.STATUSES, live=live,
                  resumable=engine.RESUMABLE, retried=engine.RETRIED)  # fmt: skip


@routes.get("/runs/{run_id}/files/{kind}")
async def run_file(request: web.Request) -> web.FileResponse:
    """One of a run's own files, found by run id and kind, never by a path from the request."""
    settings = state(request).settings
    run_id, kind = request.match_info["run_id"], request.match_info["kind"]
    try:
        path = await asyncio.to_thread(engine.run_file, settings, run_id, kind)
    except LookupError:
        raise web.HTTPNotFound(text="This run has no such file.") from None
    return download(path, f"{run_id}-{path.name}")


def download(path: Path, name: str) -> web.FileResponse:
    """A file as an attachment named `name`."""
    response = web.FileResponse(path)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@routes.get("/settings")
async def settings_page(request: web.Request) -> web.Response:
    """The defaults the forms start from, and whether credentials are configured."""
    facts = settings_facts(state(request).settings)
    return render(request, "settings.html", facts=facts)
