"""Every error becomes problem+json: ours, werkzeug's (404/405/413...) and unexpected ones."""
from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from homesense_core import problems

from stage1_monolith.adapters.ports import StorageUnavailable
from stage1_monolith.web.responses import problem_response

log = logging.getLogger(__name__)

_FRAMEWORK_DETAIL = {
    404: "No resource at this path.",
    405: "The method is not allowed on this resource.",
    413: "The request body is larger than 1 MiB.",
}


def framework_problem(exc: HTTPException) -> problems.ProblemError:
    """Translate a werkzeug HTTP error into the problem with the same status."""
    slug = problems.slug_for_status(exc.code or 500)
    error_class = next((c for c in _problem_classes() if c.slug == slug), problems.InternalError)
    detail = _FRAMEWORK_DETAIL.get(exc.code) or (exc.description if slug == "malformed-request" else None)
    if error_class is problems.MethodNotAllowed:
        return problems.MethodNotAllowed(detail, allow=getattr(exc, "valid_methods", None))
    if error_class is problems.RateLimited:
        return problems.RateLimited(1)
    if error_class is problems.ValidationFailed:
        return problems.ValidationFailed([], detail)
    return error_class(detail)


def _problem_classes():
    return problems.ProblemError.__subclasses__()


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(problems.ProblemError)
    def _problem(exc: problems.ProblemError):
        return problem_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return problem_response(framework_problem(exc))

    @app.errorhandler(StorageUnavailable)
    def _storage(exc: StorageUnavailable):
        log.error("storage unavailable: %s", exc)
        return problem_response(problems.ServiceUnavailable("The database is unavailable; retry later."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return problem_response(problems.InternalError())

