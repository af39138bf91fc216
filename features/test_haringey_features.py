"""Binds every scenario of every ``.feature`` file under ``features/`` as a test.

The steps are in ``features/conftest.py``; nothing needs adding here when a
scenario or a feature file is added.
"""

from pytest_bdd import scenarios

scenarios(".")
