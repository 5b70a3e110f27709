"""xraylib.pinning: the stress record's networks are pinned, so a fresh clone can rebuild the
record and resume the plan without retraining what the record already holds."""
from __future__ import annotations

from xraylib import pinning, runs, spread


def test_every_network_of_the_stress_record_is_pinned_where_its_data_are_present(real_root, cache):
    found = {run.path.name: run.path for run in pinning.seeded_networks("authors")}
    record = spread.read_stress()
    assert {n["run"] for n in record.arm("protocol")} <= set(found)
    for net in record.networks:
        if net["run"] in found:
            assert found[net["run"]].parent == runs.pinned_dir(), f"{net['run']}: run `make pin`"
    missing = [n["run"] for n in record.networks if n["run"] not in found and n["arm"] != "adult-normals"]
    assert not missing, f"networks of the stress record neither stored nor pinned: {missing}"
