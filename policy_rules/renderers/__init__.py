"""Showing decisions to people: text, Markdown, HTML and JSON, each escaped for its medium.

``reports`` renders decisions, explanations and register summaries;
``escape`` is the one place where text from rule files and facts is made
safe for a terminal, a spreadsheet cell, Markdown or HTML.
"""
