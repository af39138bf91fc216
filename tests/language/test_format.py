"""``policy-rules fmt``: one layout, every comment kept, the same rules afterwards, and a second run changes nothing."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules.language.format import FormatError, _split, format_text, layout
from policy_rules.language.loader import parse_file
from tests.support import form_corpus, sample_policies
from tests.support.cli_helpers import ROOT, run_cli


def corpus() -> list[tuple[str, str]]:
    """Every rule text of the tests that parses: the rule files under tests/ and the policies in sample_policies and form_corpus."""
    texts = []
    for path in sorted((ROOT / "tests").rglob("*.rules")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if parse_file(str(path), text)[0] is not None and not [d for d in parse_file(str(path), text)[1] if d.severity == "error"]:
            texts.append((str(path.relative_to(ROOT)), text))
    for module in (sample_policies, form_corpus):
        for name, value in sorted(vars(module).items()):
            if isinstance(value, str) and value.lstrip().startswith("policy ") and parse_file(name, value)[0] is not None:
                texts.append((f"{module.__name__}.{name}", value))
    return texts


CORPUS = corpus()


def comments_of(text: str) -> list[str]:
    return [c for c in (_split(line)[1] for line in text.splitlines()) if c is not None]


def test_the_corpus_holds_the_texts_it_should() -> None:
    names = [name for name, _ in CORPUS]
    assert "tests.support.sample_policies.EVERY_FORM" in names and "tests.support.form_corpus.SCALARS" in names
    assert sum(name.startswith("tests/policies/") for name in names) >= 7


@pytest.mark.parametrize(("name", "text"), CORPUS, ids=[name for name, _ in CORPUS])
def test_formatting_twice_gives_the_text_of_once_and_the_same_rules(name: str, text: str) -> None:
    once = format_text(text, name)
    assert format_text(once, name) == once
    assert parse_file(name, once)[0] == parse_file(name, text)[0]
    assert comments_of(once) == comments_of(text)


def test_the_layout_of_a_small_policy_with_comments_everywhere() -> None:
    messy = """

# the policy
policy   "p"
      outcome d     # the outcome
  service name   s # its name
fact s is text
fact a is   money
fact b is yes/no
define big as
      a is at least £1,000
   or   b
decision d
        outcomes x,y ,
    z



  # x unless big
rule x_default
  by default d is x
rule z_when_big # an exception
      exception to x_default

  when big
 and ( b or
 not b )
        and a  > - £5
  then d is z
  because "big ( things )"
# the end
"""
    expected = """# the policy
policy "p"
  outcome d      # the outcome
  service name s # its name

fact s is text
fact a is money
fact b is yes/no

define big as
  a is at least £1,000
  or b

decision d
  outcomes x, y,
           z

# x unless big
rule x_default
  by default d is x

rule z_when_big # an exception
  exception to x_default
  when big
   and (b or
     not b)
   and a > -£5
  then d is z
  because "big ( things )"
# the end
"""
    assert format_text(messy, "p.rules") == expected


def perturbed(text: str, seed: int) -> str:
    """The text with its spacing disturbed as a person might: indents, spaces between words and before comments, trailing spaces, doubled blank lines."""
    rng = random.Random(seed)
    out = []
    for line in text.splitlines():
        tokens, comment = _split(line)
        if not tokens and comment is None:
            out.extend([""] * rng.randint(1, 3))
            continue
        body = "".join(t + " " * rng.randint(1, 3) for _, t in tokens).rstrip()
        if comment is not None:
            body += " " * rng.randint(1 if tokens else 0, 4) + comment
        out.append(" " * rng.randint(0, 6) + body + " " * rng.randint(0, 2))
    return "\n".join(out) + "\n" * rng.randint(0, 3)


@given(st.sampled_from(CORPUS), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_any_spacing_of_a_formatted_text_formats_back_to_it(named: tuple[str, str], seed: int) -> None:
    name, text = named
    canonical = format_text(text, name)
    assert layout(perturbed(canonical, seed)) == canonical


def test_a_file_with_errors_is_not_formatted() -> None:
    with pytest.raises(FormatError, match="has errors") as raised:
        format_text('policy "p"\nrule r\n  by default d is\n', "bad.rules")
    assert raised.value.diagnostics


def test_every_bundled_rule_file_is_formatted() -> None:
    result = run_cli("fmt", "rules", "--check")
    assert result.returncode == 0, result.stderr
    assert "0 files would be reformatted" in result.stderr


def test_check_and_diff_change_nothing_and_fmt_rewrites(tmp_path: Path) -> None:
    rules = tmp_path / "p.rules"
    messy = 'policy "p"\n      outcome d\nfact a is yes/no\ndecision d\n outcomes x, y\nrule x_default\n by default d is x # kept\n'
    rules.write_text(messy)
    checked = run_cli("fmt", str(rules), "--check")
    assert checked.returncode == 1 and f"would reformat {rules}" in checked.stderr
    shown = run_cli("fmt", str(rules), "--diff")
    assert shown.returncode == 0 and "-      outcome d\n+  outcome d\n" in shown.stdout
    assert rules.read_text() == messy
    done = run_cli("fmt", str(tmp_path))
    assert done.returncode == 0, done.stderr
    formatted = rules.read_text()
    assert formatted.startswith('policy "p"\n  outcome d\n\nfact a is yes/no\n') and formatted.endswith("  by default d is x # kept\n")
    assert [p.name for p in tmp_path.iterdir()] == ["p.rules"]
    again = run_cli("fmt", str(rules), "--check")
    assert again.returncode == 0 and "0 files would be reformatted, 1 already formatted" in again.stderr


def test_a_file_with_errors_is_reported_and_left_alone(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text('policy "p"\n   rule r\n')
    result = run_cli("fmt", str(bad))
    assert result.returncode == 2 and "has errors" in result.stderr and "Traceback" not in result.stderr
    assert bad.read_text() == 'policy "p"\n   rule r\n'
