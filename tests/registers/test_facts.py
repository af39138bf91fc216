"""Facts: checking values against the declarations, and reading YAML, JSON and CSV facts files.

Every error is a ``FactsError`` whose ``str`` names the file, the service and
the fact, and says what form was expected or which declared name was meant.
"""

from __future__ import annotations

import json
import textwrap
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy_rules import FactsError, Policy, PolicyError, load_policy
from policy_rules.engine.facts import MAX_LIST_ITEMS
from policy_rules.registers.facts import FactsFile, read_facts_file

RULES = """
    policy "facts"
      service name service
      outcome d

    record part
      field name is text
      field specialist is yes/no
      field cost is money

    fact service is text
    fact urgent is yes/no
    fact count is number
    fact staff is whole number
    fact spend is money
      default £10
      may be negative
    fact rate is percentage
    fact start is date
    fact note is text
    fact size is one of small, medium, large
    fact parts is list of part
    fact flag is yes/no
      default yes
    fact share is percentage
      default 5%
    fact others is list of part
      default empty

    decision d
      outcomes x, y

    rule base
      by default d is x

    rule other
      exception to base
      when urgent
      then d is y
"""

DEFAULTS = {"spend": Decimal(10), "flag": True, "share": Decimal("0.05"), "others": ()}


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("facts") / "facts.rules"
    path.write_text(textwrap.dedent(RULES).lstrip())
    return load_policy(path)


def typed(policy: Policy, raw: Any) -> dict[str, Any]:
    facts, _service = policy.facts_of(raw, path="facts.yaml", index=2)
    return {k: v for k, v in facts.items() if k not in DEFAULTS or v != DEFAULTS[k]}


def error_of(policy: Policy, raw: Any) -> str:
    with pytest.raises(FactsError) as error:
        policy.facts_of(raw, path="facts.yaml", index=2)
    assert isinstance(error.value, PolicyError)
    return str(error.value)


# --- names ---------------------------------------------------------------------------------------


def test_an_undeclared_fact_suggests_the_nearest_declared_name(policy: Policy) -> None:
    assert (
        error_of(policy, {"urgnet": True})
        == "facts.yaml: service '#3': fact 'urgnet': error: there is no fact called `urgnet` in this policy; did you mean `urgent`?"
    )
    assert error_of(policy, {"service": "Cleaning", "Staff": 3}) == (
        "facts.yaml: service 'Cleaning': fact 'Staff': error: there is no fact called `Staff` in this policy; did you mean `staff`?"
    )
    assert error_of(policy, {"zzz": 1}) == "facts.yaml: service '#3': fact 'zzz': error: there is no fact called `zzz` in this policy"
    assert error_of(policy, {1: True}) == "facts.yaml: service '#3': fact '1': error: there is no fact called `1` in this policy"


def test_the_error_carries_its_parts(policy: Policy) -> None:
    with pytest.raises(FactsError) as error:
        policy.facts_of({"service": "Cleaning", "urgent": "maybe"}, path="f.json", index=0)
    assert (error.value.path, error.value.service, error.value.fact) == ("f.json", "Cleaning", "urgent")
    assert error.value.location == "f.json: service 'Cleaning': fact 'urgent'"


def test_a_service_must_be_a_mapping(policy: Policy) -> None:
    assert error_of(policy, [1, 2]) == "facts.yaml: service '#3': error: a service must be a mapping of fact names to values, not [1, 2]"
    assert error_of(policy, "x") == "facts.yaml: service '#3': error: a service must be a mapping of fact names to values, not \"x\""


# --- wrong types, one for each type ------------------------------------------------------------------

WRONG = [
    ("urgent", "maybe", '"maybe" is not yes or no; write yes, no, true or false'),
    ("urgent", 1, "1 is not yes or no; write yes, no, true or false"),
    ("urgent", [True], "[yes] is not yes or no; write yes, no, true or false"),
    ("count", "abc", '"abc" is not a number; write a number such as 3.5'),
    ("count", True, "yes is not a number; write a number such as 3.5"),
    ("count", float("nan"), "nan is not a number; write a number such as 3.5"),
    ("count", float("inf"), "inf is not a number; write a number such as 3.5"),
    ("count", "1e5", '"1e5" is not a number; write a number such as 3.5'),
    ("count", "£5", '"£5" is not a number; write a number such as 3.5'),
    ("staff", 2.5, "2.5 is not a whole number; write a whole number such as 12"),
    ("staff", "2.5", '"2.5" is not a whole number; write a whole number such as 12'),
    ("spend", "lots", '"lots" is not money; write an amount such as 1200000 or £1,200,000'),
    ("spend", "£1,2,00", '"£1,2,00" is not money; write an amount such as 1200000 or £1,200,000'),
    ("spend", "12,00", '"12,00" is not money; write an amount such as 1200000 or £1,200,000'),
    ("spend", "--5", '"--5" is not money; write an amount such as 1200000 or £1,200,000'),
    ("spend", "$5", '"$5" is not money; write an amount such as 1200000 or £1,200,000'),
    ("rate", "5", '"5" is not a percentage; write a percentage such as 5%'),
    ("rate", "abc%", '"abc%" is not a percentage; write a percentage such as 5%'),
    ("rate", False, "no is not a percentage; write a percentage such as 5%"),
    ("rate", 0.05, "0.05 is not a percentage; write a percentage such as 5%"),
    ("rate", 5, "5 is not a percentage; write a percentage such as 5%"),
    ("spend", date(2020, 3, 31), "2020-03-31 is not money; write an amount such as 1200000 or £1,200,000"),
    ("count", [10**400], "[a number of about 401 digits] is not a number; write a number such as 3.5"),
    ("start", "31/03/2020", '"31/03/2020" is not a date; write it as YYYY-MM-DD, such as 2020-03-31'),
    ("start", "20200331", '"20200331" is not a date; write it as YYYY-MM-DD, such as 2020-03-31'),
    ("start", 20200331, "20200331 is not a date; write it as YYYY-MM-DD, such as 2020-03-31"),
    ("start", "2020-02-30", '"2020-02-30" is not a date in the calendar; write it as YYYY-MM-DD, such as 2020-03-31'),
    ("note", True, "yes is not text"),
    ("note", ["a"], '["a"] is not text'),
    ("note", b"\x00", "binary data is not text"),
    ("note", {"a": [1, {"b": None}]}, '{"a": [1, {...}]} is not text'),
    ("size", "Small", '"Small" is not one of small, medium, large; did you mean `small`?'),
    ("size", "big", '"big" is not one of small, medium, large'),
    ("size", 3, "3 is not one of small, medium, large"),
    ("parts", "not json", '"not json" is not a list; give a list of part items, each with its fields'),
    ("parts", {"name": "a"}, '{"name": "a"} is not a list; give a list of part items, each with its fields'),
]


@pytest.mark.parametrize(("fact", "value", "message"), WRONG, ids=[f"{f}={v!r}"[:40] for f, v, _ in WRONG])
def test_a_value_of_the_wrong_type(policy: Policy, fact: str, value: Any, message: str) -> None:
    assert error_of(policy, {"service": "Cleaning", fact: value}) == f"facts.yaml: service 'Cleaning': fact '{fact}': error: {message}"


RECORD_ERRORS = [
    ([1], "parts[0]", "item 0 is 1, not a part with fields name, specialist, cost"),
    ([{"name": "a"}, "b"], "parts[1]", 'item 1 is "b", not a part with fields name, specialist, cost'),
    ([{"nam": "a"}], "parts[0]", "a part has no field `nam`; its fields are name, specialist, cost; did you mean `name`?"),
    ([{"colour": "red"}], "parts[0]", "a part has no field `colour`; its fields are name, specialist, cost"),
    ([{"name": "a"}, {"specialist": "perhaps"}], "parts[1].specialist", '"perhaps" is not yes or no; write yes, no, true or false'),
    ([{"cost": "lots"}], "parts[0].cost", '"lots" is not money; write an amount such as 1200000 or £1,200,000'),
    ([{"name": ["x"]}], "parts[0].name", '["x"] is not text'),
]


@pytest.mark.parametrize(("items", "where", "message"), RECORD_ERRORS, ids=[w + " " + m[:20] for _, w, m in RECORD_ERRORS])
def test_fields_of_list_items(policy: Policy, items: list[Any], where: str, message: str) -> None:
    assert error_of(policy, {"service": "Cleaning", "parts": items}) == f"facts.yaml: service 'Cleaning': fact '{where}': error: {message}"


def test_a_list_longer_than_the_limit(policy: Policy) -> None:
    items = [{}] * (MAX_LIST_ITEMS + 1)
    assert (
        error_of(policy, {"parts": items})
        == f"facts.yaml: service '#3': fact 'parts': error: the list has {MAX_LIST_ITEMS + 1} items, more than the limit of {MAX_LIST_ITEMS}"
    )


def test_a_huge_value_is_shown_cut_short(policy: Policy) -> None:
    message = error_of(policy, {"note": list(range(100_000))})
    assert message == "facts.yaml: service '#3': fact 'note': error: [0, 1, 2, 3, 4, 5, ...] is not text"
    message = error_of(policy, {"urgent": "x" * 10_000})
    assert message == "facts.yaml: service '#3': fact 'urgent': error: \"" + "x" * 56 + "... is not yes or no; write yes, no, true or false"


# --- accepted spellings -----------------------------------------------------------------------------

ACCEPTED = [
    ("urgent", True, True),
    ("urgent", "true", True),
    ("urgent", "False", False),
    ("urgent", "yes", True),
    ("urgent", " No ", False),
    ("urgent", "Y", True),
    ("urgent", "n", False),
    ("count", 3, Decimal(3)),
    ("count", 3.5, Decimal("3.5")),
    ("count", "1,234.5", Decimal("1234.5")),
    ("count", "-2", Decimal(-2)),
    ("staff", 12, Decimal(12)),
    ("staff", "12", Decimal(12)),
    ("staff", 12.0, Decimal(12)),
    ("spend", "£1,200,000", Decimal(1_200_000)),
    ("spend", 1200000, Decimal(1_200_000)),
    ("spend", "1200000", Decimal(1_200_000)),
    ("spend", "£ 1,200,000.50", Decimal("1200000.50")),
    ("spend", "-£5", Decimal(-5)),
    ("spend", "£-5", Decimal(-5)),
    ("rate", "5%", Decimal("0.05")),
    ("rate", "7.5 %", Decimal("0.075")),
    ("rate", "1,000%", Decimal(10)),
    ("start", "2020-03-31", date(2020, 3, 31)),
    ("start", date(2020, 3, 31), date(2020, 3, 31)),
    ("start", datetime(2020, 3, 31, 10, 30), date(2020, 3, 31)),
    ("note", "hello", "hello"),
    ("note", 12, "12"),
    ("size", "small", "small"),
    ("size", " large ", "large"),
    ("parts", [{"name": "a", "specialist": "yes", "cost": "£5"}], ({"name": "a", "specialist": True, "cost": Decimal(5)},)),
    ("parts", '[{"name": "a", "specialist": "no"}]', ({"name": "a", "specialist": False},)),
    ("parts", [{"name": None, "specialist": ""}], ({},)),
    ("parts", [], ()),
]


@pytest.mark.parametrize(("fact", "value", "expected"), ACCEPTED, ids=[f"{f}={v!r}" for f, v, _ in ACCEPTED])
def test_accepted_spellings(policy: Policy, fact: str, value: Any, expected: Any) -> None:
    assert typed(policy, {fact: value}) == {fact: expected}


@pytest.mark.parametrize("missing", [None, "", "  ", "unknown", "Unknown", "n/a", "?"])
def test_empty_and_null_mean_missing(policy: Policy, missing: Any) -> None:
    raw = {"urgent": missing, "count": missing, "staff": missing, "rate": missing, "start": missing, "note": missing, "size": missing, "parts": missing}
    assert typed(policy, raw) == {}
    decision = policy.evaluate(raw)
    assert decision.outcome == "undetermined"
    assert decision.needed_facts == ("urgent",)


def test_defaults_are_filled_in(policy: Policy) -> None:
    facts, service = policy.facts_of({})
    assert facts == DEFAULTS
    assert service == "#1"
    facts, _ = policy.facts_of({"spend": 20, "flag": "no", "share": None, "others": [{"name": "o"}]})
    assert facts == {"spend": Decimal(20), "flag": False, "share": Decimal("0.05"), "others": ({"name": "o"},)}


def test_the_service_name(policy: Policy) -> None:
    assert policy.facts_of({"service": "Cleaning"})[1] == "Cleaning"
    assert policy.facts_of({"service": 42}, index=4)[1] == "42"
    assert policy.facts_of({"service": ""}, index=4)[1] == "#5"
    assert policy.evaluate({"service": "Cleaning", "urgent": True}).to_dict()["service"] == "Cleaning"


# --- facts files -----------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content).lstrip())
    return str(path)


def services(found: FactsFile) -> list[tuple[dict[str, Any], int]]:
    return [(dict(s.raw), s.index) for s in found.services]


def file_error(path: str) -> str:
    with pytest.raises(FactsError) as error:
        read_facts_file(path)
    return str(error.value)


def test_a_yaml_file_with_one_service(tmp_path: Path, policy: Policy) -> None:
    path = write(
        tmp_path,
        "one.yaml",
        """
        service: Cleaning
        urgent: yes
        spend: £1,200,000
        start: 2020-03-31
        parts:
          - name: Lifts
            specialist: no
        """,
    )
    found = read_facts_file(path)
    assert found.single
    assert services(found) == [
        ({"service": "Cleaning", "urgent": True, "spend": "£1,200,000", "start": date(2020, 3, 31), "parts": [{"name": "Lifts", "specialist": False}]}, 0)
    ]
    facts, service = policy.facts_of(found.services[0].raw, path=path)
    assert service == "Cleaning"
    assert facts["spend"] == Decimal(1_200_000)


def test_a_yaml_list_and_a_services_mapping(tmp_path: Path) -> None:
    listed = read_facts_file(write(tmp_path, "list.yaml", "- service: A\n  urgent: yes\n- service: B\n"))
    assert not listed.single
    assert services(listed) == [({"service": "A", "urgent": True}, 0), ({"service": "B"}, 1)]
    mapped = read_facts_file(write(tmp_path, "services.yml", "services:\n  - service: A\n  - service: B\n"))
    assert not mapped.single
    assert services(mapped) == [({"service": "A"}, 0), ({"service": "B"}, 1)]


def test_json_files(tmp_path: Path) -> None:
    one = read_facts_file(write(tmp_path, "one.json", json.dumps({"service": "A", "urgent": True, "count": 0.5})))
    assert one.single
    assert services(one) == [({"service": "A", "urgent": True, "count": 0.5}, 0)]
    listed = read_facts_file(write(tmp_path, "list.JSON", json.dumps([{"service": "A"}, {"service": "B"}])))
    assert services(listed) == [({"service": "A"}, 0), ({"service": "B"}, 1)]
    mapped = read_facts_file(write(tmp_path, "services.json", json.dumps({"services": [{"service": "A"}]})))
    assert not mapped.single
    assert services(mapped) == [({"service": "A"}, 0)]


def test_csv_files(tmp_path: Path, policy: Policy) -> None:
    path = write(
        tmp_path,
        "many.csv",
        """
        service,urgent,spend,rate,parts,note
        A,yes,"£1,200,000",5%,"[{""name"": ""Lifts"", ""specialist"": true}]",
        B,no,,,,hello

        C,,,,,
        """,
    )
    found = read_facts_file(path)
    assert not found.single
    assert [s.raw["service"] for s in found.services] == ["A", "B", "C"]
    assert [s.index for s in found.services] == [0, 1, 2]
    facts, _ = policy.facts_of(found.services[0].raw, path=path)
    assert facts["spend"] == Decimal(1_200_000)
    assert facts["rate"] == Decimal("0.05")
    assert facts["parts"] == ({"name": "Lifts", "specialist": True},)
    assert "note" not in facts
    facts, _ = policy.facts_of(found.services[2].raw, path=path, index=2)
    assert "urgent" not in facts
    one = read_facts_file(write(tmp_path, "one.csv", "\ufeffservice,urgent\nA,true\n"))
    assert services(one) == [({"service": "A", "urgent": "true"}, 0)]


def test_the_csv_row_and_column_of_a_bad_value_are_reported_through_the_service(tmp_path: Path, policy: Policy) -> None:
    path = write(tmp_path, "bad.csv", "service,urgent\nA,yes\nB,perhaps\n")
    found = read_facts_file(path)
    with pytest.raises(FactsError) as error:
        for s in found.services:
            policy.facts_of(s.raw, path=s.path, index=s.index)
    assert str(error.value) == f"{path}: service 'B': fact 'urgent': error: \"perhaps\" is not yes or no; write yes, no, true or false"


FILE_ERRORS = [
    ("bad.yaml", "urgent: [yes\n", "line 2, column 1: this is not valid YAML (expected ',' or ']', but got '<stream end>')"),
    ("bad.json", '{"urgent": tru}', "line 1, column 12: this is not valid JSON (Expecting value)"),
    ("dup.yaml", "urgent: yes\nurgent: no\n", "line 2, column 1: this is not valid YAML (the key `urgent` appears twice in this mapping)"),
    ("dup-nested.yaml", "parts:\n  - name: a\n    name: b\n", "line 3, column 5: this is not valid YAML (the key `name` appears twice in this mapping)"),
    ("dup.json", '{"urgent": true, "urgent": false}', "the key `urgent` appears twice in one object"),
    ("nan.json", '{"count": NaN}', "NaN is not a number a facts file can hold"),
    ("inf.json", '{"count": Infinity}', "Infinity is not a number a facts file can hold"),
    ("ninf.json", '[{"count": -Infinity}]', "-Infinity is not a number a facts file can hold"),
    ("empty.yaml", "", "the file is empty; it should hold one service or a list of services"),
    ("blank.json", "  \n\n", "the file is empty; it should hold one service or a list of services"),
    ("empty.csv", "\n", "the file is empty; it should hold one service or a list of services"),
    ("header.csv", "service,urgent\n", "the CSV file has a header row but no services"),
    ("dupcol.csv", "service,urgent,urgent\nA,yes,no\n", "the column `urgent` appears twice in the header row"),
    ("wide.csv", "service,urgent\nA,yes,extra\n", "line 2: row 2 has 3 cells but the header has 2 columns"),
    ("narrow.csv", "service,urgent\nA,yes\n\nB\nC,no\n", "line 4: row 4 has 1 cell but the header has 2 columns"),
    ("after-multiline.csv", 'service,urgent\n"A\nand more",yes\nB,no,x\n', "line 4: row 3 has 3 cells but the header has 2 columns"),
    (
        "unclosed.csv",
        'service,urgent\nA,yes\n"B,no\nC,yes\nD,no\n',
        'line 3: a quote (") opens a cell here and is never closed, so every later row would be read into that cell; close the quote',
    ),
    (
        "stray-quote.csv",
        'service,urgent\n"A"x,yes\n',
        "line 2: this CSV cannot be read (',' expected after '\"'); a cell with a comma or a quote in it must be quoted as a whole, with quotes doubled (\"\")",
    ),
    ("nul.csv", "service,urgent\nA,yes\nB\x00,no\n", "line 3: this line holds a NUL byte, which a CSV file cannot; save the file again as CSV text"),
    ("emptylist.json", "[]", "the list of services is empty"),
    ("scalar.json", "42", "the file holds 42; it should hold one service (a mapping of facts) or a list of services"),
    ("text.yaml", "just some words\n", 'the file holds "just some words"; it should hold one service (a mapping of facts) or a list of services'),
    ("services.yaml", "services: 3\n", "`services:` must be a list of services"),
    (
        "multi.yaml",
        "service: A\n---\nservice: B\n",
        "line 2, column 1: this is not valid YAML (expected a single document in the stream, but found another document)",
    ),
    ("tag.yaml", "count: !!int abc\n", "line 1, column 8: this is not valid YAML (`abc` is not a whole number)"),
    ("huge-int.yaml", "staff: " + "9" * 5000 + "\n", "line 1, column 8: this is not valid YAML (a number of 5000 digits is too long for a facts file)"),
    ("huge-int.json", '{"staff": ' + "9" * 5000 + "}", "a number of 5000 digits is too long for a facts file"),
    (
        "surrogate.json",
        '{"note": "a\\ud800b"}',
        "a text in this file holds \\ud800, half of a UTF-16 surrogate pair, which is not a character; write the character itself",
    ),
    (
        "control.yaml",
        "service: A\nnote: a\x07b\n",
        "line 2, column 8: this is not valid YAML (unacceptable character #x0007: special characters are not allowed)",
    ),
    ("null.yaml", "# only a comment\n~\n", "the file holds nothing; it should hold one service (a mapping of facts) or a list of services"),
    (
        "unsafe.yaml",
        'a: !!python/object/apply:os.system ["echo hi"]\n',
        "line 1, column 4: this is not valid YAML (could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system')",
    ),
    ("self.yaml", "a: &a [1, *a]\n", "line 1, column 4: this is not valid YAML (this value contains itself through an alias (`*name`))"),
]


@pytest.mark.parametrize(("name", "content", "message"), FILE_ERRORS, ids=[f[0] for f in FILE_ERRORS])
def test_a_facts_file_that_cannot_be_used(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = write(tmp_path, name, content)
    assert file_error(path) == f"{path}: error: {message}"


def test_a_date_not_in_the_calendar_in_yaml_is_reported_for_its_fact(tmp_path: Path, policy: Policy) -> None:
    path = write(tmp_path, "date.yaml", "service: A\nstart: 2020-02-30\n")
    found = read_facts_file(path)
    with pytest.raises(FactsError) as error:
        policy.facts_of(found.services[0].raw, path=path)
    assert (
        str(error.value)
        == f"{path}: service 'A': fact 'start': error: \"2020-02-30\" is not a date in the calendar; write it as YYYY-MM-DD, such as 2020-03-31"
    )


def test_a_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path, "data.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert file_error(path) == f"{path}: error: this is not a text file; give a YAML, JSON or CSV facts file"
    path = write(tmp_path, "latin.csv", "service\ncaf\xe9\n".encode("latin-1"))
    assert file_error(path) == f"{path}: error: this file is not UTF-8 text (byte 11 cannot be read)"


def test_a_missing_file_and_a_folder(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.yaml")
    assert file_error(missing) == f"{missing}: error: there is no such file; check the path"
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert file_error(str(folder)) == f"{folder}: error: this is a folder; give a YAML, JSON or CSV facts file"


def test_a_yaml_alias_bomb_fails_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    message = file_error(path)
    assert time.perf_counter() - started < 2
    assert (
        message == f"{path}: error: line 7, column 4: this is not valid YAML "
        "(the aliases (`*name`) here expand to more than 1,000,000 values; facts files may not repeat data this way)"
    )


def test_many_aliases_fail_fast(tmp_path: Path) -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 1001) + "]\n"
    path = write(tmp_path, "aliases.yaml", text)
    assert file_error(path).endswith("this is not valid YAML (more than 1000 aliases (`*name`); facts files may not repeat data this way)")


def test_a_few_aliases_are_fine(tmp_path: Path, policy: Policy) -> None:
    path = write(
        tmp_path,
        "aliases.yaml",
        """
        - &base
          service: A
          urgent: yes
        - service: B
          urgent: no
          parts: [&lift {name: Lifts, specialist: yes}, *lift]
        """,
    )
    found = read_facts_file(path)
    facts, _ = policy.facts_of(found.services[1].raw, path=path, index=1)
    assert facts["parts"] == ({"name": "Lifts", "specialist": True},) * 2
