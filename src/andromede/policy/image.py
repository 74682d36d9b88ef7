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
    _rule("get_members", READER, "List image members.", ("GET", "/images/{image_id}/members")),
    _rule("get_member", READER, "Show an image member.", ("GET", "/images/{image_id}/members/{member}")),
    _rule("modify_member", MEMBER, "Accept or reject a shared image.", ("PUT", "/images/{image_id}/members/{member}")),
    _rule("delete_member", MEMBER, "Stop sharing an image.", ("DELETE", "/images/{image_id}/members/{member}")),
)
