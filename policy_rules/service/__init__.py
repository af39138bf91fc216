"""The decision service: the REST API of ``policy-rules serve``, for programs that are not written in Python.

Place in the architecture: a front end beside the command line. It takes a
loaded ``Policy`` (the facade) and a ``DecisionRegister`` (``policy_rules.store``),
and turns HTTP requests into ``Policy.evaluate`` calls and register records:
``app`` builds the FastAPI application, ``openapi`` and ``policy_view`` the
documented schemas and what is said about rules, ``guard`` the bearer tokens
and request limits, ``runner`` starts uvicorn, ``arguments`` reads the
command line's values. Nothing is imported here, so that the command line
can build its parser without loading the web stack.
"""
