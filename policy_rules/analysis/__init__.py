"""Logic analysis of a checked policy, over a symbolic reading of it.

``symbolic`` turns the lowered form (``policy_rules.engine.lowering``, the one
the code generator reads) into SMT terms with z3, so questions about *every*
possible service can be answered exactly: which rules can conflict or never
apply (``findings``, the ``analyse`` command), which missing facts are needed
when the evaluator's search would run too long (``needed``), the fewest
changes that give an outcome (``whatif``), and how two versions of a policy
can decide differently (``symbolic_diff``).
"""
