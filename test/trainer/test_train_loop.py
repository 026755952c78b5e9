"""The training loop: it learns, skips and reports NaNs, resumes exactly, and its schedule is active."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import counting_rows, preset, read_metrics, write_dataset

from trainer.errors import UserError
from trainer.export import load_model
from trainer.model import greedy
from trainer.train import train

V, T = 40, 32


@pytest.fixture()
def counting(tmp_path):
    return write_dataset(tmp_path / "ds", {"train": counting_rows(64, T, V, 0), "val": counting_rows(8, T, V, 1)}, V)


def test_overfits_one_batch_to_near_zero_loss_and_greedy_reproduces_it(tmp_path):
    rows = counting_rows(4, T, V, 3)
    ds = write_dataset(tmp_path / "ds", {"train": rows, "val": rows}, V)
    p = preset(batch_size=4, grad_accum=1, steps=100, lr=1e-2, warmup=10, eval_every=100, checkpoint_every=100,
               log_every=10)
    p["model"]["dropout"] = 0.0
    out = train(p, ds, tmp_path / "run", tensorboard=False, progress=False)
    assert out["val_loss"] < 0.05, out
    model, ckpt = load_model(tmp_path / "run", "best")
    assert ckpt["step"] == 100
    start = [int(t) for t in rows[0, :3]]
    assert greedy(model, start, 10, stop_ids=()) == [int(t) for t in rows[0, 3:13]]


def test_injected_nan_is_skipped_logged_and_training_goes_on(counting, tmp_path):
    run = tmp_path / "run"
    out = train(preset(steps=8), counting, run, tensorboard=False, progress=False, inject_nan_steps={2, 5})
    assert out["skipped_steps"] == 2
    skipped = [r for r in read_metrics(run) if r.get("event") == "skipped_nonfinite"]
    assert [r["step"] for r in skipped] == [3, 6]
    model, _ = load_model(run, "last")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert np.isfinite(out["val_loss"])


def test_nan_every_step_stops_with_a_clear_message(counting, tmp_path):
    p = preset(steps=20, nan_patience=3)
    with pytest.raises(UserError, match="3 steps in a row"):
        train(p, counting, tmp_path / "run", tensorboard=False, progress=False, inject_nan_steps=set(range(2, 20)))


def test_resume_is_exact_20_steps_equal_10_plus_10(counting, tmp_path):
    p = preset(steps=20)  # dropout 0.1 and grad_accum 2: the RNG and data position must both be restored
    train(p, counting, tmp_path / "a", tensorboard=False, progress=False)
    train(p, counting, tmp_path / "b", tensorboard=False, progress=False, stop_after=10)
    mid, _ = load_model(tmp_path / "b", "last")
    train(p, counting, tmp_path / "b", tensorboard=False, progress=False, resume=True)
    a, ca = load_model(tmp_path / "a", "last")
    b, cb = load_model(tmp_path / "b", "last")
    assert ca["step"] == cb["step"] == 20 and ca["position"] == cb["position"]
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    pairs = zip(a.state_dict().values(), mid.state_dict().values(), strict=True)
    assert any(not torch.equal(pa, pm) for pa, pm in pairs)  # the second half did change the weights
    assert torch.equal(ca["optimizer"]["state"][0]["exp_avg"], cb["optimizer"]["state"][0]["exp_avg"])


def test_schedule_is_active_and_loss_goes_down(counting, tmp_path):
    run = tmp_path / "run"
    train(preset(steps=30, warmup=5, eval_every=10, checkpoint_every=10), counting, run, tensorboard=False,
          progress=False)
    logs = [r for r in read_metrics(run) if "lr" in r]
    lrs = [r["lr"] for r in logs]
    assert lrs[0] < lrs[4] and lrs[4] > lrs[-1]  # warmup then decay
    assert all(r["grad_norm"] > 0 for r in logs)
    evals = [r for r in read_metrics(run) if "val_loss" in r]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] < np.log(V)
    assert "val_loss/code" in evals[0] and "val_loss/tinypy/output" in evals[0]


def test_refuses_to_overwrite_a_run_and_vocab_mismatch(counting, tmp_path):
    train(preset(steps=2), counting, tmp_path / "run", tensorboard=False, progress=False)
    with pytest.raises(UserError, match="--resume"):
        train(preset(steps=2), counting, tmp_path / "run", tensorboard=False, progress=False)
    bad = write_dataset(tmp_path / "bad", {"train": counting_rows(8, T, V + 5), "val": counting_rows(8, T, V)}, V)
    with pytest.raises(ValueError, match="vocab"):
        train(preset(steps=2), bad, tmp_path / "run2", tensorboard=False, progress=False)


def test_ctrl_c_ends_the_step_writes_the_checkpoint_and_resume_is_exact(counting, tmp_path):
    import os
    import signal
    import threading
    import time

    p = preset(steps=60, eval_every=30, checkpoint_every=30)

    def interrupt_after_step_3():
        path = tmp_path / "b" / "metrics.jsonl"
        while not (path.is_file() and any('"step": 3,' in x for x in path.read_text().splitlines())):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt_after_step_3, daemon=True)
    watcher.start()
    out = train(p, counting, tmp_path / "b", tensorboard=False, progress=False)
    watcher.join()
    assert out["interrupted"] and 3 <= out["step"] < 60
    _, ckpt = load_model(tmp_path / "b", "last")
    assert ckpt["step"] == out["step"]  # the step that was running when Ctrl-C came was finished and saved
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works as before afterwards
    train(p, counting, tmp_path / "b", tensorboard=False, progress=False, resume=True)
    train(p, counting, tmp_path / "a", tensorboard=False, progress=False)
    a, _ = load_model(tmp_path / "a", "last")
    b, _ = load_model(tmp_path / "b", "last")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name


def test_set_takes_text_keys_as_given_and_says_what_a_number_key_needs(tmp_path, capsys):
    from trainer.cli import main

    args = ["train", "--preset", "test", "--data", str(tmp_path / "no-data"), "--out", str(tmp_path / "run")]
    assert main([*args, "--set", "lr=fast"]) == 2
    assert "--set lr=fast: lr takes a number or true/false, not 'fast'" in capsys.readouterr().err
    # accepted (text for schedule, JSON for lr): the run then stops at the missing dataset, not at --set
    assert main([*args, "--set", "schedule=wsd", "--set", "lr=3e-4"]) == 2
    err = capsys.readouterr().err
    assert "no-data/meta.json not found" in err and "--set" not in err


def test_wsd_keeps_the_state_where_the_cool_down_began_and_a_longer_run_goes_on_from_it(counting, tmp_path):
    import shutil

    p = preset(steps=20, warmup=2, schedule="wsd", decay_frac=0.25, min_lr_ratio=0.0)
    train(p, counting, tmp_path / "a", tensorboard=False, progress=False)
    _, stable = load_model(tmp_path / "a", "stable")
    lrs = {r["step"]: r["lr"] for r in read_metrics(tmp_path / "a") if "lr" in r}
    peak = max(lrs.values())
    assert all(lrs[s] == peak for s in range(3, stable["step"] + 1))  # every step it holds ran at the stable rate
    assert lrs[stable["step"] + 1] < peak and stable["step"] >= 15
    # Going on from it: 40 steps in all, still at the stable rate until the new cool-down.
    (tmp_path / "b" / "checkpoints").mkdir(parents=True)
    shutil.copy(tmp_path / "a" / "checkpoints" / "stable.pt", tmp_path / "b" / "checkpoints" / "last.pt")
    for name in ("config.json", "data_meta.json"):
        shutil.copy(tmp_path / "a" / name, tmp_path / "b" / name)
    train(preset(steps=40, warmup=2, schedule="wsd", decay_frac=0.25, min_lr_ratio=0.0), counting, tmp_path / "b",
          tensorboard=False, progress=False, resume=True)
    more = {r["step"]: r["lr"] for r in read_metrics(tmp_path / "b") if "lr" in r}
    assert min(more) == stable["step"] + 1 and max(more) == 40
    assert all(more[s] == peak for s in range(stable["step"] + 1, 31)) and more[40] < peak
