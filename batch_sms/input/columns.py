"""Find the phone and content columns of a table by their header names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from batch_sms.errors import InputError
from batch_sms.input.loader import clash_hint, find_column

__all__ = ["CONTENT_NAMES", "PHONE_NAMES", "detect_column"]

# Best first: a mobile name beats a phone name (a "Phone" column beside "Mobile" is often the
# landline), and a specific name beats a vague one ("number" may be an order number).
PHONE_NAMES: tuple[str, ...] = (
    "mobile",
    "mobile number",
    "mobile phone",
    "mobile phone number",
    "mobile no",
    "mobile tel",
    "cell",
    "cell phone",
    "cellphone",
    "cell number",
    "msisdn",
    "手机号码",
    "手机号",
    "手机",
    "手机号碼",
    "手機號碼",
    "手機號",
    "手機",
    "移动电话",
    "phone",
    "phone number",
    "phone no",
    "telephone",
    "telephone number",
    "tel",
    "contact number",
    "電話號碼",
    "电话号码",
    "联系电话",
    "電話",
    "电话",
    "recipient",
    "number",
    "號碼",
    "号码",
)
CONTENT_NAMES: tuple[str, ...] = (
    "content",
    "message",
    "sms content",
    "sms text",
    "message text",
    "text",
    "sms",
    "body",
    "msg",
    "短信内容",
    "短信",
    "内容",
    "消息内容",
    "消息",
    "簡訊內容",
    "簡訊",
    "訊息",
    "內容",
    "文本",
)


def _match_key(name: str) -> str:
    """Return the form under which header names are compared with the known names.

    Case, spaces and punctuation are ignored, so `Phone Number`, `phone_number`, `PHONENUMBER`
    and `PhoneNumber` are one name (and two such columns are ambiguous).
    """
    return re.sub(r"[\W_]+", "", name.casefold())


def detect_column(
    columns: Sequence[str], explicit: str | None, names: Sequence[str], what: str
) -> int:
    """Return the index of the `what` column: the one named `explicit`, else the best known name."""
    option = f"--{what}-column"
    if explicit is not None:
        try:
            return find_column(columns, explicit, option)
        except InputError as exc:
            raise InputError(f"{option}: {exc.message}", exc.hint or f"check {option}") from None
    keys = [_match_key(c) for c in columns]
    for name in names:
        wanted = _match_key(name)
        hits = [i for i, key in enumerate(keys) if key == wanted]
        if len(hits) > 1:
            clash = " and ".join(f'"{columns[i]}" (column {i + 1})' for i in hits)
            raise InputError(
                f"several {what} columns: {clash}",
                clash_hint(columns, hits, option),
            )
        if hits:
            return hits[0]
    found = ", ".join(columns) if columns else "(none)"
    extra = " or --template" if what == "content" else ""
    raise InputError(
        f"no {what} column found; columns: {found}",
        f"name the column with {option} NAME{extra}",
    )
