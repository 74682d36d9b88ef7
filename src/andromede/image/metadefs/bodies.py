"""What a client may send to /v2/metadefs: namespaces, objects, properties (JSON-schema fragments), tags and
resource-type associations, with Glance's lengths."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, StringConstraints

Name80 = Annotated[StrictStr, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f/]+$")]
Name255 = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/]+$")]
# A database text column holds no NUL (PostgreSQL refuses it): free text may span lines, short labels may not.
Text = Annotated[StrictStr, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
Owner = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Label80 = Annotated[StrictStr, StringConstraints(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")]
PROPERTY_TYPES = ("array", "boolean", "integer", "number", "object", "string", "null")
# Attributes of our own answers that a client may send back unchanged (the SDK does); they are ignored.
ECHOED = frozenset({"created_at", "updated_at", "self", "schema"})


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


class PropertyBody(_Body):
    name: Name255 | None = None
    title: Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
    type: Literal["array", "boolean", "integer", "number", "object", "string", "null"]
    description: Text | None = None
    default: Any = None
    enum: list[Any] | None = None
    minimum: StrictInt | float | None = None
    maximum: StrictInt | float | None = None
    pattern: Annotated[StrictStr, StringConstraints(max_length=255)] | None = None
    min_length: Annotated[StrictInt, Field(ge=0)] | None = Field(default=None, alias="minLength")
    max_length: Annotated[StrictInt, Field(ge=0)] | None = Field(default=None, alias="maxLength")
    items: dict[str, Any] | None = None
    unique_items: StrictBool | None = Field(default=None, alias="uniqueItems")
    min_items: Annotated[StrictInt, Field(ge=0)] | None = Field(default=None, alias="minItems")
    max_items: Annotated[StrictInt, Field(ge=0)] | None = Field(default=None, alias="maxItems")
    additional_items: StrictBool | None = Field(default=None, alias="additionalItems")
    readonly: StrictBool | None = None
    operators: list[Annotated[StrictStr, StringConstraints(max_length=80)]] | None = None

    def schema_fragment(self) -> dict:
        """The stored JSON-schema body: what was given, without the name (the key it is stored under)."""
        return self.model_dump(by_alias=True, exclude_none=True, exclude={"name"})


class ObjectBody(_Body):
    name: Name255
    description: Text | None = None
    required: list[Name255] = Field(default_factory=list)
    properties: dict[Name255, PropertyBody] = Field(default_factory=dict)

    def stored(self) -> dict:
        body: dict = {"required": self.required,
                      "properties": {k: v.schema_fragment() for k, v in self.properties.items()}}
        if self.description is not None:
            body["description"] = self.description
        return body


class TagBody(_Body):
    name: Name255


class TagsBody(_Body):
    tags: list[TagBody]


class AssociationBody(_Body):
    name: Name80
    prefix: Label80 | None = None
    properties_target: Label80 | None = None


class NamespaceBody(_Body):
    namespace: Name80
    display_name: Label80 | None = None
    description: Text | None = None
    visibility: Literal["public", "private"] | None = None
    protected: StrictBool | None = None
    owner: Owner | None = None
    properties: dict[Name255, PropertyBody] = Field(default_factory=dict)
    objects: list[ObjectBody] = Field(default_factory=list)
    tags: list[TagBody] = Field(default_factory=list)
    resource_type_associations: list[AssociationBody] = Field(default_factory=list)


def without_echoed(body: object) -> object:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ECHOED}
    return body
