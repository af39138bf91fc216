"""A small dated policy for the tests of case files and `policy-rules test`: an outcome, a priority, reasons and element outcomes."""

from __future__ import annotations

from pathlib import Path

GRANT = """
policy "Small grant"
  version "1"
  service name applicant
  outcome award
  priority urgency
  reasons grounds
  element outcomes item_award

fact applicant is text
fact income is money
fact carer is yes/no
fact disabled is yes/no

record item
  field name is text
  field costly is yes/no

fact items is list of item
  default empty

parameter income_limit is money
  value £20,000 from 2020-01-01 until 2024-12-31
  value £25,000 from 2025-01-01

define grounds as those of carer, disabled that hold

decision award
  outcomes grant, refuse

rule refuse_by_default
  by default award is refuse
  because "a grant is an exception"

rule grant_on_low_income
  exception to refuse_by_default
  when income is at most income_limit
  then award is grant
  because "the grant is for low incomes"

decision urgency
  outcomes urgent, routine

rule routine_by_default
  by default urgency is routine
  because "most applications are routine"

rule urgent_for_carers
  exception to routine_by_default
  when carer
  then urgency is urgent
  because "carers are seen first"

decision item_award for each it in items
  outcomes grant, refuse, loan

rule item_follows_award
  by default item_award is award
  because "each item follows the application"

rule costly_item_loan
  exception to item_follows_award
  when award is grant and it.costly
  then item_award is loan
  because "costly items are lent"
"""

#: The same policy without its dated parameter: the date of a decision cannot change it.
UNDATED = GRANT.replace(
    """parameter income_limit is money
  value £20,000 from 2020-01-01 until 2024-12-31
  value £25,000 from 2025-01-01
""",
    "",
).replace("income is at most income_limit", "income is at most £25,000")


def write_policy(folder: Path, text: str = GRANT) -> Path:
    """The policy as a rule folder of one file under ``folder``."""
    rules = folder / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "policy.rules").write_text(text, encoding="utf-8")
    return rules
