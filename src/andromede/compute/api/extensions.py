"""/extensions: Nova's frozen v2.1 extension list, cut to what this cloud serves (clients probe it for features)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.policy import enforce
from andromede.servicekit.deps import context

router = APIRouter(prefix="/v2.1/extensions")

# (alias, name, description), as Nova's extension_info lists them
SERVED = (
    ("OS-DCF", "DiskConfig", "Disk Management Extension."),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support."),
    ("OS-EXT-IPS", "ExtendedIps", "Adds type parameter to the ip list."),
    ("OS-EXT-IPS-MAC", "ExtendedIpsMac", "Adds mac address parameter to the ip list."),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Extended Server Attributes support."),
    ("OS-EXT-STS", "ExtendedStatus", "Extended Status support."),
    ("OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of a flavor."),
    ("OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors."),
    ("OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."),
    ("OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers."),
    ("os-attach-interfaces", "AttachInterfaces", "Attach interface support."),
    ("os-availability-zone", "AvailabilityZone", "1. Add availability_zone to the Create Server API.\n"
     "        2. Add availability zones describing.\n        "),
    ("os-console-output", "ConsoleOutput", "Console log output support, with tailing ability."),
    ("images", "Images", "Images."),
    ("os-floating-ips", "FloatingIps", "Floating IPs support."),
    ("os-flavor-access", "FlavorAccess", "Flavor access support."),
    ("os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support."),
    ("os-flavor-manage", "FlavorManage", "Flavor create/delete API support."),
    ("os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor."),
    ("os-hypervisors", "Hypervisors", "Admin-only hypervisor administration."),
    ("os-instance-actions", "InstanceActions", "View a log of actions and events taken on an instance."),
    ("os-keypairs", "Keypairs", "Keypair Support."),
    ("os-multinic", "Multinic", "Multiple network support."),
    ("os-multiple-create", "MultipleCreate", "Allow multiple create in the Create Server v2.1 API."),
    ("os-security-groups", "SecurityGroups", "Security group support."),
    ("os-server-groups", "ServerGroups", "Server group support."),
    ("os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support."),
    ("os-services", "Services", "Services support."),
    ("os-user-data", "UserData", "Add user_data to the Create Server API."),
)


def _doc(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "description": description, "links": [], "name": name,
            "namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2014-12-03T00:00:00Z"}


@router.get("")
def list_extensions(request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:extensions")
    return {"extensions": [_doc(*entry) for entry in sorted(SERVED, key=lambda e: e[1])]}


@router.get("/{alias}")
def show_extension(alias: str, request: Request, ctx: RequestContext = Depends(context)) -> dict:
    enforce(ctx, "compute:extensions")
    for entry in SERVED:
        if entry[0] == alias:
            return {"extension": _doc(*entry)}
    raise NotFound("The resource could not be found.")
