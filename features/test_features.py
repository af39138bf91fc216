"""Binds every scenario of every ``.feature`` file under ``features/`` (subfolders included) as a test.

The steps come from the ``policy_rules`` pytest plugin (``policy_rules.testing``);
nothing needs adding here when a scenario or a feature file is added.
"""

from pytest_bdd import scenarios

scenarios(".")
