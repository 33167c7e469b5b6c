"""Scheduling decisions that need no kernel: order, slot choice, bounds."""

from __future__ import annotations

from d2lbook.execute import ExecuteSettings
from d2lbook.execute.scheduler import QueuedJob, SlotPool, order_queue
from tests.execute.helpers import chapter, make_job


def queued(tmp_path, name, need=0, expected=None):
    return QueuedJob(make_job(name, chapter("x = 1"), tmp_path), name, need, expected)


def test_order_is_unknown_first_then_longest(tmp_path):
    queue = [
        queued(tmp_path, "short", expected=1.0),
        queued(tmp_path, "new"),
        queued(tmp_path, "long", expected=9.0),
        queued(tmp_path, "middle", expected=4.0),
        queued(tmp_path, "new2"),
    ]
    assert [item.job.name for item in order_queue(queue)] == [
        "new",
        "new2",
        "long",
        "middle",
        "short",
    ]


def test_pool_hands_out_disjoint_gpus_and_takes_them_back(tmp_path):
    pool = SlotPool(ExecuteSettings(workers=1, gpus=(0, 1, 2, 3)))
    queue = [
        queued(tmp_path, "two", 2),
        queued(tmp_path, "one", 1),
        queued(tmp_path, "cpu"),
        queued(tmp_path, "cpu2"),
        queued(tmp_path, "two-more", 2),
    ]
    launches = []
    while (index := pool.pick(queue)) is not None:
        item = queue.pop(index)
        launches.append(pool.take(item, item.key))
    assert [launch.job.name for launch in launches] == ["two", "one", "cpu"]
    assert [launch.gpus for launch in launches] == [(0, 1), (2,), ()]
    assert launches[2].slot == "cpu 0"
    # one GPU left: the 2-GPU job waits, and nothing jumps ahead of it on the GPUs
    assert [item.job.name for item in queue] == ["cpu2", "two-more"]
    pool.give_back(launches[0])
    index = pool.pick(queue)
    assert index is not None and queue[index].job.name == "two-more"
    assert pool.take(queue.pop(index), "k").gpus == (0, 1)


def test_a_waiting_big_gpu_job_is_not_starved_by_small_ones(tmp_path):
    pool = SlotPool(ExecuteSettings(workers=1, gpus=(0, 1)))
    pool.take(queued(tmp_path, "running", 1), "k")
    queue = [queued(tmp_path, "big", 2), queued(tmp_path, "small", 1)]
    assert pool.pick(queue) is None
