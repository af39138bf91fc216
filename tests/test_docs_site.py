"""``policy-rules docs``: each cited section with what cites it, each rule with the scenarios and cases that saw it, escaped, openable from disk.

A small policy of its own (a document whose title is markup, three rules, a
feature file with a scenario that passes and one that fails, a case file) is
documented; the pages are read for the traceability they should show, and
opened in headless Chromium (with the bundled policies' sites) to check that
no page logs an error or asks the network for anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from policy_rules import load_policy
from policy_rules.docs.site import build_site
from tests.cli_helpers import ROOT, run_cli

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

RULES = """policy "Grants"
  version "1"
  service name name
  outcome grant

document guide "The <script>alert('guide')</script> & grants"
  sections "Who can apply", "How much", "Appeals"

fact name is text
fact adult is yes/no
  cites guide section "Who can apply" paragraph "2.1"
fact income is money

decision grant
  outcomes full, part, nothing

rule full_by_default
  by default grant is full
  because "a grant is given in full unless the guide says otherwise"
  cites guide section "How much"

rule part_for_adults
  exception to full_by_default
  when adult
  then grant is part
  because "adults are means tested"
  cites guide section "How much" paragraph "3.2"

rule nothing_above_the_limit
  exception to part_for_adults
  when income is above £30,000
  then grant is nothing
"""

FEATURE = """Feature: Grants
  Background:
    Given the policy in "rules"

  Scenario: A child is given the whole grant
    Given a service called "Ann" with these facts:
      | fact   | value |
      | adult  | no    |
      | income | 5000  |
    When the rules are applied
    Then the outcome is full

  Scenario: A wrong expectation fails
    Given a service called "Bob" with these facts:
      | fact   | value |
      | adult  | yes   |
      | income | 10000 |
    When the rules are applied
    Then the outcome is nothing
"""

CASES = """as_of: 2025-01-15
cases:
  - name: an adult on a high income
    facts: {name: Cy, adult: yes, income: 40000}
    expect: {outcome: nothing}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    (folder / "rules").mkdir()
    (folder / "rules" / "grants.rules").write_text(RULES, encoding="utf-8")
    (folder / "features").mkdir()
    (folder / "features" / "grants.feature").write_text(FEATURE, encoding="utf-8")
    (folder / "cases").mkdir()
    (folder / "cases" / "grants.yaml").write_text(CASES, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def site_folder(project: Path) -> Path:
    result = run_cli("docs", "rules", "--features", "features", "--cases", "cases", "--out", "site", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "wrote 4 pages to site/index.html: 3 of 3 rules covered\nnote: 1 scenario or case failed" in result.stderr
    return project / "site"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_each_section_lists_what_cites_it_and_a_section_nothing_cites_says_so(site_folder: Path) -> None:
    page = (site_folder / "document-guide.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;guide&#39;)&lt;/script&gt; &amp; grants" in page
    sections = re.split(r"<h2 id=\"section-\d\">", page)[1:]
    assert [s.split("</h2>")[0] for s in sections] == ["Who can apply", "How much", "Appeals"]
    who, how, appeals = (text_of(s) for s in sections)
    assert "2.1 fact adult" in who
    assert "(the section) rule full_by_default" in how and "3.2 rule part_for_adults adults are means tested" in how
    assert 'href="rules.html#rule-part_for_adults"' in sections[1]
    assert "Nothing in the rules cites this section." in appeals


def test_each_rule_shows_the_scenarios_and_cases_that_saw_it_with_their_results(site_folder: Path) -> None:
    rows = {m.group(1): text_of(m.group(2)) for m in re.finditer(r'<tr id="rule-(\w+)">(.*?)</tr>', (site_folder / "rules.html").read_text(), re.S)}
    assert list(rows) == ["full_by_default", "part_for_adults", "nothing_above_the_limit"]
    assert "applying: scenario “A child is given the whole grant” features/grants.feature:5 passed" in rows["full_by_default"]
    assert "not applying: scenario “A wrong expectation fails” features/grants.feature:13 failed" in rows["full_by_default"]
    assert rows["full_by_default"].rstrip().endswith("yes")
    assert "applying: case “an adult on a high income” cases/grants.yaml passed" in rows["nothing_above_the_limit"]
    assert "not applying: scenario “A wrong expectation fails”" in rows["nothing_above_the_limit"]
    assert "How much, 3.2" in rows["part_for_adults"]
    assert "<script>" not in (site_folder / "rules.html").read_text()
    tests = text_of((site_folder / "tests.html").read_text())
    assert "A wrong expectation fails features/grants.feature:13 failed" in tests
    assert "an adult on a high income cases/grants.yaml passed" in tests
    index = text_of((site_folder / "index.html").read_text())
    assert "3 of 3 rules seen both applying and not applying" in index
    assert "Scenarios : 1 failed, 1 passed" in index and "Cases : 1 passed" in index


def test_coverage_counts_a_rule_seen_only_one_way_as_not_covered(project: Path) -> None:
    policy = load_policy(project / "rules")
    site = build_site(policy, project / "rules", [str(project / "cases")], [], date(2025, 1, 15), project)
    by_label = {r.label: r for r in site.rules}
    assert (by_label["nothing_above_the_limit"].applying, by_label["nothing_above_the_limit"].not_applying) == (1, 0)
    assert (by_label["full_by_default"].applying, by_label["full_by_default"].not_applying) == (0, 1)
    assert site.covered == 0
    assert [r.label for r in site.uncited] == ["nothing_above_the_limit"]


def test_the_site_is_not_written_among_its_inputs(project: Path) -> None:
    result = run_cli("docs", "rules", "--out", "rules/site", cwd=project)
    assert result.returncode == 2 and "over or among what it reads" in result.stderr
    assert not (project / "rules" / "site").exists()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"the browser test needs chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


def bundled_site(tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    result = run_cli("docs", f"rules/{name}", "--cases", f"cases/{name}", "--out", str(out), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return out


def test_every_page_opens_from_disk_with_no_console_error_and_no_request_beyond_it(browser: Any, site_folder: Path, tmp_path: Path) -> None:
    folders = [site_folder, *(bundled_site(tmp_path, name) for name in ("haringey", "hillingdon-dfg", "dorset-ctr"))]
    for folder in folders:
        pages = sorted(folder.glob("*.html"))
        assert len(pages) >= 4
        for path in pages:
            context = browser.new_context()
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda message, problems=problems: problems.append(message.text) if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error, problems=problems: problems.append(str(error)))
            page.on("request", lambda request, problems=problems: None if request.url.startswith("file://") else problems.append(request.url))
            page.goto(path.as_uri())
            titles = ("Grants", "Haringey insourcing policy", "Hillingdon Disabled Facilities Grant", "Dorset Council Tax Reduction (working age) 2024 to 2025")
            assert page.title().endswith(titles)
            for link in page.eval_on_selector_all("nav a", "links => links.map(a => a.href)"):
                assert link.startswith("file://") and Path(link.removeprefix("file://").split("#")[0]).exists()
            assert problems == [], f"{path}: {problems}"
            context.close()
