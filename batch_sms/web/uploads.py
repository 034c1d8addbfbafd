"""Uploaded files: streamed to server-chosen names inside the output folder, within a size limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import unquote

from aiohttp import BodyPartReader, MultipartReader, web

from batch_sms.web.engine import EXTENSIONS
from batch_sms.web.security import FORM_KEY
from batch_sms.web.state import Upload, WebState, new_id

__all__ = ["Form", "discard", "read_form", "shown_name", "too_large"]

_CHUNK = 64 * 1024
FOLDER = "uploads"


@dataclass
class Form:
    """A multipart form: its text fields and the files it carried (stored already)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def too_large(limit_mb: float) -> web.HTTPRequestEntityTooLarge:
    """The answer to an upload over the limit, in words a user can act on."""
    return web.HTTPRequestEntityTooLarge(
        max_size=int(limit_mb * 1024 * 1024),
        actual_size=0,
        text=f"The file is larger than the upload limit of {limit_mb:g} MB; nothing was stored. "
        "Split the list into smaller files, or start batch-sms web with a larger "
        "--max-upload-mb.",
    )


async def read_form(request: web.Request, app: WebState, file_fields: tuple[str, ...]) -> Form:
    """Read the rest of a multipart form whose CSRF field was checked already (security.py);
    files of `file_fields` are stored, an empty file field is left out."""
    limit = app.config.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + _CHUNK:
        raise too_large(app.config.max_upload_mb)
    reader = request.get(FORM_KEY)
    form = Form()
    if not isinstance(reader, MultipartReader):  # a form without files: read whole already
        posted = await request.post()
        form.fields = {k: v for k, v in posted.items() if isinstance(v, str)}
        return form
    folder = app.settings.out / FOLDER
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.name in file_fields and part.filename:
                form.files[part.name] = await _store(part, folder, limit, app.config.max_upload_mb)
            elif part.name not in file_fields:
                form.fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")
    except BaseException:
        for upload in form.files.values():
            discard(upload)
        raise
    return form


def _user_name(filename: str) -> str:
    """The file's own name, without any folder a client sent with it (only ever shown)."""
    # Some clients (aiohttp's among them) percent-quote the name; browsers send it as is.
    return PureWindowsPath(PurePosixPath(unquote(filename)).name).name or "upload"


async def _store(part: BodyPartReader, folder: Path, limit: int, limit_mb: float) -> Upload:
    """Stream one file part to a new server-chosen name; refuse it when empty, too large or of a
    type pre-flight cannot read."""
    name = _user_name(part.filename or "")
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise web.HTTPBadRequest(
            text=f"{name}: not a spreadsheet batch-sms reads. Upload a .csv, .xlsx, .xls or "
            ".ods file."
        )
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (one local folder, made once)
    upload = Upload(id=new_id(), path=folder / f"{new_id()}{suffix}", name=name)
    size = 0
    try:
        with upload.path.open("xb") as handle:
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit_mb)
                handle.write(chunk)
        if size == 0:
            raise web.HTTPBadRequest(text=f"{name}: the file is empty. Upload the recipient list.")
        # The user's name beside the file, for the pages that list runs made from it.
        _name_file(upload.path).write_text(name, encoding="utf-8")
    except BaseException:
        discard(upload)
        raise
    return upload


def discard(upload: Upload) -> None:
    """Remove a stored upload and its name."""
    upload.path.unlink(missing_ok=True)
    _name_file(upload.path).unlink(missing_ok=True)


def _name_file(path: Path) -> Path:
    """Where the user's name of an upload is kept."""
    return path.with_name(path.name + ".name")


def shown_name(out: Path, input_name: str) -> str:
    """A run's input as its user knows it: an upload's own file name, else the name recorded."""
    path = Path(input_name)
    if path.parent.resolve() != (out / FOLDER).resolve():
        return input_name
    try:
        return _name_file(path).read_text(encoding="utf-8")
    except OSError:
        return path.name
