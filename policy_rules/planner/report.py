"""Renderers of the insourcing programme (``policy_rules.planner``): text, CSV, JSON, and an HTML page with its charts.

They only read the ``Plan``; they never plan. Every name from a register is
escaped for its medium (``safety.escape``): terminal controls shown, spreadsheet
formulas defused, HTML escaped by Jinja2's autoescape. The charts are drawn
by matplotlib as SVG inside the page, so the page needs no network.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from policy_rules.errors import UsageError
from policy_rules.planner import quarters as qt
from policy_rules.safety.escape import for_csv_cell, for_terminal

if TYPE_CHECKING:
    from policy_rules.planner.plan import Plan, PlannedService

_t = for_terminal

CSV_COLUMNS = (
    "service",
    "outcome",
    "priority",
    "quarter",
    "reason",
    "waits_for",
    "earliest_quarter",
    "contract_end_date",
    "preparation_from",
    "staff",
    "added_cost",
    "extension_quarters",
    "in_house_parts",
    "external_parts",
    "needed_facts",
)

#: The most services the Gantt chart draws; the table below it lists every one.
GANTT_ROWS = 150


def money(value: int | None) -> str:
    return "" if value is None else f"£{value:,}"


def to_json(plan: Plan) -> str:
    """The plan's JSON (``interfaces.md``, "The plan"); non-ASCII written as escapes, so no character can act on a terminal."""
    return json.dumps(plan.to_dict(), indent=2, ensure_ascii=True) + "\n"


def to_csv(plan: Plan) -> str:
    """One row per service of the register, in its order; every text cell defused for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in plan.services:
        row = s.to_dict()
        cells = []
        for column in CSV_COLUMNS:
            value = row[column]
            if isinstance(value, list):
                value = "; ".join(value)
            cells.append("" if value is None else for_csv_cell(str(value)))
        writer.writerow(cells)
    return out.getvalue()


def _capacity_line(plan: Plan) -> str:
    s = plan.settings
    staff = f"{s['staff_per_quarter']:,} staff a quarter" if s["staff_per_quarter"] is not None else "no limit on staff a quarter"
    budget = f"{money(s['budget_per_year'])} of added yearly cost a programme year" if s["budget_per_year"] is not None else "no limit on added yearly cost"
    prep = s["preparation_quarters"]
    return f"{staff}; {budget}; phased services prepare for {prep} quarter{'s' * (prep != 1)}"


def _service_line(s: PlannedService) -> str:
    parts = f" (in-house parts: {', '.join(s.in_house_parts)})" if s.in_house_parts else ""
    return _t(f"  {s.service} [{s.priority}, {s.outcome}{parts}]: {s.reason}")


def to_text(plan: Plan) -> str:
    """The programme quarter by quarter, then what is not scheduled, not in-house, not yet plannable, and the contracts to extend."""
    lines = [
        f"Insourcing programme {plan.start} to {plan.last}: {plan.status}",
        f"Capacity: {_capacity_line(plan)}",
        _t(f"Policy: {plan.policy.name}, version {plan.policy.version}, {plan.policy.digest}, as at {plan.as_of}"),
    ]
    by_quarter: dict[str, list[PlannedService]] = {}
    for s in plan.scheduled:
        by_quarter.setdefault(s.quarter or "", []).append(s)
    for use in plan.quarters:
        moving = by_quarter.get(use.quarter, [])
        cap = f" of {use.staff_capacity:,}" if use.staff_capacity is not None else ""
        budget = f" of {money(use.budget_per_year)}" if use.budget_per_year is not None else ""
        lines.append("")
        lines.append(
            f"{use.quarter}: {len(moving)} service{'s' * (len(moving) != 1)}, {use.staff:,}{cap} staff, {money(use.added_cost)} added a year "
            f"(year {use.year}: {money(use.year_added_cost)}{budget})"
        )
        lines.extend(_service_line(s) for s in sorted(moving, key=_order))
    groups = (
        ("Brought in-house but not scheduled", [s for s in plan.services if s.quarter is None and s.earliest_quarter is not None]),
        ("Cannot be planned yet (facts needed)", [s for s in plan.services if "needs_facts" in s.waits_for]),
        ("Not brought in-house", [s for s in plan.services if "not_in_house" in s.waits_for]),
    )
    for title, members in groups:
        if members:
            lines += ["", f"{title}: {len(members)}"]
            lines.extend(_service_line(s) for s in members)
    if plan.extensions:
        lines += ["", f"Contracts to run past their end: {len(plan.extensions)}"]
        for e in plan.extensions:
            how = f"{e.quarters} quarter{'s' * (e.quarters != 1)}, into {e.moves_in}" if e.quarters is not None else f"past {plan.last} (not scheduled)"
            lines.append(_t(f"  {e.service}: ends {e.contract_end_date} ({e.ends_in}); extend {how}"))
    lines += ["", "Readings:"]
    lines.extend(f"  - {r}" for r in plan.readings)
    return "\n".join(lines) + "\n"


def _order(s: PlannedService) -> tuple[int, str]:
    return (0 if s.priority == "high" else 1, s.service)


# --- HTML -----------------------------------------------------------------------------------


def _charts_missing() -> UsageError:
    return UsageError("the HTML plan needs matplotlib and Jinja2, which are not installed; install them with `pip install 'policy-rules[plan]'`", "--format")


def _svg(figure: Any) -> str:
    """A matplotlib figure as SVG markup to put inside a page: text kept as text (escaped by matplotlib), no date, stable ids."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "policy-rules-plan"}):
        figure.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]


def gantt_rows(plan: Plan) -> list[PlannedService]:
    """The services the Gantt chart draws, in its order: the scheduled ones by quarter, then those not scheduled whose contracts must run on."""
    index = {q.quarter: i for i, q in enumerate(plan.quarters)}
    extended = {e.service for e in plan.extensions if e.moves_in is None}
    unscheduled = [s for s in plan.services if s.quarter is None and s.service in extended]
    return [*sorted(plan.scheduled, key=lambda s: (index[s.quarter or ""], *_order(s))), *unscheduled]


def gantt_svg(plan: Plan, limit: int = GANTT_ROWS) -> str:
    """The programme as a Gantt chart: for each service, its contract, any extension, its preparation and its move.

    Every contract extension the text lists is drawn (each bar's id is
    ``extension-N``): the chart starts at the earliest quarter such a contract
    ended in, before the programme when one ended before it, and a service
    that cannot be scheduled is drawn with its contract running past the end.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    horizon = len(plan.quarters)
    index = {q.quarter: i for i, q in enumerate(plan.quarters)}
    rows = gantt_rows(plan)[:limit]
    prep = plan.settings["preparation_quarters"]
    figure = Figure(figsize=(10, 1.2 + 0.24 * max(len(rows), 1)))
    ax = figure.add_subplot()
    colours = {"contract": "#c8c8c8", "extension": "#d62728", "preparation": "#f2b134", "high": "#1f4e9c", "standard": "#4fa3a5"}
    first = qt.parse_start(plan.start)
    extended = {e.service for e in plan.extensions}
    ends = [qt.of_date(date.fromisoformat(s.contract_end_date)) - first if s.contract_end_date else None for s in rows]
    lo = min([0, *(end for s, end in zip(rows, ends, strict=True) if end is not None and s.service in extended)])
    drawn = 0
    for y, (s, end) in enumerate(zip(rows, ends, strict=True)):
        q = index[s.quarter] if s.quarter is not None else horizon
        end = q if end is None else end
        if min(end, q) > lo:
            ax.barh(y, min(end, q) - lo, left=lo, color=colours["contract"], height=0.6)
        if q > end and s.service in extended:
            drawn += 1
            ax.barh(y, q - max(end, lo), left=max(end, lo), color=colours["extension"], height=0.6, gid=f"extension-{drawn}")
        if s.quarter is None:
            continue
        if s.preparation_from is not None:
            ax.barh(y, prep, left=q - prep, color=colours["preparation"], height=0.6, hatch="//", edgecolor="white")
        ax.barh(y, horizon - q, left=q, color=colours["high" if s.priority == "high" else "standard"], height=0.6, alpha=0.9)
    if lo < 0:
        ax.axvline(0, color="#333333", linewidth=1)
    names = [for_terminal(s.service) + (" (not scheduled)" if s.quarter is None else "") for s in rows]
    ax.set_yticks(range(len(rows)), names, fontsize=8)
    for tick in ax.get_yticklabels():
        tick.set_parse_math(False)
    ax.invert_yaxis()
    ax.set_xticks([i + 0.5 for i in range(lo, horizon)], [qt.label(first + i) for i in range(lo, horizon)], fontsize=8, rotation=45)
    ax.set_xlim(lo, horizon)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    legend = [
        Patch(color=colours["contract"], label="current contract"),
        Patch(color=colours["extension"], label="contract extended past its end"),
        Patch(facecolor=colours["preparation"], hatch="//", edgecolor="white", label="preparation (phased)"),
        Patch(color=colours["high"], label="in-house from its quarter (high priority)"),
        Patch(color=colours["standard"], label="in-house from its quarter (standard)"),
    ]
    ax.legend(handles=legend, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    return _svg(figure)


def capacity_svg(plan: Plan) -> str:
    """Staff moved per quarter against the capacity, and added yearly cost per programme year against the budget."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5.5))
    staff_ax, cost_ax = figure.subplots(2, 1)
    labels = [q.quarter for q in plan.quarters]
    staff_ax.bar(range(len(labels)), [q.staff for q in plan.quarters], color="#1f4e9c", label="staff moved in")
    cap = plan.settings["staff_per_quarter"]
    if cap is not None:
        staff_ax.axhline(cap, color="#d62728", linestyle="--", label=f"capacity ({cap:,} a quarter)")
    staff_ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=45)
    staff_ax.set_ylabel("staff")
    staff_ax.legend(fontsize=8, frameon=False)
    years: dict[int, int] = {}
    for q in plan.quarters:
        years[q.year] = q.year_added_cost
    cost_ax.bar([f"year {y}" for y in years], [v / 1000 for v in years.values()], color="#4fa3a5", label="added yearly cost (£ thousand)")
    budget = plan.settings["budget_per_year"]
    if budget is not None:
        cost_ax.axhline(budget / 1000, color="#d62728", linestyle="--", label=f"budget ({money(budget)} a year)")
    cost_ax.set_ylabel("£ thousand a year")
    cost_ax.legend(fontsize=8, frameon=False)
    figure.tight_layout()
    return _svg(figure)


def to_html(plan: Plan) -> str:
    """A self-contained page: the Gantt chart, the capacity used, and the whole table, with no script and no network."""
    try:
        import jinja2
        import matplotlib  # noqa: F401 - checked here so that a missing library is one clear message
    except ImportError:
        raise _charts_missing() from None
    from markupsafe import Markup

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("policy_rules.planner", "templates"), autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    template = environment.get_template("plan.html")
    return template.render(
        plan=plan,
        capacity=_capacity_line(plan),
        gantt=Markup(gantt_svg(plan)),  # matplotlib's SVG: it escapes the text it writes
        gantt_rows=len(gantt_rows(plan)),
        gantt_limit=GANTT_ROWS,
        chart=Markup(capacity_svg(plan)),
        groups=_html_groups(plan),
        money=money,
        shown=for_terminal,
    )


def _html_groups(plan: Plan) -> Sequence[tuple[str, Sequence[PlannedService]]]:
    index = {q.quarter: i for i, q in enumerate(plan.quarters)}
    return (
        ("Scheduled", sorted(plan.scheduled, key=lambda s: (index[s.quarter or ""], *_order(s)))),
        ("Brought in-house but not scheduled", [s for s in plan.services if s.quarter is None and s.earliest_quarter is not None]),
        ("Cannot be planned yet (facts needed)", [s for s in plan.services if "needs_facts" in s.waits_for]),
        ("Not brought in-house", [s for s in plan.services if "not_in_house" in s.waits_for]),
    )
