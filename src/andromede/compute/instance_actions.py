"""Instance actions (os-instance-actions): the audit of what was asked of a server, by whom, under which request.

The API opens an action with one event when it accepts a request; the event finishes when the host agent reports
the server settled (task state cleared), or fails with the server's fault. Names are Nova's, so tools that match on
them (`openstack server event list`) read them the same.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from andromede.common.clock import utcnow
from andromede.common.context import RequestContext
from andromede.common.errors import NotFound
from andromede.compute.action_models import InstanceAction, InstanceActionEvent
from andromede.compute.models import Instance

# action -> the event Nova's compute manager records for it
EVENTS = {
    "create": "compute__do_build_and_run_instance",
    "delete": "compute_terminate_instance",
    "stop": "compute_stop_instance",
    "start": "compute_start_instance",
    "reboot": "compute_reboot_instance",
    "addFixedIp": "compute_add_fixed_ip_to_instance",
    "removeFixedIp": "compute_remove_fixed_ip_from_instance",
    "attach_interface": "compute_attach_interface",
    "detach_interface": "compute_detach_interface",
    "rebuild": "compute_rebuild_instance",
    "attach_volume": "compute_attach_volume",
    "detach_volume": "compute_detach_volume",
}
# Over when the server's host reports the volume plugged or unplugged (finish_event), whatever the server's task.
VOLUME_EVENTS = (EVENTS["attach_volume"], EVENTS["detach_volume"])
# Nova records these with no event: the API alone does them (lock, unlock, resetState).
# Done by the API alone: the event is over when the request is.
SYNCHRONOUS = ("addFixedIp", "removeFixedIp", "attach_interface", "detach_interface")
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
_ACTIONS = InstanceAction.__table__
_EVENTS = InstanceActionEvent.__table__


def record(session: Session, ctx: RequestContext, instance: Instance, action: str, *,
           unscheduled: str | None = None) -> None:
    """Open the action and its event (Nova's names). Two plain INSERTs, not the unit of work: every request that
    acts on a server pays for this. `unscheduled`: a create the scheduler could not place, with why — Nova's
    conductor event fails and the action says Error."""
    now = utcnow()
    event = SCHEDULE_EVENT if unscheduled is not None else EVENTS.get(action)
    # Recorded after the request that set its task, the agent may have settled it already: no report would
    # end the event then (settle runs on reports that end a task). A deleted server's events all end at once.
    done = (event is None or unscheduled is not None or action in SYNCHRONOUS or instance.deleted
            or (instance.task_state is None and instance.vm_state != "error" and event not in VOLUME_EVENTS))
    action_id = session.scalar(insert(_ACTIONS).values(
        instance_uuid=instance.uuid, action=action, request_id=ctx.request_id, user_id=ctx.user_id or "",
        project_id=instance.project_id if ctx.project_id is None else ctx.project_id, start_time=now,
        updated_at=now, finish_time=now if done else None, message="Error" if unscheduled is not None else None,
    ).returning(_ACTIONS.c.id))
    if event is None:
        return
    session.execute(insert(_EVENTS).values(
        action_id=action_id, event=event, host=instance.host, start_time=now, finish_time=now if done else None,
        result=None if not done else "Error" if unscheduled is not None else "Success", traceback=unscheduled))


def settle(session: Session, instance: Instance) -> None:
    """Finish the server's running events once its agent reports it settled: Success, or Error with its fault."""
    if instance.task_state is not None and not instance.deleted:
        return
    failed = instance.vm_state == "error" and not instance.deleted
    with session.no_autoflush:  # the instance's own UPDATE waits for the commit: the write lock is held briefly
        open_events = session.execute(
            select(InstanceActionEvent, InstanceAction)
            .join(InstanceAction, InstanceAction.id == InstanceActionEvent.action_id)
            .where(InstanceAction.instance_uuid == instance.uuid, InstanceActionEvent.finish_time.is_(None))).all()
    now = utcnow()
    for event, action in open_events:
        if event.event in VOLUME_EVENTS and not instance.deleted:
            continue
        event.finish_time, event.result = now, "Error" if failed else "Success"
        if failed:
            event.traceback = (instance.fault or {}).get("message")
            action.message = "Error"
        action.finish_time, action.updated_at = now, now


def finish_event(session: Session, instance_uuid: str, event_name: str, error: str | None = None) -> None:
    """End the server's oldest open event of this name: Success, or Error with why (its action says Error)."""
    found = session.execute(
        select(InstanceActionEvent, InstanceAction)
        .join(InstanceAction, InstanceAction.id == InstanceActionEvent.action_id)
        .where(InstanceAction.instance_uuid == instance_uuid, InstanceActionEvent.event == event_name,
               InstanceActionEvent.finish_time.is_(None))
        .order_by(InstanceActionEvent.start_time, InstanceActionEvent.id).limit(1)).first()
    if found is None:
        return
    event, action = found
    now = utcnow()
    event.finish_time, event.result = now, "Error" if error else "Success"
    if error:
        event.traceback, action.message = error[:4096], "Error"
    action.finish_time, action.updated_at = now, now


def record_done(session: Session, ctx: RequestContext, server_id: str, action: str) -> None:
    """Record an action the API already carried out on the server (read again: the caller's session is closed)."""
    instance = session.get(Instance, server_id)
    if instance is not None:
        record(session, ctx, instance, action)


def list_actions(session: Session, instance: Instance) -> list[InstanceAction]:
    return list(session.scalars(select(InstanceAction).where(InstanceAction.instance_uuid == instance.uuid)
                                .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())))


def get_action(session: Session, instance: Instance, request_id: str) -> InstanceAction:
    found = session.scalars(select(InstanceAction).where(InstanceAction.instance_uuid == instance.uuid,
                                                         InstanceAction.request_id == request_id)
                            .order_by(InstanceAction.id.desc())).first()
    if found is None:
        raise NotFound(f"Action {request_id} not found")
    return found


def events(session: Session, action: InstanceAction) -> list[InstanceActionEvent]:
    return list(session.scalars(select(InstanceActionEvent).where(InstanceActionEvent.action_id == action.id)
                                .order_by(InstanceActionEvent.start_time.desc(), InstanceActionEvent.id.desc())))
