"""Distributed training (the torchrun path, gloo on CPU): two processes with the same global batch follow the
loss trajectory of one process, only rank 0 writes checkpoints, and a wall-clock run ends on the same step on
every rank."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp
from model_fixtures import counting_rows, preset, read_metrics, write_dataset

from trainer.export import load_model
from trainer.train import train

V, T = 40, 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, p: dict, ds: str, out: str, record: str) -> None:
    """One DDP process, as torchrun starts it (the environment variables), recording its checkpoint writes."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import trainer.train as tt

    writes, real = [], tt.save_checkpoint

    def recording(path, state):
        writes.append(Path(path).name)
        real(path, state)

    tt.save_checkpoint = recording
    summary = tt.train(p, ds, out, device="cpu", tensorboard=False, progress=False)
    Path(record, f"rank{rank}.json").write_text(json.dumps({"writes": writes, "step": summary["step"]}))


def _ddp(tmp_path: Path, p: dict, ds: Path, name: str) -> list[dict]:
    record = tmp_path / f"{name}-record"
    record.mkdir()
    mp.start_processes(_rank, args=(2, _free_port(), p, str(ds), str(tmp_path / name), str(record)), nprocs=2,
                       join=True, start_method="spawn")
    return [json.loads((record / f"rank{r}.json").read_text()) for r in range(2)]


def _tiny(**train_cfg) -> dict:
    p = preset(**{"precision": "fp32", "checkpoint_every": 3, "eval_every": 3, "log_every": 1, **train_cfg})
    p["model"]["dropout"] = 0.0  # the ranks draw different dropout masks than one process would
    return p


def test_two_processes_follow_one_process_and_only_rank0_writes(tmp_path):
    ds = write_dataset(tmp_path / "ds", {"train": counting_rows(64, T, V, 0), "val": counting_rows(8, T, V, 1)}, V)
    train(_tiny(batch_size=8, grad_accum=1, steps=6), ds, tmp_path / "one", device="cpu", tensorboard=False,
          progress=False)
    ranks = _ddp(tmp_path, _tiny(batch_size=4, grad_accum=1, steps=6), ds, "two")  # 2 x 4 rows: the same batch
    one = [r["loss"] for r in read_metrics(tmp_path / "one") if "loss" in r and "event" not in r]
    two = [r["loss"] for r in read_metrics(tmp_path / "two") if "loss" in r and "event" not in r]
    assert len(one) == len(two) == 6
    assert max(abs(a - b) for a, b in zip(one, two, strict=True)) < 1e-4, (one, two)
    assert one[-1] < one[0]  # it learned, so the comparison is not between two flat lines
    a, _ = load_model(tmp_path / "one", "last")
    b, ckpt = load_model(tmp_path / "two", "last")
    assert ckpt["training"]["world_size"] == 2 and ckpt["position"] == 6 * 8
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-5), name
    assert ranks[0]["writes"] and "last.pt" in ranks[0]["writes"]
    assert ranks[1]["writes"] == []


def test_a_wall_clock_run_ends_on_the_same_step_on_every_rank(tmp_path):
    ds = write_dataset(tmp_path / "ds", {"train": counting_rows(64, T, V, 0), "val": counting_rows(8, T, V, 1)}, V)
    # 12 s: enough for several steps even when CI shares the 2 cores with other work (3 s once gave 2 steps)
    p = _tiny(batch_size=4, steps=100000, minutes=0.2, schedule="wsd", log_every=2, eval_every=1000,
              checkpoint_every=1000)
    ranks = _ddp(tmp_path, p, ds, "timed")  # a rank that stopped alone would leave the other hanging
    assert ranks[0]["step"] == ranks[1]["step"] > 2
    _, ckpt = load_model(tmp_path / "timed", "last")
    assert ckpt["step"] == ranks[0]["step"]
