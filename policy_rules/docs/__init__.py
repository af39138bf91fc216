"""The policy's published documentation (``policy-rules docs``): a static site an officer opens from disk.

Its place: beside the renderers, for a whole policy rather than one
decision. ``site`` gathers what the site shows from the checked policy (each
cited document's sections, the facts, values and rules that cite each), from
the case files run here (``policy_rules.testing.cases``) and from the
scenarios run in a pytest process of their own (``recorder`` notes, for each
scenario, its result and the rules it saw applying); ``templates/`` lays it
out with Jinja2, every value escaped by autoescape; ``command`` is the CLI.
"""
