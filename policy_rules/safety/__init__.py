"""Safety, the lowest layer beside ``errors``: everything shown is escaped for where it is shown, everything written is written whole.

``escape`` makes text from rule files, facts and registers harmless in a
terminal, a spreadsheet, Markdown and HTML; ``outputs`` writes files
atomically and refuses to write over an input. Every other layer may use
them; they use nothing of the package but ``errors``.
"""
