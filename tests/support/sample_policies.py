"""Rule texts shared by the tests of the generated paths: every form of the language, and hostile names."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

HOSTILE = """
policy "__import__('os').system('touch /tmp/policy_rules_pwned')"
  outcome exec

fact __class__ is yes/no
fact eval is money
fact print is text

define __builtins__ as eval is at least £10 and __class__
  because "__import__('os').system('touch /tmp/policy_rules_pwned')"

decision exec
  outcomes __init__, __del__

rule os_system
  by default exec is __init__
  because "x"

rule subprocess
  exception to os_system
  when __builtins__ or print is "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('"
  then exec is __del__
  because "y"
"""


EVERY_FORM = """
policy "every form"
  outcome plan
  priority urgency
  reasons why
  element outcomes task

record job
  field name is text
  field hours is number
  field kind is one of small, large
  field due is date

fact jobs is list of job
fact budget is money
fact spend is money
fact staff is whole number
fact region is one of north, south, east
fact preferred is one of north, south, east
fact started is date
fact flag is yes/no
fact note is text
fact extra is yes/no
  default no

parameter rate is percentage
  value 10% from 2020-01-01 until 2022-12-31
  value 20% from 2023-01-01

define margin as budget - spend * (100% + rate)
define tight as margin < £0 or (number of jobs) > staff
define busy as at least 2 of (flag, tight, region is one of (north, preferred), extra)
define why as those of flag, tight, busy that hold

decision plan
  outcomes keep, grow, cut, pause

rule keep_default
  by default plan is keep

rule grow_when_room
  exception to keep_default
  when not tight and (any j in jobs where (j.kind is large and j.hours >= 10))
  then plan is grow

rule cut_when_tight
  exception to keep_default
  when tight and started is before 2024-01-01 and note is not "protected"
  then plan is cut

rule pause_when_every_job_small
  exception to cut_when_tight
  when tight and jobs is not empty and (every j in jobs where j.kind is small)
  then plan is pause

decision urgency
  outcomes high, low

rule low_default
  by default urgency is low

rule high_when_busy
  exception to low_default
  when plan is one of (cut, pause) or (busy and region is preferred)
  then urgency is high

decision task for each j in jobs
  outcomes done, later, keep, grow, cut, pause

rule task_follows
  by default task is plan

rule task_later
  exception to task_follows
  when j.due is after started and (j.hours * 2 > 15 or j.name is known)
  then task is later

rule task_done
  exception to task_later
  when j.kind is small and no k in jobs where k.hours > j.hours
  then task is done
"""


@st.composite
def every_form_facts(draw: st.DrawFn) -> dict[str, Any]:
    regions = st.sampled_from(["north", "south", "east"])
    days = st.dates(date(2022, 1, 1), date(2025, 1, 1)).map(date.isoformat)
    jobs = [
        {"name": f"job {i}", "hours": draw(st.integers(0, 20)), "kind": draw(st.sampled_from(["small", "large"])), "due": draw(days)}
        for i in range(draw(st.integers(0, 3)))
    ]
    facts: dict[str, Any] = {
        "jobs": jobs,
        "budget": draw(st.integers(0, 2000)),
        "spend": draw(st.integers(0, 2000)),
        "staff": draw(st.integers(0, 4)),
        "region": draw(regions),
        "preferred": draw(regions),
        "started": draw(days),
        "flag": draw(st.booleans()),
        "note": draw(st.sampled_from(["protected", "open"])),
    }
    if draw(st.booleans()):
        facts["extra"] = draw(st.booleans())
    return facts
