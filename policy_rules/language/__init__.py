"""The language front end: rule-file text to a checked model.

Files are read (``loader``), parsed with the Lark grammar from tables shipped
in the package (``parser``, ``parser_tables``), built into immutable AST nodes
(``builder``, ``nodes``) and checked by named checks (``checker``); the parse
cache keeps ASTs as JSON (``ast_json``). ``policy-rules check`` needs only
this package.
"""
