"""The engine: a checked model to decisions with their explanation.

The pipeline is: rule files -> parser -> AST (``language.nodes``) -> checker
(``PolicyModel``) -> **lowering** (``lowering``: one small intermediate
representation with names resolved to slots, constants in a table, rules as
trees and conditions split into the parts a trace shows) -> **code generation**
(``codegen``: one generator over that representation, with a mode for
decisions without a trace and a mode that records the explanation) ->
``Decision`` (``decision``) with its trace (``trace``).

``policy_function`` (reading facts as a user gives them, and running the
two-valued code) and ``traced_function`` (running the code that records the
explanation) only assemble and run what the generator writes. The
three-valued closures of ``compiler``/``evaluator`` decide services with
unknown facts, search for the facts still needed, and are the reference the
generated modes are tested against. ``values`` holds the unknown value.
"""
