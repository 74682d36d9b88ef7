from andromede.db.engine import Database
from andromede.hosts.capacity import Capacity, apply_report, claim, fits, release, set_ceilings
from andromede.hosts.models import Host


def _host(**ceilings: int) -> Host:
    return Host(name="hv1", vcpus=0, memory_mib=0, disk_gib=0, **ceilings)


def test_the_first_report_becomes_the_ceiling_and_later_ones_cannot_exceed_it() -> None:
    host = _host()
    assert apply_report(host, Capacity(8, 16384, 100)) == Capacity(8, 16384, 100)
    assert (host.max_vcpus, host.max_memory_mib, host.max_disk_gib) == (8, 16384, 100)
    assert apply_report(host, Capacity(4096, 1 << 24, 1 << 20)) == Capacity(8, 16384, 100)
    assert apply_report(host, Capacity(4, 8192, 50)) == Capacity(4, 8192, 50)  # a host may report less
    assert apply_report(host, Capacity(8, 16384, 100)) == Capacity(8, 16384, 100)  # and come back
    assert (host.max_vcpus, host.max_memory_mib, host.max_disk_gib) == (8, 16384, 100)


def test_the_operators_ceiling_caps_the_first_report_too() -> None:
    host = _host(max_vcpus=2, max_memory_mib=1024)
    assert apply_report(host, Capacity(4096, 1 << 24, 40)) == Capacity(2, 1024, 40)
    assert host.max_disk_gib == 40


def test_setting_a_ceiling_lowers_the_schedulers_view_at_once_and_raising_waits_for_a_report() -> None:
    host = _host()
    apply_report(host, Capacity(8, 16384, 100))
    set_ceilings(host, memory_mib=4096)
    assert (host.vcpus, host.memory_mib, host.disk_gib) == (8, 4096, 100)
    set_ceilings(host, vcpus=16, memory_mib=32768)
    assert (host.vcpus, host.memory_mib) == (8, 4096)
    assert apply_report(host, Capacity(16, 32768, 100)) == Capacity(16, 32768, 100)


def test_a_claim_takes_the_room_once_and_a_release_gives_it_back(empty_db: Database) -> None:
    with empty_db.session() as session:
        session.add(Host(name="hv1", vcpus=2, memory_mib=1024, disk_gib=10, cpu_allocation_ratio=1.0))
    want = Capacity(1, 512, 5)
    with empty_db.session() as session:
        host = session.get(Host, "hv1")
        assert host is not None and fits(host, want)
        assert claim(session, "hv1", want) and claim(session, "hv1", want)
        assert not claim(session, "hv1", want)  # the third would overcommit: the conditional UPDATE matches nothing
        release(session, "hv1", want)
    with empty_db.session() as session:
        host = session.get(Host, "hv1")
        assert host is not None and (host.used_vcpus, host.used_memory_mib, host.used_disk_gib) == (1, 512, 5)
        assert fits(host, want) and not fits(host, Capacity(2, 512, 5))
