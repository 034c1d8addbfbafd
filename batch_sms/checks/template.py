"""Render each row's message from a Jinja2 template (column detection lives in `columns`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import jinja2
from jinja2 import StrictUndefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from batch_sms.errors import InputError, RenderError
from batch_sms.input.columns import CONTENT_NAMES, PHONE_NAMES, detect_column

__all__ = ["CONTENT_NAMES", "PHONE_NAMES", "Template", "detect_column", "variable_name"]

ROW_VARIABLE = "row"  # the dict of all cells by header name, for headers that aren't identifiers


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
            check = _empty_check(plain_fields, columns)

            def render_plain(cells: tuple[str, ...]) -> str:
                check(cells)
                return pattern.format(*cells)

            return cls(render_plain, plain_fields)
        compiled = env.from_string(tree)
        root, new_context, concat = compiled.root_render_func, compiled.new_context, env.concat
        needs_row = ROW_VARIABLE in used and ROW_VARIABLE not in variables
        row_keys = _row_keys(columns) if needs_row else ()
        required, optional = _uses(tree, dict(bindings), dict(row_keys))
        check = _empty_check(required, columns)

        def render(cells: tuple[str, ...]) -> str:
            check(cells)
            # A blank cell used only under `default(...)` is left undefined, so the default shows.
            context: dict[str, object] = {
                name: cells[i] for name, i in bindings if i not in optional or cells[i].strip()
            }
            if needs_row:
                context[ROW_VARIABLE] = {
                    key: cells[i] for key, i in row_keys if i not in optional or cells[i].strip()
                }
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


_DEFAULT_FILTERS = frozenset({"default", "d"})


def _uses(
    tree: nodes.Template, bindings: dict[str, int], row_keys: dict[str, int]
) -> tuple[tuple[int, ...], frozenset[int]]:
    """Columns whose blank cell makes a row invalid, and those left undefined when blank.

    A column placed as is must not be blank. One used only under `default(...)` is passed as
    undefined when blank, so `{{ name | default("there") }}` shows "there"; one tested by the
    template itself (`{% if name %}`, `name is defined`, `name or "there"`) is the template's.
    """
    uses: dict[int, set[str]] = {}

    def visit(node: nodes.Node, how: str) -> None:
        index = None
        if isinstance(node, nodes.Name) and node.ctx == "load":
            index = bindings.get(node.name)
        elif (
            isinstance(node, nodes.Getitem | nodes.Getattr)
            and isinstance(node.node, nodes.Name)
            and node.node.name == ROW_VARIABLE
            and ROW_VARIABLE not in bindings
        ):
            key: object = node.attr if isinstance(node, nodes.Getattr) else None
            if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                key = node.arg.value
            index = row_keys.get(key) if isinstance(key, str) else None
        if index is not None:
            uses.setdefault(index, set()).add(how)
            return
        for field_name, value in node.iter_fields():
            for child in value if isinstance(value, list) else [value]:
                if not isinstance(child, nodes.Node):
                    continue
                child_how = how
                if isinstance(node, nodes.Filter) and field_name == "node":
                    child_how = "default" if node.name in _DEFAULT_FILTERS else how
                elif (
                    isinstance(node, nodes.Test)
                    or (isinstance(node, nodes.If | nodes.CondExpr) and field_name == "test")
                    or (isinstance(node, nodes.Or) and field_name == "left")
                ):
                    child_how = "tested"
                visit(child, child_how)

    visit(tree, "placed")
    required = tuple(
        sorted(i for i, hows in uses.items() if "placed" in hows and "tested" not in hows)
    )
    optional = frozenset(i for i, hows in uses.items() if hows == {"default"})
    return required, optional


def _empty_check(
    fields: Sequence[int], columns: Sequence[str]
) -> Callable[[tuple[str, ...]], None]:
    """A check raising RenderError that names the template's columns blank in a row."""

    def check(cells: tuple[str, ...]) -> None:
        for i in fields:
            if not cells[i].strip():
                break
        else:
            return
        empty = [f'"{columns[i]}"' for i in fields if not cells[i].strip()]
        many = len(empty) > 1
        raise RenderError(
            f"template: column{'s' if many else ''} {', '.join(empty)} "
            f"{'are' if many else 'is'} empty in this row; fill "
            f"{'them' if many else 'it'} in, or give the template a default, "
            '{{ name | default("…") }}'
        )

    return check


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
