"""Settings for the whole test run (tests/ and features/)."""

from __future__ import annotations

import os

# Tests parse thousands of throwaway rule files; they are not kept in the user's
# parse cache. The tests of the cache itself name a folder of their own.
os.environ.setdefault("POLICY_RULES_CACHE", "off")
