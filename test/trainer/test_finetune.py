"""`trainer finetune`: the test model adapted to a few real stdlib packages it never saw, run from a copy of exactly
the sources the extension package carries (trainer/finetune-files.txt); held-out loss falls, the folder loads in
onnxruntime and in the TypeScript engine, Ctrl-C still gives a checkpoint and a (partial) model; the pure parts."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import torch
from model_fixtures import TINY_MODEL

from trainer.errors import UserError
from trainer.finetune import held_out, read_base, split_files
from trainer.lora import add_lora, merged_state
from trainer.model import ModelConfig, TinyFIM

ROOT = Path(__file__).resolve().parents[2]
TEST_MODEL = ROOT / "build" / "test-model"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Real code the test model never trained on (its preset learns json, email, http, unittest).
PROJECT = ["wsgiref", "urllib", "logging"]


def shipped_copy(dest: Path) -> Path:
    """dest/trainer with only the files the .vsix carries, as esbuild.mjs copies them."""
    for line in (ROOT / "trainer" / "finetune-files.txt").read_text().splitlines():
        rel = line.strip()
        if rel and not rel.startswith("#"):
            (dest / "trainer" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / "trainer" / rel, dest / "trainer" / rel)
    return dest


def tree_digest(folders: list[Path]) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for f in sorted(folder.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f).encode() + f.read_bytes() + str(f.stat().st_mtime_ns).encode())
    return h.hexdigest()


def finetune_cmd(out: Path, minutes: float, *extra: str) -> list[str]:
    return [sys.executable, "-m", "trainer", "finetune", "--base", str(TEST_MODEL),
            "--code", *[str(STDLIB / p) for p in PROJECT], "--minutes", str(minutes), "--out", str(out),
            "--threads", "1", "--eval-lines", "60", "--no-progress", *extra]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    if not (TEST_MODEL / "model.safetensors").is_file():
        pytest.skip("build/test-model is missing: run `bash scripts/test-model.sh` (scripts/test.sh does)")
    return shipped_copy(tmp_path_factory.mktemp("vsix"))


def test_finetune_from_the_shipped_sources_lowers_held_out_loss_and_loads(shipped, tmp_path):
    out = tmp_path / "adapted"
    before = tree_digest([STDLIB / p for p in PROJECT])
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(finetune_cmd(out, 0.25), cwd=shipped, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert tree_digest([STDLIB / p for p in PROJECT]) == before, "the project's files must only be read"
    assert not (tmp_path / "adapted.work").exists() and not (tmp_path / "adapted.partial").exists()
    assert {"model.onnx", "tokenizer.json", "model.json", "model.safetensors", "MODEL_CARD.md"} <= {
        p.name for p in out.iterdir()}
    manifest = json.loads((out / "model.json").read_text())
    ft = manifest["finetune"]
    assert ft["complete"] and ft["stopped"] in ("time", "passes", "early")
    assert ft["after"]["loss"] < ft["before"]["loss"], ft
    assert ft["files"]["held_out"] >= 1 and ft["files"]["train"] > ft["files"]["held_out"]
    assert abs(ft["mix"]["tinypy"] - 0.3) < 0.02, "the base's share of tinypy task records (the hovers' tasks)"
    assert manifest["onnx"]["quantization"] == "int8" and manifest["prompts"] == read_base(TEST_MODEL)["prompts"]
    assert "held-out loss" in r.stderr and "exact match" in (out / "MODEL_CARD.md").read_text()

    from trainer.export import load_model_folder
    from trainer.onnx_runtime import ort_greedy, ort_session

    session = ort_session(out / "model.onnx")
    ids = ort_greedy(session, [1, 40, 41, 42, 3, 2], 8, context=manifest["architecture"]["context_length"])
    assert 1 <= len(ids) <= 8
    model, _ = load_model_folder(out)  # the float weights load back: the next fine-tune can start from them
    assert model.cfg.to_dict() == load_model_folder(TEST_MODEL)[0].cfg.to_dict()

    cli = ROOT / "dist" / "cli.js"
    if cli.is_file() and shutil.which("node"):  # the TypeScript engine (the editor's loader) loads it too
        src = tmp_path / "snippet.py"
        src.write_text("import os\n\n\ndef main():\n    path = os.path.\n")
        r = subprocess.run(["node", str(cli), "complete", "--model", str(out), "--file", str(src), "--line", "5",
                            "--column", "20", "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]


def test_ctrl_c_writes_a_checkpoint_and_a_partial_model(shipped, tmp_path):
    out = tmp_path / "stopped"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(finetune_cmd(out, 2, "--passes", "0"), cwd=shipped, env=env, stderr=subprocess.PIPE,
                            text=True)
    seen = ""
    deadline = time.time() + 180
    while "held-out loss of the base model" not in seen and time.time() < deadline and proc.poll() is None:
        seen += proc.stderr.readline()
    time.sleep(3)  # a few training steps
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=240)
    assert proc.returncode == 130, seen + rest
    assert "interrupted" in rest
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["finetune"]["complete"] is False and manifest["finetune"]["stopped"] == "interrupted"
    ckpt = tmp_path / "stopped.work" / "checkpoints" / "last.pt"
    from trainer.export import load_model

    model, state = load_model(ckpt.parent.parent, "last")  # the run folder `trainer export --run` reads
    assert state["step"] >= 1 and model.cfg.vocab_size == manifest["architecture"]["vocab_size"]


def test_passes_end_the_run_before_the_time_budget(shipped, tmp_path):
    out = tmp_path / "half"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(finetune_cmd(out, 5, "--passes", "0.5"), cwd=shipped, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ft = json.loads((out / "model.json").read_text())["finetune"]
    assert ft["stopped"] == "passes" and ft["complete"], ft["stopped"]
    assert ft["steps"] == math.ceil(0.5 * ft["rows"]["train"] / 16), "half a pass over one packing, 16 rows a step"
    assert ft["seconds"] < 5 * 60 and ft["config"]["passes"] == 0.5


def test_base_without_float_weights_is_a_clear_error(tmp_path):
    if not TEST_MODEL.is_dir():
        pytest.skip("build/test-model is missing")
    base = tmp_path / "base"
    shutil.copytree(TEST_MODEL, base, ignore=shutil.ignore_patterns("model.safetensors"))
    with pytest.raises(UserError, match="this model has no float weights"):
        read_base(base)


def test_held_out_files_are_a_stable_tenth_and_never_empty():
    keys = [f"proj/pkg{i // 50}/mod{i}.py" for i in range(3000)]
    share = sum(map(held_out, keys)) / len(keys)
    assert 0.08 < share < 0.12
    assert [held_out(k) for k in keys[:200]] == [held_out(k) for k in keys[:200]]
    train, held = split_files({"a/x.py": "x = 1\n", "a/y.py": "y = 2\n"})
    assert len(held) == 1 and len(train) == 1
    with pytest.raises(UserError, match="at least 2"):
        split_files({"a/x.py": "x = 1\n"})


def test_finetune_requirements_are_pinned_as_in_requirements_txt():
    def pins(path):
        lines = (ROOT / path).read_text().splitlines()
        return dict(line.split("#")[0].strip().split("==") for line in lines if "==" in line.split("#")[0])

    sub, full = pins("requirements-finetune.txt"), pins("requirements.txt")
    assert sub and all(full.get(k) == v for k, v in sub.items()), (sub, full)


def test_lora_starts_at_the_base_and_merges_exactly():
    torch.manual_seed(0)
    model = TinyFIM(ModelConfig(vocab_size=64, **{**TINY_MODEL, "dropout": 0.0})).eval()
    x = torch.randint(0, 64, (2, 10))
    want = model(x)[0]
    trainable = add_lora(model, rank=4)
    assert 0 < trainable < model.num_parameters() / 2
    assert torch.allclose(model(x)[0], want)  # B = 0: the adapters start as a no-op
    for name, p in model.named_parameters():
        if name.endswith(".b"):
            torch.nn.init.normal_(p, std=0.05)
    adapted = model(x)[0]
    plain = TinyFIM(model.cfg).eval()
    plain.load_state_dict(merged_state(model))
    assert not torch.allclose(adapted, want) and torch.allclose(plain(x)[0], adapted, atol=1e-5)


def test_early_stop_cools_the_learning_rate_down_from_where_it_is_to_zero():
    from trainer.finetune_loop import cool_down_factor

    # an early stop at 600 s with the learning rate at 30% of its peak, cooling until 690 s
    assert cool_down_factor(0.3, 600.0, 690.0, 600.0) == pytest.approx(0.3)
    assert cool_down_factor(0.3, 600.0, 690.0, 645.0) == pytest.approx(0.15)
    assert cool_down_factor(0.3, 600.0, 690.0, 690.0) == 0.0
    assert cool_down_factor(0.3, 600.0, 690.0, 700.0) == 0.0  # past the end: never negative
    assert cool_down_factor(0.3, 600.0, 600.0, 600.0) == 0.0  # no time left: no cool-down
    factors = [cool_down_factor(1.0, 0.0, 90.0, t) for t in range(0, 91, 10)]
    assert factors == sorted(factors, reverse=True) and factors[0] == 1.0
