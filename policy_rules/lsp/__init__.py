"""The language server of rule files (``policy-rules lsp``) and their highlighting for editors and docs.

Its place: an editor's view of the front end. ``folder`` reads one policy
folder with the same parser and checker as ``check`` (``language.loader``
and ``language.checker``) and keeps where every name is declared and used;
``server`` answers the Language Server Protocol over stdio with pygls from
it; ``lexer`` is the Pygments lexer whose keywords, like those of the
TextMate grammar in ``editors/vscode``, are tested against
``grammar/policy.lark``.
"""
