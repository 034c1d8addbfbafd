"""New campaign and Check: upload a file, choose its columns and options, see the pre-flight."""

from __future__ import annotations

import asyncio

from aiohttp import web

from batch_sms.web import engine, form
from batch_sms.web.pages import render
from batch_sms.web.state import Upload, WebState, state
from batch_sms.web.uploads import discard, read_form
from batch_sms.web.views_runs import download

__all__ = ["PAGE_ROWS", "routes"]

routes = web.RouteTableDef()
PAGE_ROWS = 50  # rows that will not be sent, shown per page


@routes.get("/campaigns/new")
async def new_campaign(request: web.Request) -> web.Response:
    """The upload form."""
    return _new_page(request)


def _new_page(request: web.Request, error: str = "", hint: str = "") -> web.Response:
    """The upload form, with what was wrong with the last upload."""
    config = state(request).config
    return render(
        request,
        "new.html",
        status=400 if error else 200,
        error=error,
        hint=hint,
        max_mb=config.max_upload_mb,
        max_bytes=config.max_upload_bytes,
        accept=",".join(sorted(engine.EXTENSIONS)),
    )


@routes.post("/campaigns/new")
async def upload(request: web.Request) -> web.StreamResponse:
    """Store the uploaded list under a new name and go on to its options."""
    app = state(request)
    form = await read_form(request, app, ("file",))
    stored = form.files.get("file")
    if stored is None:
        return _new_page(request, "Choose the file of recipients to upload.")
    try:
        await asyncio.to_thread(engine.inspect, stored.path, stored.name)
    except engine.BatchSmsError as error:
        discard(stored)
        return _new_page(request, error.message, error.hint)
    app.uploads.add(stored.id, stored)
    raise web.HTTPSeeOther(location=f"/uploads/{stored.id}")


@routes.get("/uploads/{upload_id}")
async def options(request: web.Request) -> web.Response:
    """The campaign's options: sheet, columns or template, region, sender, opt-outs, rate."""
    app = state(request)
    stored = app.uploads.get(request.match_info["upload_id"])
    return await _options_page(request, app, stored, {"sheet": request.query.get("sheet", "")})


async def _options_page(
    request: web.Request,
    app: WebState,
    stored: Upload,
    given: dict[str, str],
    error: str = "",
    hint: str = "",
) -> web.Response:
    """The options form for `stored`, filled with `given` over the detected and default values."""
    try:
        view = await asyncio.to_thread(
            engine.inspect, stored.path, stored.name, given.get("sheet") or None
        )
    except engine.BatchSmsError as failure:
        view = await asyncio.to_thread(engine.inspect, stored.path, stored.name)
        error, hint = failure.message, failure.hint
    values = {
        **form.defaults(app.settings),
        "sheet": view.sheet or "",
        "phone_column": view.phone or "",
        "content_column": view.content or "",
        "source": "column" if view.content else "template",
        **{k: v for k, v in given.items() if k != "sheet"},
    }
    return render(
        request,
        "options.html",
        status=400 if error else 200,
        upload=stored,
        view=view,
        values=values,
        words=app.settings.forbidden_words.name if app.settings.forbidden_words else "",
        error=error,
        hint=hint,
    )


@routes.get("/uploads/{upload_id}/preview")
async def preview(request: web.Request) -> web.Response:
    """The first rows' messages from the template being written, as JSON."""
    stored = state(request).uploads.get(request.match_info["upload_id"])
    text = request.query.get("template", "")
    if not text.strip():
        return web.json_response({"rows": [], "error": ""})
    try:
        rows = await asyncio.to_thread(
            engine.preview, stored.path, request.query.get("sheet") or None, text
        )
    except engine.BatchSmsError as error:
        return web.json_response({"rows": [], "error": error.message})
    return web.json_response({"rows": rows, "error": ""})


@routes.post("/uploads/{upload_id}/check")
async def run_check(request: web.Request) -> web.StreamResponse:
    """Run pre-flight (`batch-sms validate`) with the form's options; show its Check page."""
    app = state(request)
    stored = app.uploads.get(request.match_info["upload_id"])
    posted = await read_form(request, app, ("suppress", "forbidden_words"))
    given = posted.fields
    others = {f.path: f.name for f in posted.files.values()}
    try:
        settings = engine.form_settings(
            app.settings, form.exact(given), **form.given(stored, given, posted.files)
        )
        result = await asyncio.to_thread(
            engine.check, settings, stored.id, stored.name, others, app.config.clock
        )
    except engine.BatchSmsError as error:
        return await _options_page(request, app, stored, given, error.message, error.hint)
    app.checks.add(result.id, result)
    raise web.HTTPSeeOther(location=f"/checks/{result.id}")


@routes.get("/checks/{check_id}")
async def check_page(request: web.Request) -> web.Response:
    """What pre-flight found: counts, the rows that will not be sent (paged), the plan."""
    result: engine.Check = state(request).checks.get(request.match_info["check_id"])
    pages = max(1, -(-len(result.problems) // PAGE_ROWS))
    try:
        page = min(max(1, int(request.query.get("page", "1"))), pages)
    except ValueError:
        page = 1
    shown = result.problems[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    return render(request, "check.html", check=result, shown=shown, page=page, pages=pages)


@routes.get("/checks/{check_id}/report")
async def check_report(request: web.Request) -> web.FileResponse:
    """The validation report of a check."""
    result: engine.Check = state(request).checks.get(request.match_info["check_id"])
    if result.report is None or not result.report.is_file():
        raise web.HTTPNotFound(text="This check has no report.")
    return download(result.report, f"validation-{result.id}.xlsx")
