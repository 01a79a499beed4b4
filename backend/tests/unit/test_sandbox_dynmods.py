"""Reading whether a cgroup hierarchy already carries `favordynmods` (see dynmods.py)."""

from sandpod.adapters.sandbox.dynmods import favoured

PLAIN = (
    "35 25 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 25 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "41 1 0:36 / /tmp/favordynmods rw - tmpfs tmpfs rw,size=64k\n"
)


def test_plain_hierarchies_and_other_file_systems_do_not_count() -> None:
    assert not favoured(PLAIN)


def test_a_v1_or_v2_hierarchy_with_the_option_counts() -> None:
    v1 = "50 25 0:40 / /sys/fs/cgroup/sandpod_dynmods rw - cgroup cgroup rw,favordynmods,name=x\n"
    v2 = "51 25 0:41 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate,favordynmods\n"
    assert favoured(PLAIN + v1)
    assert favoured(PLAIN + v2)
