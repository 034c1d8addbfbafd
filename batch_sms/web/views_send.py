"""Confirm and send, and the run page that follows a send live."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from batch_sms.web import engine, sends
from batch_sms.web.pages import error_page, render
from batch_sms.web.state import new_id, state

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/checks/{check_id}/confirm")
async def confirm(request: web.Request) -> web.StreamResponse:
    """The confirmation: the messages and the cost, and a one-time ticket to send them."""
    app = state(request)
    check: engine.Check = app.checks.get(request.match_info["check_id"])
    if check.id in app.sends:
        raise web.HTTPSeeOther(location=f"/sends/{check.id}")
    plan = check.outcome.plan
    if plan is None or plan.messages_ready == 0 or check.refusals:
        raise web.HTTPSeeOther(location=f"/checks/{check.id}")
    ticket = secrets.token_urlsafe(16)
    app.tickets[ticket] = check.id
    return render(request, "confirm.html", check=check, plan=plan, ticket=ticket,
                  facts=dict(check.facts))  # fmt: skip


@routes.post("/checks/{check_id}/send")
async def send(request: web.Request) -> web.StreamResponse:
    """Start the send of a confirmed check; only with the ticket its confirmation page gave."""
    app = state(request)
    check: engine.Check = app.checks.get(request.match_info["check_id"])
    form = await request.post()
    ticket = form.get("ticket")
    if isinstance(ticket, str) and app.tickets.get(ticket) == check.id:
        del app.tickets[ticket]
    else:
        return error_page(
            request, 409, "Not sent",
            "This send was not confirmed on its confirmation page, or that page was used "
            "already; nothing was sent. Open the check again and confirm from there.",
        )  # fmt: skip
    if check.id in app.sends:
        return error_page(
            request, 409, "Already sending",
            "This campaign is being sent already; nothing was sent twice. Its page shows it.",
        )  # fmt: skip
    app.sends[check.id] = sends.start_check(check, app.config.clock)
    raise web.HTTPSeeOther(location=f"/sends/{check.id}")


@routes.post("/runs/{run_id}/{action:resume|retry}")
async def follow_up(request: web.Request) -> web.StreamResponse:
    """Resume a stopped run (past a failed canary when the form says so), or retry its failed
    rows as a new run, in the app's own task."""
    app = state(request)
    run_id, action = request.match_info["run_id"], request.match_info["action"]
    skip = (await request.post()).get("skip_canary") == "1"
    ui = sends.WebUi()
    resume = action == "resume"
    name = f"{action} of run {run_id}{' without its canary' if skip else ''}"
    clock = app.config.clock
    job = sends.SendJob(
        new_id(), name, ui, settings=app.settings, windows=clock,
        run_id=run_id if resume else "", parent=None if resume else run_id,
    )  # fmt: skip

    def work() -> engine.Outcome:
        if resume:
            return engine.resume(app.settings, run_id, ui, skip, clock)
        return engine.retry(app.settings, run_id, ui, clock)

    app.sends[job.id] = sends.start(job, work)
    raise web.HTTPSeeOther(location=f"/sends/{job.id}")


@routes.get("/sends/{check_id}")
async def send_page(request: web.Request) -> web.Response:
    """The send's page: progress while it sends, then the summary and the downloads."""
    job = _job(request)
    await asyncio.to_thread(job.refresh)
    return render(request, "send.html", job=job, now=job.snapshot(), statuses=engine.STATUSES,
                  resumable=engine.RESUMABLE, retried=engine.RETRIED)  # fmt: skip


@routes.post("/sends/{check_id}/stop")
async def stop(request: web.Request) -> web.StreamResponse:
    """Stop a send as a first Ctrl-C does: what is in flight finishes, the report is written,
    and the run can be resumed; then back to its page."""
    job = _job(request)
    if job.state != "sending" or job.ui.stop is None:
        why = (
            f"This send is not sending (it is {job.state}); there is nothing to stop."
            if job.state != "sending"
            else "This send is still starting and cannot be stopped yet; try again in a moment."
        )
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response({"stopped": False, "state": job.state, "error": why},
                                     status=409)  # fmt: skip
        return error_page(request, 409, "Not stopped", why)
    job.ui.stop()
    raise web.HTTPSeeOther(location=f"/sends/{job.id}")


@routes.get("/sends/{check_id}/progress")
async def progress(request: web.Request) -> web.Response:
    """Where the send stands, as JSON, for the run page to poll (while its `watch` is true)."""
    job = _job(request)
    await asyncio.to_thread(job.refresh)
    return web.json_response(job.snapshot())


def _job(request: web.Request) -> sends.SendJob:
    """The send of the check in the URL; 404 when it was never started here."""
    job: sends.SendJob | None = state(request).sends.get(request.match_info["check_id"])
    if job is None:
        raise web.HTTPNotFound(text="No send of this campaign was started here.")
    return job
