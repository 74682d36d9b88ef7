"""Servers: the API writes desired state and bumps the host's generation; agents report what they see."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andromede.common.clock import isotime, parse_isotime, utcnow
from andromede.common.config import Settings
from andromede.common.context import RequestContext
from andromede.common.errors import BadRequest, Conflict, Forbidden, NotFound
from andromede.common.patterns import compile_filter
from andromede.compute import flavors, instance_actions, keypairs, networking, scheduler, server_groups
from andromede.compute.models import Flavor, Instance
from andromede.compute.schemas import RebuildBody, ServerCreate, ServerUpdate
from andromede.contracts.compute import ImageRef, InstanceDesired, Nic, VolumeRef, desired_power
from andromede.db import changes
from andromede.hosts import service as hosts
from andromede.image import for_compute as images
from andromede.image.for_compute import BootImage

MAX_USER_DATA = 65535
BOOTABLE_DISK_FORMATS = ("qcow2", "raw")  # what the host agents' image cache hands QEMU
GIB = 1024**3
# What a host's compute agent long-polls for. Its generation is the host's desired generation (hosts/service.py),
# advanced in the changing transaction because the changed instance records it (desired_seq).
TOPIC = "compute"
changes.stored_by_its_service(TOPIC)
QUOTA_DEFAULTS = {"instances": 10, "cores": 20, "ram": 51200}


def status_of(instance: Instance) -> str:
    vm, task = instance.vm_state, instance.task_state
    if instance.desired_power == "deleted" or vm == "deleted":
        return "DELETED"
    if vm == "building":
        return "BUILD"
    if task == "rebuilding":  # whatever the vm state, as Nova's state map has it
        return "REBUILD"
    if vm == "error":
        return "ERROR"
    if vm == "stopped":
        return "SHUTOFF"
    if task in ("rebooting", "reboot_pending", "reboot_started"):
        return "REBOOT"
    if task in ("rebooting_hard", "reboot_pending_hard", "reboot_started_hard"):
        return "HARD_REBOOT"
    return "ACTIVE"


def _not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.")


def get(session: Session, ctx: RequestContext, server_id: str) -> Instance:
    instance = session.get(Instance, server_id) if len(server_id) == 36 else None
    if (instance is None or instance.deleted or instance.desired_power == "deleted"
            or (not ctx.is_admin and instance.project_id != ctx.project_id)):
        raise _not_found(server_id)
    return instance


def bump(session: Session, instance: Instance) -> None:
    """Mark the instance changed for its host's agent: the host's generation moves, and its long-poll wakes at
    commit."""
    instance.updated_at = utcnow()
    if instance.host is None:
        return
    instance.desired_seq = hosts.advance_generation(session, instance.host)
    changes.mark(session, TOPIC, [instance.host])


def decode_user_data(text: str | None) -> None:
    if text is None:
        return
    if len(text) > MAX_USER_DATA:
        raise BadRequest(f"User data too large. User data must be no larger than {MAX_USER_DATA} bytes once "
                         "base64 encoded.")
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("User data needs to be valid base 64.") from exc


def _root_image(body: ServerCreate) -> str:
    """The image the root disk is made from. A block device mapping may only restate it (OSC sends one)."""
    image_ref = body.imageRef
    for mapping in body.block_device_mapping_v2 or []:
        local_image = (mapping.get("source_type") == "image" and mapping.get("destination_type", "local") == "local"
                       and str(mapping.get("boot_index", 0)) == "0" and isinstance(mapping.get("uuid"), str))
        if not local_image or (image_ref and mapping["uuid"] != image_ref.rstrip("/").rsplit("/", 1)[-1]):
            raise BadRequest("Volumes are not available yet: only the image's local root disk can be mapped.")
        image_ref = image_ref or mapping["uuid"]
    if not image_ref:
        raise BadRequest("Booting from a volume is not available yet: give an imageRef.")
    return image_ref


def bootable_image(session: Session, ctx: RequestContext, image_id: str) -> BootImage:
    """The image a server boots from, refused as Nova refuses it (400) when no host could ever boot it."""
    try:
        image = images.visible_image(session, ctx, image_id)
    except NotFound:
        raise BadRequest(f"Image {image_id} could not be found.") from None
    if image.status != "active":  # queued (no data yet), saving, deactivated, killed...
        raise BadRequest(f"Image {image_id} is not active.")
    if not image.disk_format or not image.container_format:
        raise BadRequest(f"Image {image_id} is unacceptable: it has no disk format or container format.")
    if image.disk_format not in BOOTABLE_DISK_FORMATS:
        raise BadRequest(f"Image {image_id} is unacceptable: disk format {image.disk_format} cannot boot a server "
                         f"here ({' or '.join(BOOTABLE_DISK_FORMATS)} needed).")
    return image


def _image_bytes(image: BootImage) -> int:
    """The disk the image fills: its virtual size (a qcow2 grows to it), else its size."""
    return max(image.virtual_size or 0, image.size or 0)


def check_flavor_fits(flavor: Flavor, image: BootImage) -> None:
    """Nova's checks, in its order and words; a flavor disk of 0 means "as large as the image" (never too small)."""
    if flavor.ram < (image.min_ram or 0):
        raise BadRequest("Flavor's memory is too small for requested image.")
    flavor_bytes, image_bytes, min_disk_bytes = flavor.disk * GIB, _image_bytes(image), (image.min_disk or 0) * GIB
    if not flavor_bytes:
        return
    if image_bytes > flavor_bytes:
        raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is {flavor_bytes} bytes, "
                         f"image is {image_bytes} bytes.")
    if min_disk_bytes > flavor_bytes:
        raise BadRequest(f"Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk "
                         f"is {flavor_bytes} bytes, minimum size is {min_disk_bytes} bytes.")


def _hostname(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return cleaned or "server"


def _check_quota(session: Session, project_id: str, min_count: int, max_count: int, vcpus: int, ram: int) -> int:
    """How many servers to make: max_count, or as many as the quota leaves when that is at least min_count (Nova's
    multiple create); otherwise Nova's 403 for min_count."""
    used_instances, used_cores, used_ram = session.execute(
        select(func.count(), func.coalesce(func.sum(Instance.flavor["vcpus"].as_integer()), 0),
               func.coalesce(func.sum(Instance.flavor["ram"].as_integer()), 0))
        .where(Instance.project_id == project_id, Instance.deleted.is_(False))).one()
    count = max_count
    for resource, used, each in (("instances", used_instances, 1), ("cores", used_cores, vcpus),
                                 ("ram", used_ram, ram)):
        left = QUOTA_DEFAULTS[resource] - used
        count = min(count, left // each if each else max_count)
    if count >= min_count:
        return count
    for resource, used, each in (("instances", used_instances, 1), ("cores", used_cores, vcpus),
                                 ("ram", used_ram, ram)):
        if used + each * min_count > QUOTA_DEFAULTS[resource]:
            raise Forbidden(f"Quota exceeded for {resource}: Requested {each * min_count}, but already used {used} "
                            f"of {QUOTA_DEFAULTS[resource]} {resource}")
    return min_count


def create(session: Session, settings: Settings, ctx: RequestContext, body: ServerCreate,
           hints: dict | None = None) -> list[Instance]:
    image_ref = _root_image(body)
    if body.personality:
        raise BadRequest("Personality files are not supported; use user_data.")
    if body.min_count > body.max_count:
        raise BadRequest("min_count must be <= max_count")
    decode_user_data(body.user_data)

    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    image = bootable_image(session, ctx, image_id)
    flavor_id = str(body.flavorRef).rstrip("/").rsplit("/", 1)[-1]
    try:
        flavor = flavors.get(session, ctx, flavor_id)
    except NotFound:
        raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
    if flavor.disabled:
        raise BadRequest(f"Flavor {flavor_id} is disabled.")
    check_flavor_fits(flavor, image)
    image_gib = -(-_image_bytes(image) // GIB)
    key_data = None
    if body.key_name is not None:
        try:
            key_data = keypairs.get(session, ctx.user_id or "", body.key_name).public_key
        except NotFound:
            raise BadRequest(f"Invalid key_name provided: {body.key_name}.") from None
    zone = body.availability_zone.split(":", 1)[0] if body.availability_zone else None
    if zone and not hosts.zone_exists(session, zone):
        raise BadRequest(f"The requested availability zone is not available: {zone}")

    count = body.max_count
    count = _check_quota(session, ctx.project_id or "", body.min_count, count, flavor.vcpus, flavor.ram)
    nic_requests = networking.requests_for(session, ctx, body.networks, count)
    groups = networking.security_groups_for(session, ctx, [sg.name for sg in body.security_groups or []])
    server_group = server_groups.from_hints(session, ctx, hints)
    root_gib = flavor.disk or max(image.min_disk, image_gib, 1)
    want = scheduler.Request(vcpus=flavor.vcpus, memory_mib=flavor.ram, disk_gib=root_gib, availability_zone=zone)
    snapshot = {"id": flavor.id, "name": flavor.name, "vcpus": flavor.vcpus, "ram": flavor.ram, "disk": root_gib,
                "ephemeral": flavor.ephemeral, "swap": flavor.swap, "extra_specs": dict(flavor.extra_specs)}
    reservation = "r-" + secrets.token_hex(4)
    created: list[Instance] = []
    for index in range(count):
        name = body.name if body.max_count == 1 else f"{body.name}-{index + 1}"  # Nova's default template
        instance = Instance(
            uuid=str(uuid.uuid4()), project_id=ctx.project_id or "", user_id=ctx.user_id or "", name=name,
            hostname=body.hostname or _hostname(name), image_id=image.id, flavor_id=flavor.id, flavor=snapshot,
            key_name=body.key_name, key_data=key_data, user_data=body.user_data, meta=dict(body.metadata),
            config_drive=bool(settings.force_config_drive or body.config_drive in (True, "true", "True")),
            access_ip_v4=body.accessIPv4, access_ip_v6=body.accessIPv6,
            availability_zone=zone or "nova", launch_index=index, reservation_id=reservation,
            disk_config=body.disk_config or "MANUAL",
            description=body.description, tags=list(dict.fromkeys(body.tags)) if body.tags else None,
            vm_state="building", task_state="scheduling")
        arrange = server_groups.arrangement(session, server_group) if server_group is not None else None
        try:
            instance.host = scheduler.schedule(session, want, arrange)
            instance.task_state = "spawning"
        except scheduler.NoValidHost as exc:
            instance.vm_state, instance.task_state = "error", None
            instance.fault = {"code": 500, "message": str(exc), "created": isotime(utcnow(), subsecond=False)}
        session.add(instance)
        session.flush()
        if server_group is not None:
            server_groups.add_member(session, server_group, instance.uuid)
        if instance.host is None:
            instance_actions.record(session, ctx, instance, "create",
                                    unscheduled=(instance.fault or {}).get("message", ""))
        else:
            instance_actions.record(session, ctx, instance, "create")
        if instance.host is not None:  # Nova frees the network of a server that could not be placed
            networking.allocate(session, ctx, instance, nic_requests, groups)
        bump(session, instance)
        created.append(instance)
    return created


_PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")  # none that look alike


def random_password(length: int = 12) -> str:
    """Nova's generated adminPass: `length` characters, at least one of each group, letters and digits only."""
    chosen = [secrets.choice(group) for group in _PASSWORD_GROUPS]
    everything = "".join(_PASSWORD_GROUPS)
    chosen += [secrets.choice(everything) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def set_access_ips(instance: Instance, body: ServerUpdate | RebuildBody) -> None:
    """accessIPv4 / accessIPv6 as the update gives them (null clears); nothing on the host changes."""
    given = body.model_fields_set & {"accessIPv4", "accessIPv6"}
    if "accessIPv4" in given:
        instance.access_ip_v4 = body.accessIPv4
    if "accessIPv6" in given:
        instance.access_ip_v6 = body.accessIPv6
    if given:
        instance.updated_at = utcnow()


def list_servers(session: Session, ctx: RequestContext, params: dict[str, str],
                 keep: Callable[[Instance], bool] | None = None) -> list[Instance]:
    """The servers the filters in params select; keep (the later microversions' filters) before the page is cut."""
    query = select(Instance).where(Instance.deleted.is_(False), Instance.desired_power != "deleted")
    all_tenants = ctx.is_admin and params.get("all_tenants", "no").lower() in ("1", "true", "")
    if not all_tenants:
        query = query.where(Instance.project_id == (params.get("project_id") if ctx.is_admin and
                                                    params.get("project_id") else ctx.project_id))
    if "changes-since" in params:
        try:
            query = query.where(Instance.updated_at >= parse_isotime(params["changes-since"]))
        except ValueError as exc:
            raise BadRequest("Invalid changes-since value.") from exc
    rows = list(session.scalars(query.order_by(Instance.created_at.desc(), Instance.uuid.desc())))
    if "name" in params:
        pattern = compile_filter(params["name"], "name")
        rows = [row for row in rows if pattern.search(row.name)]
    if "reservation_id" in params:
        rows = [row for row in rows if row.reservation_id == params["reservation_id"]]
    if "status" in params:
        wanted = params["status"].upper()
        rows = [row for row in rows if status_of(row) == wanted]
    if ctx.is_admin and "host" in params:  # an admin-only filter, ignored for others as Nova does
        rows = [row for row in rows if row.host == params["host"]]
    for key in ("image", "flavor"):
        if key in params:
            rows = [row for row in rows if getattr(row, f"{key}_id") == params[key]]
    if keep is not None:
        rows = [row for row in rows if keep(row)]
    marker = params.get("marker")
    if marker:
        ids = [row.uuid for row in rows]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        rows = rows[ids.index(marker) + 1:]
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError as exc:
            raise BadRequest("limit must be an integer") from exc
        if limit < 0:
            raise BadRequest("limit must be >= 0")
        rows = rows[:limit]
    return rows


def transition(session: Session, instance: Instance, allowed: tuple[str, ...], action: str,
                change: Callable[[Instance], None]) -> None:
    status = status_of(instance)
    busy = instance.task_state is not None and status != "ERROR"
    if status not in allowed or busy:
        raise Conflict(f"Cannot '{action}' instance {instance.uuid} while it is in vm_state {instance.vm_state}"
                       f"{' and task_state ' + instance.task_state if instance.task_state else ''}")
    change(instance)
    bump(session, instance)


def stop(session: Session, instance: Instance) -> None:
    def change(i: Instance) -> None:
        i.desired_power, i.task_state = "shutoff", "powering-off"

    transition(session, instance, ("ACTIVE", "ERROR"), "stop", change)


def start(session: Session, instance: Instance) -> None:
    def change(i: Instance) -> None:
        i.desired_power, i.task_state = "running", "powering-on"

    transition(session, instance, ("SHUTOFF",), "start", change)


def reboot(session: Session, instance: Instance, hard: bool) -> None:
    def change(i: Instance) -> None:
        i.desired_power, i.reboot_seq, i.reboot_hard = "running", i.reboot_seq + 1, hard
        i.task_state = "rebooting_hard" if hard else "rebooting"

    allowed = ("ACTIVE", "SHUTOFF", "ERROR") if hard else ("ACTIVE",)
    transition(session, instance, allowed, "reboot", change)


def delete(session: Session, instance: Instance) -> Instance:
    networking.deallocate(session, instance)
    if instance.host is None:  # never placed: nothing on any host to clean up
        instance.deleted, instance.vm_state, instance.terminated_at = True, "deleted", utcnow()
        return instance
    instance.desired_power, instance.task_state = "deleted", "deleting"
    bump(session, instance)
    return instance


def console_tail(instance: Instance, length: int | None) -> str:
    if length is None or length < 0:
        return instance.console
    lines = instance.console.splitlines(keepends=True)
    return "".join(lines[-length:]) if length else ""


# ---- what the agent sees and says --------------------------------------------------------------

def desired_doc(instance: Instance, image: ImageRef, nics: list[Nic],
                network_data: dict | None = None, volumes: tuple[VolumeRef, ...] = ()) -> InstanceDesired:
    return InstanceDesired(
        uuid=instance.uuid, hostname=instance.hostname, name=instance.name, project_id=instance.project_id,
        vcpus=instance.flavor.get("vcpus", 1), memory_mib=instance.flavor.get("ram", 256),
        root_gib=instance.flavor.get("disk", 1), image=image, desired_power=desired_power(instance.desired_power),
        reboot_seq=instance.reboot_seq, reboot_hard=instance.reboot_hard, rebuild_seq=instance.rebuild_seq,
        seq=instance.desired_seq,
        config_drive=instance.config_drive, key_name=instance.key_name, key_data=instance.key_data,
        user_data=instance.user_data, meta=instance.meta, availability_zone=instance.availability_zone,
        launch_index=instance.launch_index, nics=tuple(nics), network_data=network_data, volumes=volumes)


def apply_observed(session: Session, instance: Instance, report: dict) -> None:
    """Fold an agent's report into the API-visible state; desired state is never changed here."""
    power = report.get("power")
    now = utcnow()
    was_busy = instance.task_state is not None
    rebuilt = int(report.get("rebuild_seq", 0)) >= instance.rebuild_seq  # until then it stays REBUILD
    if "console" in report and isinstance(report["console"], str):
        instance.console = report["console"][-128 * 1024:]
    if report.get("fault"):
        instance.vm_state, instance.task_state, instance.power_state = "error", None, 0
        instance.fault = {"code": 500, "message": str(report["fault"])[:255],
                          "created": isotime(now, subsecond=False)}
    elif power == "missing" and instance.desired_power == "deleted":
        instance.deleted, instance.vm_state, instance.task_state = True, "deleted", None
        instance.terminated_at = now
        if instance.host:
            scheduler.release(session, instance.host, scheduler.Request(
                vcpus=instance.flavor.get("vcpus", 0), memory_mib=instance.flavor.get("ram", 0),
                disk_gib=instance.flavor.get("disk", 0)))
    elif power == "running" and instance.desired_power == "running":
        if rebuilt:
            instance.vm_state, instance.power_state, instance.fault = "active", 1, None
        instance.observed_reboot_seq = int(report.get("reboot_seq", instance.observed_reboot_seq))
        if instance.observed_reboot_seq >= instance.reboot_seq and rebuilt:
            instance.task_state = None
        instance.launched_at = instance.launched_at or now
    elif power == "shutoff" and instance.desired_power == "shutoff":
        instance.power_state = 4
        if rebuilt:
            instance.vm_state, instance.task_state = "stopped", None
    elif power == "shutoff":
        instance.power_state = 4  # it went down behind our back; the agent brings it back
    instance.updated_at = now
    if was_busy or instance.deleted or instance.vm_state == "error":  # a report that may end an action's events
        instance_actions.settle(session, instance)

