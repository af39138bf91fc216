"""Long chains of exceptions, and loops among exceptions reached from outside them.

The check for loops walks each rule's chain of parents once (a chain is as
deep as the policy: a 2,000-rule policy of chains 200 deep made the former
walk, from every rule to its default, the largest part of its check). These
tests pin what it finds: every loop once, wherever the rules that lead into
it are, and nothing in a long chain that reaches its default.
"""

from __future__ import annotations

from tests.language.test_checker import Find, model_of, policy, rule

LOOP = "one of them must be an exception to the default rule or to a rule under it"


def chain(depth: int) -> list[str]:
    """``depth`` exceptions, each to the one before, the first to ``base``."""
    return [rule("a" if i % 2 else "b", label=f"c{i}").replace("to base", f"to c{i - 1}" if i else "to base") for i in range(depth)]


def test_a_long_chain_of_exceptions_is_kept_whole(errors: Find) -> None:
    text = policy(*chain(300))
    assert errors(text) == []
    model = model_of(text)
    assert model.children["base"] == ["c0"]
    assert all(model.children[f"c{i}"] == [f"c{i + 1}"] for i in range(299))


def test_each_loop_is_reported_once_whatever_leads_into_it(errors: Find) -> None:
    lines = [
        rule("a", label="t").replace("to base", "to s"),  # t -> s -> p, a tail into the loop p -> q -> r -> p
        rule("b", label="s").replace("to base", "to p"),
        rule("a", label="p").replace("to base", "to q"),
        rule("b", label="q").replace("to base", "to r"),
        rule("a", label="r").replace("to base", "to p"),
        rule("b", label="u").replace("to base", "to v"),  # a second loop, u -> v -> u, after a chain that reaches base
        *chain(5),
        rule("a", label="v").replace("to base", "to u"),
    ]
    assert errors(policy(*lines)) == [
        f"policy.rules:11:21: error: these rules are exceptions to each other in a loop: p -> q -> r -> p; {LOOP}",
        f"policy.rules:14:21: error: these rules are exceptions to each other in a loop: u -> v -> u; {LOOP}",
    ]
