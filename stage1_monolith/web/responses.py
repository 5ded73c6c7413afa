"""Request bodies in, JSON and problem+json out."""
from __future__ import annotations

import json

from flask import Response, request

from homesense_core.bodies import decode_json_body
from homesense_core.http import Result
from homesense_core.problems import PROBLEM_CONTENT_TYPE, ProblemError


def json_body() -> dict:
    """The request body as a JSON object, or the matching problem (413/415/400/422)."""
    return decode_json_body(request.get_data(cache=True), request.headers.get("Content-Type"))


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def result_response(result: Result) -> Response:
    headers = {"Location": result.location} if result.location else None
    return json_response(result.body, result.status, headers)


def problem_response(error: ProblemError) -> Response:
    return Response(json.dumps(error.to_dict()), status=error.status, content_type=PROBLEM_CONTENT_TYPE,
                    headers=error.headers)
