"""The JSON schemas Glance serves at /v2/schemas/metadefs/...: what a dashboard builds its forms from."""

from __future__ import annotations

from andromede.image.metadefs.bodies import PROPERTY_TYPES

_STAMPS = {"created_at": {"type": "string", "readOnly": True, "description": "Date and time of creation",
                          "format": "date-time"},
           "updated_at": {"type": "string", "readOnly": True, "description": "Date and time of the last change",
                          "format": "date-time"}}
_STRING_ARRAY = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}

PROPERTY_FRAGMENT: dict = {
    "type": "object",
    "required": ["title", "type"],
    "properties": {
        "name": {"type": "string", "maxLength": 255},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": _STRING_ARRAY,
        "type": {"type": "string", "enum": list(PROPERTY_TYPES)},
        "readonly": {"type": "boolean"},
        "default": {},
        "enum": {"type": "array"},
        "minimum": {"type": "number"}, "maximum": {"type": "number"},
        "maxLength": {"type": "integer", "minimum": 0}, "minLength": {"type": "integer", "minimum": 0},
        "pattern": {"type": "string", "format": "regex"},
        "items": {"type": "object"},
        "uniqueItems": {"type": "boolean", "default": False},
        "minItems": {"type": "integer", "minimum": 0}, "maxItems": {"type": "integer", "minimum": 0},
        "additionalItems": {"type": "boolean"},
    },
}


def _schema(name: str, properties: dict, required: list[str], links: list[dict] | None = None,
            definitions: dict | None = None) -> dict:
    doc: dict = {"name": name, "properties": properties, "additionalProperties": False, "required": required}
    if definitions:
        doc["definitions"] = definitions
    if links:
        doc["links"] = links
    return doc


def _collection(name: str, item: dict) -> dict:
    return {"name": name,
            "properties": {name: {"type": "array", "items": item}, "first": {"type": "string"},
                           "next": {"type": "string"}, "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


_DEFINITIONS = {"property": {"type": "object", "additionalProperties": PROPERTY_FRAGMENT},
                "positiveInteger": {"type": "integer", "minimum": 0},
                "stringArray": _STRING_ARRAY}

RESOURCE_TYPE_ASSOCIATION = _schema("resource_type_association", {
    "name": {"type": "string", "maxLength": 80,
             "description": "Resource type names should be aligned with Heat resource types whenever possible: "
                            "e.g. OS::Glance::Image, OS::Nova::Flavor."},
    "prefix": {"type": "string", "maxLength": 80,
               "description": "Prepended to the namespace's properties when applied to this resource type "
                              "(e.g. hw_)."},
    "properties_target": {"type": "string", "maxLength": 80,
                          "description": "Which part of the resource the properties go to, when it has several."},
    **_STAMPS}, ["name"])
TAG = _schema("tag", {"name": {"type": "string", "maxLength": 255}, **_STAMPS}, ["name"])
OBJECT = _schema("object", {
    "name": {"type": "string", "maxLength": 255},
    "description": {"type": "string"},
    "required": {"$ref": "#/definitions/stringArray"},
    "properties": {"$ref": "#/definitions/property"},
    "schema": {"type": "string", "readOnly": True}, "self": {"type": "string", "readOnly": True},
    **_STAMPS}, ["name"], [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}],
    _DEFINITIONS)
PROPERTY = _schema("property", {k: v for k, v in PROPERTY_FRAGMENT["properties"].items()},
                   ["name", "title", "type"], definitions=_DEFINITIONS)
NAMESPACE = _schema("namespace", {
    "namespace": {"type": "string", "maxLength": 80,
                  "description": "The unique namespace text."},
    "display_name": {"type": "string", "maxLength": 80,
                     "description": "The user friendly name for the namespace. Used by UI if available."},
    "description": {"type": "string", "maxLength": 500, "description": "Provides a user friendly description."},
    "visibility": {"type": "string", "enum": ["public", "private"],
                   "description": "Scope of namespace accessibility."},
    "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
    "owner": {"type": "string", "maxLength": 255, "description": "Owner of the namespace."},
    "resource_type_associations": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "prefix": {"type": "string"}, "properties_target": {"type": "string"}}}},
    "properties": {"$ref": "#/definitions/property"},
    "objects": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"}, "properties": {"$ref": "#/definitions/property"}}}},
    "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    "schema": {"type": "string", "readOnly": True}, "self": {"type": "string", "readOnly": True},
    **_STAMPS}, ["namespace"], [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}],
    _DEFINITIONS)

SCHEMAS: dict[str, dict] = {
    "namespace": NAMESPACE, "namespaces": _collection("namespaces", NAMESPACE),
    "object": OBJECT, "objects": _collection("objects", OBJECT),
    "property": PROPERTY,
    "properties": {"name": "properties", "properties": {"properties": {"$ref": "#/definitions/property"}},
                   "definitions": _DEFINITIONS},
    "tag": TAG, "tags": _collection("tags", TAG),
    "resource_type": RESOURCE_TYPE_ASSOCIATION,
    "resource_types": _collection("resource_type_associations", RESOURCE_TYPE_ASSOCIATION),
}
