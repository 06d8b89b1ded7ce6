"""Sweeps on any concurrent.futures.Executor: a local process pool and a dask.distributed cluster."""

from __future__ import annotations

import pytest

from lowfloat.train import TrainConfig, sweep, train
from lowfloat.train.sweep import grid, sweep_table

BASE = TrainConfig(max_steps=4, lr=0.05)


def _expected(configs):
    """Each configuration trained here, in this process."""
    return [(c.name, train(c).summary()["test_accuracy"]) for c in configs]


def test_sweep_on_the_default_process_pool_returns_one_row_per_config_in_order():
    configs = grid(BASE, policy=["fp16", "bf16"])
    rows = sweep(configs)
    assert [(row["name"], row["test_accuracy"]) for row in rows] == _expected(configs)
    assert [row["policy"] for row in rows] == ["fp16", "bf16"]


def test_sweep_on_a_dask_cluster_through_get_executor():
    distributed = pytest.importorskip("distributed")
    configs = grid(BASE, policy=["fp32", "fp8"], seed=[0, 1])
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        rows = sweep(configs, executor=client.get_executor())
    assert [(row["name"], row["test_accuracy"]) for row in rows] == _expected(configs)
    assert [(row["policy"], row["seed"]) for row in rows] == [("fp32", 0), ("fp32", 1), ("fp8", 0), ("fp8", 1)]
    table = sweep_table(rows)
    assert table.splitlines()[0].split()[:2] == ["name", "test_accuracy"] and len(table.splitlines()) == 5


def test_sweep_refuses_what_is_not_a_config_or_an_executor():
    with pytest.raises(TypeError, match=r"configs\[1\] must be a TrainConfig"):
        sweep([BASE, {"policy": "fp16"}])
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        sweep([BASE], executor="cluster")
