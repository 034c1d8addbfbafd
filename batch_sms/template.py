"""Find the phone and content columns, and render each row's message from a Jinja2 template."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import jinja2
from jinja2 import StrictUndefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from batch_sms.errors import InputError, RenderError

__all__ = ["CONTENT_NAMES", "PHONE_NAMES", "Template", "detect_column", "variable_name"]

# Best first: a specific name beats a vague one ("number" may be an order number).
PHONE_NAMES: tuple[str, ...] = (
    "phone",
    "phone number",
    "mobile",
    "mobile number",
    "mobile phone",
    "msisdn",
    "cell",
    "cell phone",
    "cellphone",
    "mobile no",
    "phone no",
    "telephone",
    "telephone number",
    "tel",
    "contact number",
    "recipient",
    "number",
    "手机号码",
    "手机号",
    "手机",
    "手机号碼",
    "手機號碼",
    "手機號",
    "手機",
    "移动电话",
    "電話號碼",
    "电话号码",
    "联系电话",
    "電話",
    "电话",
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
ROW_VARIABLE = "row"  # the dict of all cells by header name, for headers that aren't identifiers


def _match_key(name: str) -> str:
    """Return the form under which header names are compared with the known names."""
    return " ".join(re.split(r"[\s_\-.]+", name.strip().casefold())).strip()


def detect_column(
    columns: Sequence[str], explicit: str | None, names: Sequence[str], what: str
) -> int:
    """Return the index of the `what` column: the one named `explicit`, else the best known name."""
    from batch_sms.loader import clash_hint, find_column

    option = f"--{what}-column"
    if explicit is not None:
        try:
            return find_column(columns, explicit, option)
        except InputError as exc:
            raise InputError(f"{option}: {exc.message}", exc.hint or f"check {option}") from None
    keys = [_match_key(c) for c in columns]
    for name in names:
        hits = [i for i, key in enumerate(keys) if key == _match_key(name)]
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


def variable_name(header: str) -> str:
    """Return the template variable for a header: lowercase, other characters become `_`."""
    name = re.sub(r"\W+", "_", header.strip().lower()).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


class Template:
    """The content of each row: a compiled Jinja2 template, or one column taken as is."""

    def __init__(self, render: Callable[[tuple[str, ...]], str], fields: tuple[int, ...]) -> None:
        """Wrap a row renderer; use `from_text` or `from_column` instead."""
        self._render = render
        self.fields = fields  # indexes of the columns the content depends on

    @classmethod
    def from_column(cls, index: int) -> Template:
        """Return a Template whose content is the cell of column `index` as written."""

        def render(cells: tuple[str, ...]) -> str:
            return cells[index]

        return cls(render, (index,))

    @classmethod
    def from_text(cls, text: str, columns: Sequence[str]) -> Template:
        """Compile `text`; InputError when it has a syntax error or names an unknown column."""
        env = _environment()
        try:
            tree = env.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(
                f"template line {exc.lineno}: {exc.message}",
                'write columns as {{ name }} or {{ row["First Name"] }}',
            ) from None
        variables = _variables(columns)
        used = sorted(meta.find_undeclared_variables(tree) - set(env.globals))
        unknown = [v for v in used if v != ROW_VARIABLE and v not in variables]
        _check_row_keys(tree, columns, unknown)
        if unknown:
            raise _unknown_error(unknown, columns, variables)
        bindings = tuple((v, variables[v]) for v in used if v in variables)
        plain = _plain_format(tree, dict(bindings), columns)
        if plain is not None:
            pattern, plain_fields = plain
            return cls(lambda cells: pattern.format(*cells), plain_fields)
        compiled = env.from_string(tree)
        root, new_context, concat = compiled.root_render_func, compiled.new_context, env.concat
        needs_row = ROW_VARIABLE in used and ROW_VARIABLE not in variables
        row_keys = _row_keys(columns) if needs_row else ()

        def render(cells: tuple[str, ...]) -> str:
            context: dict[str, object] = {name: cells[i] for name, i in bindings}
            if needs_row:
                context[ROW_VARIABLE] = {key: cells[i] for key, i in row_keys}
            try:
                # What Template.render does, minus the per-call argument handling.
                return concat(root(new_context(context)))
            except Exception as exc:  # any failure inside one row's rendering is that row's
                raise RenderError(f"template: {_reason(exc)}") from exc

        return cls(render, tuple(sorted({i for _, i in (*bindings, *row_keys)})))

    def render(self, cells: tuple[str, ...]) -> str:
        """Return the content for one row's cells; RenderError when the template fails on it."""
        return self._render(cells)


def _plain_format(
    tree: nodes.Template, bindings: dict[str, int], columns: Sequence[str]
) -> tuple[str, tuple[int, ...]] | None:
    """Return a str.format pattern when the template only places cells in text, else None."""
    # Most campaign templates are "Hi {{ name }}, ...": str.format renders those about 20 times
    # faster than a Jinja2 context per row, which matters on a million rows.
    parts: list[str] = []
    fields: set[int] = set()
    row_keys = dict(_row_keys(columns))
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data.replace("{", "{{").replace("}", "}}"))
                continue
            if isinstance(node, nodes.Name) and node.name in bindings:
                index = bindings[node.name]
            elif (
                isinstance(node, nodes.Getitem)
                and isinstance(node.node, nodes.Name)
                and node.node.name == ROW_VARIABLE
                and ROW_VARIABLE not in bindings
                and isinstance(node.arg, nodes.Const)
                and node.arg.value in row_keys
            ):
                index = row_keys[node.arg.value]
            else:
                return None
            parts.append(f"{{{index}}}")
            fields.add(index)
    return "".join(parts), tuple(sorted(fields))


def _environment() -> SandboxedEnvironment:
    """Return the Jinja2 environment: sandboxed, strict about undefined names, no escaping."""
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


def _variables(columns: Sequence[str]) -> dict[str, int]:
    """Map each unambiguous template variable to its column: exact header, then normalised."""
    exact: dict[str, list[int]] = {}
    normalised: dict[str, list[int]] = {}
    for i, column in enumerate(columns):
        if column.isidentifier():
            exact.setdefault(column, []).append(i)
        name = variable_name(column)
        if name:
            normalised.setdefault(name, []).append(i)
    variables = {name: hits[0] for name, hits in normalised.items() if len(set(hits)) == 1}
    # A header written exactly as the variable wins over another header that normalises to it.
    variables.update({name: hits[0] for name, hits in exact.items() if len(hits) == 1})
    for name, hits in exact.items():
        if len(hits) > 1:
            variables.pop(name, None)
    return variables


def _row_keys(columns: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Return the row-dict keys (header names) with their columns; the first duplicate wins."""
    keys: dict[str, int] = {}
    for i, column in enumerate(columns):
        keys.setdefault(column, i)
    return tuple(keys.items())


def _check_row_keys(tree: nodes.Template, columns: Sequence[str], unknown: list[str]) -> None:
    """Add to `unknown` every `row["X"]` / `row.X` whose X is no header (caught before any row)."""
    for node in tree.find_all((nodes.Getitem, nodes.Getattr)):
        key: object = None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        elif isinstance(node, nodes.Getattr) and not hasattr(dict, node.attr):
            key = node.attr  # row.get(...) and friends are the dict's own methods
        target = getattr(node, "node", None)
        # A computed key (row[name]) can only be checked while rendering.
        if not (isinstance(target, nodes.Name) and target.name == ROW_VARIABLE):
            continue
        if not isinstance(key, str):
            continue
        hits = [i for i, column in enumerate(columns) if column == key]
        if not hits:
            unknown.append(f'row["{key}"]')
        elif len(hits) > 1:
            raise InputError(
                f'template: row["{key}"] is ambiguous: columns '
                + ", ".join(str(i + 1) for i in hits)
                + f' are all called "{key}"',
                "rename the duplicate columns so each header is unique",
            )


def _unknown_error(
    unknown: list[str], columns: Sequence[str], variables: dict[str, int]
) -> InputError:
    """Return the error for template names that match no column, listing how to write each."""
    available = ", ".join(_spelling(i, c, variables) for i, c in enumerate(columns))
    return InputError(
        f"template names unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
        f"columns: {available or '(none)'}",
        "fix the name in the template, or add the column to the file",
    )


def _spelling(index: int, column: str, variables: dict[str, int]) -> str:
    """Return how a template refers to a column: its header, its normalised name, or row[...]."""
    for name in (column, variable_name(column)):
        if variables.get(name) == index:
            return f"{{{{ {name} }}}}" if name == column else f"{column} ({{{{ {name} }}}})"
    return f'{column} ({{{{ row["{column}"] }}}})'


def _reason(exc: Exception) -> str:
    """Return a one-line reason for a rendering failure."""
    if isinstance(exc, jinja2.UndefinedError):
        return exc.message or "undefined value"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
