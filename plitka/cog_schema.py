"""Write .cog/openapi_schema.json from predict.py, as `cog build` would.

coglet validates inputs only against this file, and the Go `cog` CLI that normally writes it is not
available everywhere, so the document is assembled here (same layout as Cog's generator) from
Cog's own inspection of the predictor (cog._inspector).

    python -m plitka.cog_schema           # write it
    python -m plitka.cog_schema --check   # exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cog import _inspector
from cog._adt import InputField, Repetition

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / ".cog" / "openapi_schema.json"
PREDICTOR_REF = "predict.py:Predictor"
TRAIN_REF = "train.py:train"  # cog.yaml `train`: coglet serves it at /trainings (--x-mode train)


def build_schema(
    predictor_ref: str = PREDICTOR_REF, root: Path = ROOT, train_ref: str | None = TRAIN_REF
) -> dict[str, Any]:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    info = _inspect(predictor_ref)
    input_schema, enums = _input_schema(info.inputs)
    schemas: dict[str, Any] = {"Input": input_schema, "Output": info.output.json_type(), **enums}
    schemas.update(_envelope_schemas())
    paths = _paths()
    if train_ref:
        training = _inspect(train_ref)
        training_input, training_enums = _input_schema(training.inputs, title="TrainingInput")
        output = training.output.json_type()
        schemas.update(
            {"TrainingInput": training_input, "TrainingOutput": {**output, "title": "TrainingOutput"}}
        )
        schemas.update(training_enums)
        schemas.update(_training_envelopes())
        paths.update(_training_paths())
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _inspect(ref: str) -> Any:
    module_file, name = ref.split(":")
    return _inspector.create_predictor(Path(module_file).stem, name)


def _input_schema(
    inputs: dict[str, InputField], title: str = "Input"
) -> tuple[dict[str, Any], dict[str, Any]]:
    properties: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    required: list[str] = []
    for name, field in inputs.items():
        json_type = field.type.json_type()
        prop: dict[str, Any] = {"x-order": field.order}
        if field.choices:
            enums[name] = {
                "title": name,
                "description": "An enumeration.",
                "enum": list(field.choices),
                "type": json_type.get("type", "string"),
            }
            prop["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
        else:
            prop["title"] = name.replace("_", " ").title()
            prop.update(json_type)
        nullable = field.type.repetition in (Repetition.OPTIONAL, Repetition.OPTIONAL_REPEATED)
        if field.default is not None or nullable:
            prop["default"] = field.default
        elif field.type.repetition in (Repetition.REQUIRED, Repetition.REPEATED):
            required.append(name)
        if nullable:
            prop["nullable"] = True
        if field.description is not None:
            prop["description"] = field.description
        number = int if json_type.get("type") == "integer" else float
        if field.ge is not None:
            prop["minimum"] = number(field.ge)
        if field.le is not None:
            prop["maximum"] = number(field.le)
        for key, value in (
            ("minLength", field.min_length),
            ("maxLength", field.max_length),
            ("pattern", field.regex),
        ):
            if value is not None:
                prop[key] = value
        properties[name] = prop
    schema: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema, enums


def _envelope_schemas() -> dict[str, Any]:
    def text(title: str, **extra: Any) -> dict[str, Any]:
        return {"title": title, "type": "string", **extra}

    return {
        "PredictionRequest": {
            "title": "PredictionRequest",
            "type": "object",
            "properties": {"id": text("Id"), "input": {"$ref": "#/components/schemas/Input"}},
        },
        "PredictionResponse": {
            "title": "PredictionResponse",
            "type": "object",
            "properties": {
                "input": {"$ref": "#/components/schemas/Input"},
                "output": {"$ref": "#/components/schemas/Output"},
                "id": text("Id"),
                "version": text("Version"),
                "created_at": text("Created At", format="date-time"),
                "started_at": text("Started At", format="date-time"),
                "completed_at": text("Completed At", format="date-time"),
                "status": text("Status"),
                "error": text("Error"),
                "logs": text("Logs"),
                "metrics": {"title": "Metrics", "type": "object"},
            },
        },
        "Status": {
            "title": "Status",
            "description": "An enumeration.",
            "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
            "type": "string",
        },
        "HTTPValidationError": {
            "title": "HTTPValidationError",
            "type": "object",
            "properties": {
                "detail": {
                    "title": "Detail",
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ValidationError"},
                }
            },
        },
        "ValidationError": {
            "title": "ValidationError",
            "required": ["loc", "msg", "type"],
            "type": "object",
            "properties": {
                "loc": {
                    "title": "Location",
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                },
                "msg": text("Message"),
                "type": text("Error Type"),
            },
        },
    }


def _training_envelopes() -> dict[str, Any]:
    envelopes = _envelope_schemas()
    request = json.loads(
        json.dumps(envelopes["PredictionRequest"]).replace("PredictionRequest", "TrainingRequest")
    )
    response = json.loads(
        json.dumps(envelopes["PredictionResponse"]).replace("PredictionResponse", "TrainingResponse")
    )
    for envelope in (request, response):
        envelope["properties"]["input"] = {"$ref": "#/components/schemas/TrainingInput"}
    response["properties"]["output"] = {"$ref": "#/components/schemas/TrainingOutput"}
    return {"TrainingRequest": request, "TrainingResponse": response}


def _training_paths() -> dict[str, Any]:
    return {
        "/trainings": _run_path("Train", "train_trainings_post", "TrainingRequest", "TrainingResponse"),
        "/trainings/{training_id}/cancel": _cancel_path(
            "Cancel Training", "cancel_training_trainings__training_id__cancel_post", "training_id"
        ),
    }


def _run_path(summary: str, operation_id: str, request: str, response: str, **extra: str) -> dict[str, Any]:
    """POST of a request schema answered by a response schema (extra: a description, as Cog writes it)."""
    return {
        "post": {
            "summary": summary,
            **extra,
            "operationId": operation_id,
            "requestBody": {
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}}
            },
            "responses": {
                "200": _json_response({"$ref": f"#/components/schemas/{response}"}),
                "422": _validation_error(),
            },
        }
    }


def _cancel_path(summary: str, operation_id: str, name: str) -> dict[str, Any]:
    """POST that cancels the run named by the path parameter `name`."""
    title = name.replace("_", " ").title()
    return {
        "post": {
            "summary": summary,
            "operationId": operation_id,
            "parameters": [
                {"required": True, "schema": {"title": title, "type": "string"}, "name": name, "in": "path"}
            ],
            "responses": {"200": _json_response({}), "422": _validation_error()},
        }
    }


def _json_response(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "Successful Response", "content": {"application/json": {"schema": schema}}}


def _validation_error() -> dict[str, Any]:
    return {
        "description": "Validation Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
    }


def _paths() -> dict[str, Any]:
    return {
        "/": {
            "get": {"summary": "Root", "operationId": "root__get", "responses": {"200": _json_response({})}}
        },
        "/health-check": {
            "get": {
                "summary": "Healthcheck",
                "operationId": "healthcheck_health_check_get",
                "responses": {"200": _json_response({})},
            }
        },
        "/predictions": _run_path(
            "Predict",
            "predict_predictions_post",
            "PredictionRequest",
            "PredictionResponse",
            description="Run a single prediction on the model",
        ),
        "/predictions/{prediction_id}/cancel": _cancel_path(
            "Cancel", "cancel_predictions__prediction_id__cancel_post", "prediction_id"
        ),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plitka.cog_schema", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed schema is out of date")
    args = parser.parse_args(argv)
    text = render(build_schema())
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date: run python -m plitka.cog_schema", file=sys.stderr)
            return 1
        print(f"{SCHEMA_PATH} is up to date")
        return 0
    SCHEMA_PATH.parent.mkdir(exist_ok=True)
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
