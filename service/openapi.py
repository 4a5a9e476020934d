"""The OpenAPI 3 document, built from the API's own schemas, and local Swagger UI."""
from __future__ import annotations

import re
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, render_template, send_from_directory

from service.errors import NotFound

blueprint = Blueprint("openapi", __name__)

_PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_ERRORS = {400: "Invalid input", 401: "Missing or bad token", 403: "Role may not act",
           404: "Not found (or not yours to see)", 409: "Conflict", 429: "Rate limited"}


def build_spec() -> dict:
    """Describe every documented /api/v1 endpoint."""
    spec = APISpec(title="Loopdesk API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "After-sales tickets, SLA and assignment."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", _PROBLEM)
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, meta)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(rule, meta: dict) -> dict:
    operation: dict = {"summary": meta["summary"], "tags": meta["tags"], "responses": {}}
    parameters = [{"in": "path", "name": name, "required": True,
                   "schema": {"type": "integer"}} for name in rule.arguments]
    if meta["query"] is not None:
        parameters.append({"in": "query", "schema": meta["query"]})
    for name, description in meta["headers"].items():
        parameters.append({"in": "header", "name": name, "required": False,
                           "description": description, "schema": {"type": "string"}})
    if parameters:
        operation["parameters"] = parameters
    if meta["body"] is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": meta["body"]}}}
    elif meta.get("raw_body"):
        operation["requestBody"] = {"required": True, "content": {
            meta["raw_body"]: {"schema": {"type": "string", "format": "binary"}}}}
    for status, schema in meta["responses"].items():
        operation["responses"][str(status)] = {
            "description": "OK", "content": {"application/json": {"schema": schema}}}
    for status, description in _ERRORS.items():
        if status == 401 and meta["public"] and not meta.get("token_optional"):
            continue
        operation["responses"].setdefault(str(status), {
            "description": description,
            "content": {"application/problem+json": {"schema": _PROBLEM_REF}}})
    if not meta["public"]:
        operation["security"] = [{"bearer": []}]
    elif meta.get("token_optional"):
        operation["security"] = [{}, {"bearer": []}]  # anonymous, or a staff token
    return operation


@blueprint.get("/api/v1/openapi.json")
def openapi_json():
    spec = current_app.extensions.get("loopdesk_openapi")
    if spec is None:
        spec = current_app.extensions["loopdesk_openapi"] = build_spec()
    return jsonify(spec)


@blueprint.get("/api/docs")
def docs():
    return render_template("api_docs.html")


@blueprint.get("/api/docs/assets/<path:filename>")
def docs_assets(filename: str):
    """Swagger UI's files, from the installed swagger-ui-bundle (never a CDN)."""
    from swagger_ui_bundle import swagger_ui_path

    if filename not in {"swagger-ui.css", "swagger-ui-bundle.js",
                        "swagger-ui-standalone-preset.js", "favicon-32x32.png"}:
        raise NotFound()
    return send_from_directory(Path(swagger_ui_path), filename, max_age=86400)
