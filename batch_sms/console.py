"""What the commands print: plan and summary tables, progress, the `--json` line."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from batch_sms.checks import gsmsafe
from batch_sms.checks.costs import headroom_text
from batch_sms.checks.preflight import Plan
from batch_sms.checks.reasons import group_reasons
from batch_sms.commands.outcome import RunOutcome
from batch_sms.dispatch.eta import RateEstimate, eta_seconds
from batch_sms.errors import UsageError
from batch_sms.models import STATUS_ORDER, STATUS_STYLE, duration_text
from batch_sms.provider.nxcloud import Balance
from batch_sms.report.summary import TOP_REASONS

__all__ = ["Screen"]


def money_text(value: float | None, currency: str) -> str:
    """An amount in its currency, or why it is not known."""
    if value is None:
        return "unknown (no price)"
    return f"{value:,.4f} {currency}".strip()


def balance_text(balance: Balance) -> str:
    """The balance, or why it is not known (the provider's answer, or a local reason)."""
    if balance.balance is not None:
        return f"{balance.balance:,.2f}"
    if balance.code == "0":
        return "unknown (the provider's answer holds no balance)"
    why = balance.result or "no reason given"
    return f"unknown: {why} (code {balance.code})"


def plan_duration(seconds: float | None) -> str:
    """How long a send will take, or that it goes as fast as the provider answers."""
    if seconds is None:
        return "as fast as the provider answers"
    return duration_text(seconds)


class Screen:
    """The CLI's Ui: rich on a terminal, plain lines otherwise, nothing but errors when quiet."""

    def __init__(self, *, quiet: bool = False, as_json: bool = False, assume_yes: bool = False):
        self.quiet = quiet
        self.as_json = as_json
        self.assume_yes = assume_yes
        # With --json, stdout carries only the JSON line; everything else goes to stderr.
        self.out = Console(stderr=as_json, highlight=False, soft_wrap=True)
        self.interactive = sys.stdin.isatty() and self.out.is_terminal
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_line = 0.0
        self._last_done = -1
        self._rate = RateEstimate()  # smoothed: the time left does not swing with each burst

    # Ui protocol -------------------------------------------------------------------------
    def note(self, text: str) -> None:
        """A line of information."""
        if not self.quiet:
            self.out.print(text)

    def confirm(self, plan: Plan) -> bool:
        """Show the plan and ask; without a terminal, refuse unless --yes was given."""
        if not self.quiet or not self.assume_yes:
            self.show_plan(plan)
        if self.assume_yes:
            return True
        if not self.interactive:
            raise UsageError("not asking for confirmation without a terminal", "add --yes to send")
        return click.confirm("Send now?", default=False)

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Nothing: on the command line Ctrl-C reaches the dispatch as a signal."""

    def progress(self, update: Any) -> None:
        """Dispatch progress: a live bar on a terminal, a line every few seconds otherwise."""
        if self.quiet:
            return
        counts = dict(getattr(update, "counts", {}) or {})
        done, total = int(update.done), int(update.total)
        if total == 0:  # nothing of this run's own to send: no "0/0 done"
            return
        text = " ".join(f"{k} {v}" for k, v in counts.items() if v)
        rate = getattr(update, "rate", 0.0) or 0.0
        eta = eta_seconds(total - done, self._rate.update(done, time.monotonic()))
        left = "" if eta is None or done >= total else f", about {plan_duration(eta)} left"
        if self.out.is_terminal:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("sending"),
                    BarColumn(),
                    TaskProgressColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    TextColumn("{task.fields[info]}"),
                    console=self.out,
                    transient=False,
                )
                self._progress.start()
                self._task = self._progress.add_task("send", total=total, info="")
            self._progress.update(
                self._task, completed=done, total=total, info=f"{rate:,.0f}/s {text}{left}"
            )
            if done >= total:
                self._stop_progress()
        else:
            now = time.monotonic()
            final = done >= total
            if final and self._last_done == done:
                return
            if now - self._last_line >= 2.0 or final:
                self._last_line, self._last_done = now, done
                self.out.print(f"{done:,}/{total:,} done, {rate:,.0f}/s: {text}{left}")

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # Printing ----------------------------------------------------------------------------
    def show_plan(self, plan: Plan) -> None:
        """The plan a user confirms, after the line saying how the input was read."""
        if plan.input_line:
            self.out.print(plan.input_line, markup=False, highlight=False, soft_wrap=True)
        table = Table(title="Plan", show_header=False, title_justify="left")
        table.add_column("what")
        table.add_column("value", justify="right")
        table.add_row("rows", f"{plan.rows:,}")
        for status in STATUS_ORDER:
            if plan.rows_by_status.get(status):
                table.add_row(
                    f"  {status}",
                    f"[{STATUS_STYLE.get(status, '')}]{plan.rows_by_status[status]:,}[/]",
                )
        table.add_row("messages to send", f"{plan.messages_ready:,}")
        if plan.requests_ready not in (None, plan.messages_ready):  # --group
            table.add_row("  in requests", f"{plan.requests_ready:,}")
        table.add_row("billed segments", f"{plan.segments_ready:,}")
        if plan.gsm_safe is not None:
            for label, value in gsmsafe.saving_lines(plan.gsm_safe, plan.currency):
                table.add_row(f"  {label}", f"{value:,}" if isinstance(value, int) else value)
        cost = plan.cost
        priced = None if cost.unpriced and not cost.cost else cost.cost
        table.add_row("estimated cost", money_text(priced, plan.currency))
        if cost.unpriced and cost.cost:
            table.add_row("  not priced", ", ".join(f"+{c}" for c in cost.unpriced))
        if plan.ceiling is not None:
            self._ceiling_rows(table, plan)
        table.add_row("estimated duration", plan_duration(plan.seconds))
        if plan.balance is not None:
            known = plan.balance.balance
            table.add_row("account balance", balance_text(plan.balance))
            if known is not None and priced is not None and priced > known:
                table.add_row("", "[red]the balance does not cover the estimate[/]")
        self.out.print(table)
        if plan.short_link:
            line = f"short link: {plan.short_link}"
            self.out.print(line, markup=False, highlight=False, soft_wrap=True)
        for note in plan.notes:
            self.out.print(f"[yellow]note:[/] {note}")
        self.show_problems(plan)

    @staticmethod
    def _ceiling_rows(table: Table, plan: Plan) -> None:
        """The cost ceiling and what stays under it, or why a send would be refused."""
        ceiling, currency = plan.ceiling, plan.currency
        if ceiling is None:
            return
        table.add_row("cost ceiling (--max-cost)", money_text(ceiling.limit, currency))
        if plan.cost.unpriced:
            codes = ", ".join(f"+{c}" for c in plan.cost.unpriced)
            table.add_row("", f"[red]no price for {codes}: send refuses to start[/]")
        elif ceiling.headroom < 0:
            table.add_row(
                "  headroom", f"[red]{headroom_text(ceiling, currency)}: send refuses to start[/]"
            )
        else:
            table.add_row("  headroom", headroom_text(ceiling, currency))

    def show_outcome(self, outcome: RunOutcome) -> None:
        """The summary at the end of a command, and the next command to run."""
        self._stop_progress()
        if self.as_json:
            click.echo(json.dumps(outcome.as_json(), ensure_ascii=False))
        if self.quiet:
            return
        if outcome.plan is not None and outcome.status in {"ready", "not-ready", "dry-run"}:
            self.show_plan(outcome.plan)
        if outcome.run_id:  # no run id: the command made no run (nothing to retry, cancelled)
            self._outcome_table(outcome)
        else:
            self.out.print(f"{outcome.command}: {outcome.status}; no run was made")
        if outcome.stop_reason:
            self.out.print(f"[red]stopped:[/] {outcome.stop_reason}")
        if outcome.report is not None:
            self.out.print(f"report: {outcome.report}")
        for step in outcome.next_steps:
            self.out.print(f"next: {step}")

    def _outcome_table(self, outcome: RunOutcome) -> None:
        """The rows of a run by status."""
        table = Table(
            title=f"{outcome.command} {outcome.run_id}: {outcome.status}", title_justify="left"
        )
        table.add_column("status")
        table.add_column("rows", justify="right")
        for status in STATUS_ORDER:
            if outcome.counts.get(status):
                table.add_row(
                    f"[{STATUS_STYLE.get(status, '')}]{status}[/]", f"{outcome.counts[status]:,}"
                )
        self.out.print(table)

    def show_problems(self, plan: Plan, limit: int = 30) -> None:
        """The rows that will not be sent, and why (the report has them all)."""
        if not plan.problems:
            return
        kinds = Table(title="Why rows will not be sent", title_justify="left")
        for name in ("reason", "numbers", "e.g. rows"):
            kinds.add_column(name)
        grouped = group_reasons((row, why) for row, _, _, why in plan.problems)
        for label, count, rows in grouped[:TOP_REASONS]:
            kinds.add_row(escape(label), f"{count:,}", ", ".join(map(str, rows)))
        if len(grouped) > TOP_REASONS:
            kinds.add_row("(other reasons)", f"{sum(c for _, c, _ in grouped[TOP_REASONS:]):,}", "")
        self.out.print(kinds)
        table = Table(title="Rows that will not be sent", title_justify="left")
        for name in ("row", "phone", "status", "why"):
            table.add_column(name)
        for row, phone, status, why in plan.problems[:limit]:
            style = STATUS_STYLE.get(status, "")
            table.add_row(str(row), escape(phone), f"[{style}]{status}[/]", escape(why))
        self.out.print(table)
        more = len(plan.problems) - limit
        if more > 0:
            self.out.print(f"… and {more:,} more rows: see the report")

    def show_runs(self, runs: list[dict[str, Any]], state: Path, hint: str = "") -> None:
        """The `runs` table, after the state db it was read from; run ids are never cut, however
        narrow the terminal or pipe."""
        self.out.print(f"state db: {state}", markup=False, highlight=False, soft_wrap=True)
        if not runs:
            self.out.print("no runs yet")
        else:
            self._runs_table(runs)
        if hint:
            self.out.print(f"note: {hint}")

    def _runs_table(self, runs: list[dict[str, Any]]) -> None:
        """The table of `show_runs`."""
        table = Table(title="Runs", title_justify="left")
        ids = max(len(run["run_id"]) for run in runs)
        parents = max(len(run["parent"] or "") for run in runs)
        table.add_column("run", no_wrap=True, min_width=ids)
        # The other cells wrap rather than end in "…": a cut date or file name tells nothing.
        table.add_column("created (UTC)", min_width=10, overflow="fold")
        for name in ("input", "status", "counts"):
            table.add_column(name, overflow="fold")
        table.add_column("parent", no_wrap=True, min_width=parents)
        for run in runs:
            counts = ", ".join(f"{k} {v}" for k, v in run["counts"].items() if v)
            table.add_row(
                run["run_id"],
                run["created"],
                run["input"],
                run["status"],
                counts,
                run["parent"] or "",
            )
        self.out.print(table)
