"""Testing a policy: case files, and the pytest-bdd step library."""
