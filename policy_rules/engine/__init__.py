"""The engine's middle: what a checked policy means, lowered once and turned into Python in modes.

The pipeline is: rule files -> parser -> AST (``nodes``) -> checker
(``PolicyModel``) -> **lowering** (``engine.lowering``: one small intermediate
representation with names resolved to slots, constants in a table, rules as
trees and conditions split into the parts a trace shows) -> **code generation**
(``engine.codegen``: one generator over that representation, with a mode for
decisions without a trace and a mode that records the explanation).

``fastpath`` (reading facts as a user gives them) and ``tracedpath`` (the
helpers that build trace events) only assemble and run what the generator
writes. The three-valued closures of ``compiler``/``evaluator`` stay the
reference that the generated modes are tested against.
"""
