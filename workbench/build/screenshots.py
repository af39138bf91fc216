"""Screenshots of each workbench page for docs/ (docs/workbench-*.png), taken from a real server in headless Chromium.

Run from the repository's root: ``python workbench/build/screenshots.py``. It
serves the small policy the browser tests use, then walks the pages as an
officer would: a syntax error in the editor, an interview to its decision,
the impact of a changed rule on a register (with the save form filled in, not
sent: the server runs with ``--allow-editing``), and a recorded decision with
an override.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.workbench_support import BROWSER_ARGS, CHANGED, CHROMIUM, REGISTER, RULES, printed_token, record_override, running_server, write_policy  # noqa: E402


def main() -> None:
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as where, sync_playwright() as p:
        work = Path(where)
        (work / "examples").mkdir()
        (work / "examples" / "register.csv").write_text(REGISTER, encoding="utf-8")
        register = work / "register.csv"
        register.write_text(REGISTER, encoding="utf-8")
        with running_server(write_policy(work / "rules"), work, "--allow-editing") as base:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{base}/?token={printed_token(work)}#editor")
            page.wait_for_selector("body[data-ready=true]")
            page.get_by_role("textbox", name="Rule file").click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(RULES.replace("  then delivery is procure\n", "  then delivery is\n", 1))
            page.get_by_role("list", name="Problems").get_by_role("listitem").first.wait_for()
            page.screenshot(path=docs / "workbench-editor.png", full_page=True)

            page.get_by_role("textbox", name="Rule file").click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(CHANGED)
            page.get_by_text("No problems.").wait_for()
            page.get_by_role("link", name="Impact").click()
            page.get_by_label("Upload a register (CSV or YAML)").set_input_files(str(register))
            page.get_by_role("button", name="Show the impact").click()
            page.get_by_role("table", name="Services decided differently").wait_for()
            save = page.get_by_role("form", name="Save the rules")
            save.get_by_label("What the change does, and why").fill("Members agreed that a service may run up to 20% over its budget in-house.")
            save.get_by_label("Saved by").fill("A. Officer")
            page.screenshot(path=docs / "workbench-impact.png", full_page=True)

            page.get_by_role("link", name="Interview").click()
            form = page.get_by_role("form", name="Interview")
            form.get_by_label("What is the service's name?").fill("Parks")
            form.get_by_role("button", name="Next").click()
            form.get_by_label("What would the service cost a year in-house?").fill("230")
            form.get_by_role("button", name="Next").click()
            form.get_by_label("What is the service's yearly budget?").fill("200")
            form.get_by_role("button", name="Next").click()
            form.get_by_label("yes", exact=True).check()
            form.get_by_role("button", name="Next").click()
            page.get_by_role("region", name="Decision").get_by_text("Outcome:").wait_for()
            page.get_by_role("button", name="Record this decision").click()
            page.get_by_text("Recorded as decision").wait_for()
            page.screenshot(path=docs / "workbench-interview.png", full_page=True)

            record_override(page, "1", "in_house", "members agreed to run it in-house for a year", "Head of Commissioning")
            page.screenshot(path=docs / "workbench-register.png", full_page=True)
            browser.close()


if __name__ == "__main__":
    main()
