"""Glance's default RBAC: readers read, members manage their project's images, admins publicize.

Which images a project can see (owner, public, community, shared with it) is decided by the image
service itself, so another project's private image is a 404 and never a 403.
"""

from __future__ import annotations

from andromede.policy.checks import MEMBER, READER
from andromede.policy.enforcer import register, rule_maker

V2 = "/image/v2"

_rule = rule_maker("image", V2)


register(
    _rule("get_images", READER, "List images.", ("GET", "/images")),
    _rule("get_usage", READER, "Show the project's image quotas and usage.", ("GET", "/info/usage")),
    _rule("get_image", READER, "Show an image.", ("GET", "/images/{image_id}")),
    _rule("add_image", MEMBER, "Create an image.", ("POST", "/images")),
    _rule("modify_image", MEMBER, "Update an image, its tags.", ("PATCH", "/images/{image_id}")),
    _rule("delete_image", MEMBER, "Delete an image.", ("DELETE", "/images/{image_id}")),
    _rule("upload_image", MEMBER, "Upload image data.", ("PUT", "/images/{image_id}/file")),
    _rule("download_image", READER, "Download image data.", ("GET", "/images/{image_id}/file")),
    _rule("deactivate", MEMBER, "Deactivate an image.", ("POST", "/images/{image_id}/actions/deactivate")),
    _rule("reactivate", MEMBER, "Reactivate an image.", ("POST", "/images/{image_id}/actions/reactivate")),
    _rule("add_member", MEMBER, "Share an image.", ("POST", "/images/{image_id}/members")),
    _rule("get_members", READER, "List image members, read their schemas.", ("GET", "/images/{image_id}/members"),
          ("GET", "/schemas/member"), ("GET", "/schemas/members")),
    _rule("get_member", READER, "Show an image member.", ("GET", "/images/{image_id}/members/{member}")),
    _rule("modify_member", MEMBER, "Accept or reject a shared image.", ("PUT", "/images/{image_id}/members/{member}")),
    _rule("delete_member", MEMBER, "Stop sharing an image.", ("DELETE", "/images/{image_id}/members/{member}")),
)

# Discovery, and metadata definitions. Glance keeps metadefs writes to admins; here a project may also keep private
# namespaces of its own. Which namespaces a project sees or changes (public ones: admins only) is the service's call.
register(
    _rule("get_import_info", READER, "Show the image import methods.", ("GET", "/info/import")),
    _rule("get_stores", READER, "List the image stores.", ("GET", "/info/stores")),
    _rule("get_metadef_namespaces", READER, "List metadata definition namespaces, read their schemas.",
          ("GET", "/metadefs/namespaces"), ("GET", "/schemas/metadefs/{name}")),
    _rule("get_metadef_namespace", READER, "Show a metadata definition namespace.",
          ("GET", "/metadefs/namespaces/{namespace}")),
    _rule("add_metadef_namespace", MEMBER, "Create a metadata definition namespace.",
          ("POST", "/metadefs/namespaces")),
    _rule("modify_metadef_namespace", MEMBER, "Update a metadata definition namespace.",
          ("PUT", "/metadefs/namespaces/{namespace}")),
    _rule("delete_metadef_namespace", MEMBER, "Delete a metadata definition namespace.",
          ("DELETE", "/metadefs/namespaces/{namespace}")),
    _rule("get_metadef_objects", READER, "List a namespace's objects.",
          ("GET", "/metadefs/namespaces/{namespace}/objects")),
    _rule("get_metadef_object", READER, "Show a namespace's object.",
          ("GET", "/metadefs/namespaces/{namespace}/objects/{name}")),
    _rule("add_metadef_object", MEMBER, "Create an object in a namespace.",
          ("POST", "/metadefs/namespaces/{namespace}/objects")),
    _rule("modify_metadef_object", MEMBER, "Update an object of a namespace.",
          ("PUT", "/metadefs/namespaces/{namespace}/objects/{name}")),
    _rule("delete_metadef_object", MEMBER, "Delete one or all objects of a namespace.",
          ("DELETE", "/metadefs/namespaces/{namespace}/objects/{name}"),
          ("DELETE", "/metadefs/namespaces/{namespace}/objects")),
    _rule("get_metadef_properties", READER, "List a namespace's properties.",
          ("GET", "/metadefs/namespaces/{namespace}/properties")),
    _rule("get_metadef_property", READER, "Show a namespace's property.",
          ("GET", "/metadefs/namespaces/{namespace}/properties/{name}")),
    _rule("add_metadef_property", MEMBER, "Create a property in a namespace.",
          ("POST", "/metadefs/namespaces/{namespace}/properties")),
    _rule("modify_metadef_property", MEMBER, "Update a property of a namespace.",
          ("PUT", "/metadefs/namespaces/{namespace}/properties/{name}")),
    _rule("remove_metadef_property", MEMBER, "Delete one or all properties of a namespace.",
          ("DELETE", "/metadefs/namespaces/{namespace}/properties/{name}"),
          ("DELETE", "/metadefs/namespaces/{namespace}/properties")),
    _rule("get_metadef_tags", READER, "List a namespace's tags.", ("GET", "/metadefs/namespaces/{namespace}/tags")),
    _rule("get_metadef_tag", READER, "Show a namespace's tag.",
          ("GET", "/metadefs/namespaces/{namespace}/tags/{name}")),
    _rule("add_metadef_tag", MEMBER, "Create a tag in a namespace.",
          ("POST", "/metadefs/namespaces/{namespace}/tags/{name}")),
    _rule("add_metadef_tags", MEMBER, "Create, or replace, a namespace's tags.",
          ("POST", "/metadefs/namespaces/{namespace}/tags")),
    _rule("modify_metadef_tag", MEMBER, "Rename a tag of a namespace.",
          ("PUT", "/metadefs/namespaces/{namespace}/tags/{name}")),
    _rule("delete_metadef_tag", MEMBER, "Delete a tag of a namespace.",
          ("DELETE", "/metadefs/namespaces/{namespace}/tags/{name}")),
    _rule("delete_metadef_tags", MEMBER, "Delete all tags of a namespace.",
          ("DELETE", "/metadefs/namespaces/{namespace}/tags")),
    _rule("list_metadef_resource_types", READER, "List resource types.", ("GET", "/metadefs/resource_types")),
    _rule("get_metadef_resource_type", READER, "List a namespace's resource type associations.",
          ("GET", "/metadefs/namespaces/{namespace}/resource_types")),
    _rule("add_metadef_resource_type_association", MEMBER, "Associate a namespace with a resource type.",
          ("POST", "/metadefs/namespaces/{namespace}/resource_types")),
    _rule("remove_metadef_resource_type_association", MEMBER, "Dissociate a namespace from a resource type.",
          ("DELETE", "/metadefs/namespaces/{namespace}/resource_types/{name}")),
)
