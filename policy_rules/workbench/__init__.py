"""The web workbench: officers edit, try and weigh rules in a browser.

Its place: served by ``policy-rules serve`` beside the REST API
(``service.app.create_app`` mounts it). ``routes`` holds the server side;
``static/`` the page, its script and the CodeMirror 6 editor bundle built by
``workbench/build`` at the top of the repository (committed built, so the
wheel needs neither node nor the network).
"""

from policy_rules.workbench.routes import mount_workbench, workbench_router

__all__ = ["mount_workbench", "workbench_router"]
