"""The packaged step library (``policy_rules.testing``) on a policy of its own, as an officer's project would use it.

Each test writes a small project (a policy, feature files, a facts file, the
one-line module that binds the scenarios) into a temporary folder and runs
pytest on it in a process of its own, so that the plugin is found the way
any project finds it: through its ``pytest11`` entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

POLICY = """
policy "School trips"
  version "1"
  service name trip
  outcome approval
  element outcomes pupil_place

document guide "Trips guide"
  sections "Cost", "Consent"

record pupil
  field name is text
  field consent is yes/no
  field born is date

fact trip is text
  means "the trip's name"

fact cost is money
  means "what the trip costs"
  asks "What does the trip cost?"

fact budget is money
  means "the school's budget for the trip"

fact overnight is yes/no
  means "the trip is away overnight"

fact pupils is list of pupil
  means "the pupils asked to go"
  default empty

decision approval
  means "whether the trip goes ahead"
  outcomes approved, refused, refer

rule approve_by_default
  by default approval is approved
  because "a trip is approved unless something stands in its way"
  cites guide section "Cost"

rule refuse_over_budget
  exception to approve_by_default
  when cost is above budget
  then approval is refused
  because "a trip the school cannot pay for does not go"
  cites guide section "Cost"

rule refer_overnight
  exception to refuse_over_budget
  when overnight
  then approval is refer
  because "the head decides on every overnight trip"
  cites guide section "Consent"

decision pupil_place for each p in pupils
  means "whether a pupil goes"
  outcomes going, staying

rule goes_by_default
  by default pupil_place is going
  because "a pupil asked to go goes"
  cites guide section "Consent"

rule stays_without_consent
  exception to goes_by_default
  when not p.consent
  then pupil_place is staying
  because "no pupil goes without a parent's consent"
  cites guide section "Consent"
"""

DAY_TRIP = """\
trip: Museum visit
cost: £800
budget: £1,000
overnight: no
pupils:
  - {name: Ann, consent: yes, born: 2015-03-01}
  - {name: Bo, consent: no, born: 2015-09-12}
"""

TWO_TRIPS = """\
as_of: 2023-09-01
services:
  - {trip: Farm, cost: £50, budget: £100, overnight: no}
  - {trip: Castle, cost: £500, budget: £100, overnight: no}
"""

PASSING = """\
Feature: School trips
  Background:
    Given the policy in "../policies/trips"

  Scenario: A trip within budget, from a facts file
    Given the service in "cases/day-trip.yaml"
    When the rules are applied as at 2024-05-01
    Then the outcome is approved
    And the outcome is decided by the rule approve_by_default
    And the deciding rule cites the section "Cost"
    And the deciding rule cites guide section "Cost"
    And the rule stays_without_consent cites guide section "Consent"
    And no facts are needed
    And there are no reasons
    And the rule refuse_over_budget does not apply
    And the rule approve_by_default decides
    And the explanation says "Service: Museum visit"
    And the explanation says "as at 2024-05-01"
    And the element outcomes are:
      | name | outcome |
      | Ann  | going   |
      | Bo   | staying |

  Scenario: Facts and a list of records in tables, read as a facts file reads them
    Given a service called "Zoo" with these facts:
      | fact      | value  |
      | cost      | £1,200 |
      | budget    | 1000   |
      | overnight | false  |
    And the service has these pupils:
      | name | consent | born       |
      | Cy   | yes     | 2016-02-29 |
      | Di   |         | 2014-01-01 |
    When the rules are applied
    Then the outcome is refused
    And the rule approve_by_default is overridden by refuse_over_budget
    And the rule refer_overnight does not apply
    And the facts needed are pupils[1].consent
    And the facts needed are:
      | fact              |
      | pupils[1].consent |
    And the element outcomes are:
      | name | outcome      |
      | Cy   | going        |
      | Di   | undetermined |
    And the explanation says "Service: Zoo"

  Scenario: A fact changed to unknown in a file's service is asked for
    Given the service in "cases/day-trip.yaml", except:
      | fact | value   |
      | cost | unknown |
    When the rules are applied
    Then the outcome is undetermined
    And no rule decides the outcome
    And the rule refuse_over_budget is not known yet
    And the facts needed are:
      | fact | question                 |
      | cost | What does the trip cost? |
    And the officer is asked "What does the trip cost?"

  Scenario: Facts changed one by one
    Given the service in "cases/day-trip.yaml"
    And the service is called "Camp"
    And overnight is yes
    And budget is not known
    And the service has no pupils
    When the rules are applied
    Then the outcome is refer
    And the decision approval is refer
    And the rule refer_overnight decides
    And the rule refuse_over_budget is not known yet
    And the explanation does not say "Museum visit"
    And the element outcomes are:
      | name | outcome |

  Scenario: One service of a file holding several, chosen by its name
    Given the service "Farm" in "cases/two-trips.yaml"
    And these facts:
      | fact   | value |
      | budget | £10   |
    When the rules are applied
    Then the outcome is refused
    And the explanation says "Service: Farm"
    And the explanation says "as at 2023-09-01"

  Scenario: The service of a case in a case file, on the case's date
    Given the service of the case "overnight camp" in "cases/trips-cases.yaml"
    When the rules are applied
    Then the outcome is refer
    And the explanation says "as at 2024-06-30"
"""

CASES = """\
as_of: 2024-06-30
cases:
  - name: museum
    facts: {cost: £10, budget: £20}
    expect: {outcome: approved}
  - name: overnight camp
    facts: {cost: £10, budget: £20, overnight: yes}
    expect: {outcome: refer}
"""

BY_INI = """\
Feature: The policy named by the ini option
  Scenario: No step names the policy
    Given a service with these facts:
      | cost   | £2,000 |
      | budget | £1,000 |
    And overnight is no
    When the policy is applied
    Then the outcome is refused
"""

FAILING = """\
Feature: Mistakes an officer makes
  Background:
    Given the policy in "policies/trips"

  Scenario: A misspelt fact
    Given the service in "cases/day-trip.yaml"
    And overnigt is yes
    When the rules are applied
    Then the outcome is refer

  Scenario: A misspelt field of a record
    Given a service with these facts:
      | cost   | £1 |
      | budget | £1 |
    And the service has these pupils:
      | name | consnt |
      | Ed   | yes    |
    When the rules are applied
    Then the outcome is approved

  Scenario: A wrong expectation
    Given the service in "cases/day-trip.yaml"
    When the rules are applied
    Then the outcome is refused

  Scenario: A misspelt rule
    Given the service in "cases/day-trip.yaml"
    When the rules are applied
    Then the rule refuse_overbudget does not apply

  Scenario: A facts file that is not there
    Given the service in "cases/no-such-file.yaml"

  Scenario: A file of several services, none named
    Given the service in "cases/two-trips.yaml"

  Scenario: A misspelt case
    Given the service of the case "museum visit" in "cases/trips-cases.yaml"
"""

NO_POLICY = """\
Feature: No policy named
  Scenario: Nothing names the policy
    Given a service with these facts:
      | cost | £1 |
    When the rules are applied
"""


def project(tmp_path: Path, ini: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[tool.pytest.ini_options]\npolicy_rules_coverage = "report"\n{ini}', encoding="utf-8")
    (tmp_path / "policies" / "trips").mkdir(parents=True)
    (tmp_path / "policies" / "trips" / "policy.rules").write_text(POLICY, encoding="utf-8")
    for folder in ("good", "bad"):
        (tmp_path / folder / "cases").mkdir(parents=True)
        (tmp_path / folder / "cases" / "day-trip.yaml").write_text(DAY_TRIP, encoding="utf-8")
        (tmp_path / folder / "cases" / "two-trips.yaml").write_text(TWO_TRIPS, encoding="utf-8")
        (tmp_path / folder / "cases" / "trips-cases.yaml").write_text(CASES, encoding="utf-8")
        (tmp_path / folder / f"test_{folder}.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n', encoding="utf-8")
    (tmp_path / "good" / "trips.feature").write_text(PASSING, encoding="utf-8")
    (tmp_path / "good" / "by_ini.feature").write_text(BY_INI, encoding="utf-8")
    (tmp_path / "bad" / "mistakes.feature").write_text(FAILING, encoding="utf-8")
    (tmp_path / "bad" / "no_policy.feature").write_text(NO_POLICY, encoding="utf-8")
    return tmp_path


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-rf", *args]
    env = {**os.environ, "POLICY_RULES_CACHE": "off"}
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_every_step_passes_on_a_policy_of_its_own(tmp_path: Path) -> None:
    done = pytest_in(project(tmp_path, 'policy_rules_policy = "policies/trips"\n'), "good")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 passed" in done.stdout
    assert "Rule coverage of policies/trips:" in done.stdout


def test_each_mistake_fails_its_scenario_saying_what_to_write(tmp_path: Path) -> None:
    done = pytest_in(project(tmp_path), "bad")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "8 failed" in out
    assert "there is no fact called `overnigt` in this policy; did you mean `overnight`?" in out
    assert "a pupil has no field `consnt`" in out and "did you mean `consent`?" in out
    assert "the outcome is approved, not refused" in out
    assert "the rule refuse_overbudget is not in the explanation of this decision; did you mean `refuse_over_budget`?" in out
    assert 'there is no "cases/no-such-file.yaml"' in out
    assert "cases/trips-cases.yaml holds no case called 'museum visit'; its cases are 'museum', 'overnight camp'; did you mean `museum`?" in out
    assert 'cases/two-trips.yaml holds 2 services; say which, as in  Given the service "NAME" in "cases/two-trips.yaml"' in out
    assert 'no policy named: say which with a step such as  Given the policy in "rules/haringey"  (or set the ini option policy_rules_policy)' in out
    assert "Traceback" not in out
