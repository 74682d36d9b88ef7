"""Rebuild on the host: the reconciler makes the root disk again once per rebuild asked, from the new image, ends
in the desired power state, reports the rebuild done, and never does it twice (not even after a restart)."""

from __future__ import annotations

import hashlib
import uuid as uuidlib
from pathlib import Path

from andromede.compute.agent.reconciler import ComputeReconciler
from tests.unit.compute.agent.test_reconciler_failures import IMAGE_BYTES, Agent, desired


def _new_image() -> dict:
    return {"id": str(uuidlib.uuid4()), "disk_format": "raw", "size": len(IMAGE_BYTES),
            "os_hash_value": hashlib.sha512(IMAGE_BYTES).hexdigest()}


def test_a_rebuild_makes_the_disk_again_from_the_new_image_once(tmp_path: Path) -> None:
    agent = Agent(tmp_path)
    doc = desired()
    uuid = agent.want(doc)
    agent.attempt(uuid)
    assert agent.driver.root_disk(uuid)[1] == 0

    new_image = _new_image()
    agent.want(doc.model_copy(update={"rebuild_seq": 1, "seq": 2, "image": doc.image.model_copy(update=new_image)}))
    agent.attempt(uuid)

    base, generation = agent.driver.root_disk(uuid)
    assert generation == 1 and new_image["id"] in str(base)
    assert agent.driver.state(uuid).power == "running"
    assert agent.client.reports[-1][1] == {"power": "running", "reboot_seq": 0, "rebuild_seq": 1}
    agent.attempt(uuid)  # nothing new asked: the disk stays
    assert agent.driver.root_disk(uuid)[1] == 1

    restarted = ComputeReconciler("h1", agent.driver, agent.client, agent.cache, tmp_path / "state.json")
    restarted.desired[uuid] = agent.reconciler.desired[uuid]
    restarted.attempt(uuid)
    assert agent.driver.root_disk(uuid)[1] == 1
    restarted.close()


def test_a_rebuilt_shutoff_instance_stays_off(tmp_path: Path) -> None:
    agent = Agent(tmp_path)
    doc = desired(desired_power="shutoff")
    uuid = agent.want(doc)
    agent.attempt(uuid)
    agent.want(doc.model_copy(update={"rebuild_seq": 1, "seq": 2}))
    agent.attempt(uuid)
    assert agent.driver.root_disk(uuid)[1] == 1
    assert agent.driver.state(uuid).power == "shutoff"
    assert agent.client.reports[-1][1] == {"power": "shutoff", "reboot_seq": 0, "rebuild_seq": 1}
