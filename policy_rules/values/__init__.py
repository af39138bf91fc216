"""Values, the layer under the language: the kinds of value rule files speak of and their exact arithmetic.

``types`` names the kinds (yes/no, money, number, date, ...), the unknown
value and how a value is shown; ``dates`` is the calendar (periods,
anniversaries, month ends). The checker types expressions with them, the
engine computes with them, registers read them: the meaning of a value is
written once, here. They use nothing of the package but ``errors``.
"""
