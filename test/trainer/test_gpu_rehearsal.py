"""scripts/gpu-train.sh --rehearse: the GPU recipe end to end on CPU (issue 17), and its failure paths.

The rehearsal is the exact script the lent GPU machine runs, with the preset's tiny 'rehearse' settings (about a
minute here). What comes back must fit the machine's limits (at most 8 files of 16 MiB), load in the engine and
score with `tinyfim bench`; a failing stage must still leave the JSON log and the newest weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu-train.sh"
MODEL_FILES = {"model/model.onnx", "model/model.json", "model/tokenizer.json", "model/model.safetensors"}


def recipe(out: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """The wrapper script in its own process group, so that a hung run is stopped with all its children."""
    cmd = ["bash", str(SCRIPT), "--rehearse", "--out", str(out), *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def files_in(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    d = tmp_path_factory.mktemp("gpu")
    proc = recipe(d / "out", "--workdir", str(d / "work"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return d


def test_rehearsal_leaves_the_model_folder_log_and_eval_rows_within_the_limits(rehearsal):
    out = rehearsal / "out"
    files = files_in(out)
    assert set(files) == MODEL_FILES | {"eval.jsonl", "metrics.jsonl", "recipe.log", "recipe.json"}
    assert len(files) <= 8 and max(files.values()) <= 16 * 2**20
    log = json.loads((out / "recipe.json").read_text())
    assert log["status"] == "ok" and log["limits"]["ok"]
    assert [s for s, r in log["stages"].items() if r["status"] == "ok"] == [
        "env", "corpus", "dataset", "train", "export", "evaluate"]
    for name, entry in log["files"].items():  # the log lists what came back, with checksums
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    train = log["stages"]["train"]
    assert train["steps"] > 0 and train["tokens_per_s"] > 0 and np.isfinite(train["val_loss"])
    data = log["stages"]["dataset"]
    assert data["rows"]["train"] > 0 and data["rows"]["val"] > 0
    assert abs(data["mix"]["train"]["code"] - 0.7) < 0.05  # the recipe's mix, reached by every job
    assert log["stages"]["export"]["parity"]["ok"]
    assert set(log["stages"]["evaluate"]["results"]) >= {"fim_lines", "tinypy_output", "tinypy_line_count"}
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("tokens_per_s" in r for r in metrics) and any("val_loss" in r for r in metrics)


def test_the_model_folder_is_complete_and_rebuilds_in_pytorch(rehearsal):
    from trainer.export import load_model_folder
    from trainer.onnx_runtime import empty_past, ort_session, ort_step
    from trainer.tokenizer import file_sha256

    model_dir = rehearsal / "out" / "model"
    manifest = json.loads((model_dir / "model.json").read_text())
    assert manifest["name"] == "gpu-2x64-rehearsal"
    for f in ("model.onnx", "tokenizer.json", "model.safetensors"):
        assert manifest["files"][f]["sha256"] == file_sha256(model_dir / f)
    # the committed tokenizer, so the model drops into the engine next to the shipped one
    assert (model_dir / "tokenizer.json").read_bytes() == (ROOT / "models/default/tokenizer.json").read_bytes()
    model, meta = load_model_folder(model_dir)
    assert meta["info"]["step"] == manifest["training"]["steps"]
    sess = ort_session(model_dir / "model.onnx")
    logits, _ = ort_step(sess, [[1, 2, 3]], empty_past(sess), 0)
    assert logits.shape == (1, 1, model.cfg.vocab_size) and np.isfinite(logits).all()


def test_the_engine_loads_and_scores_the_model_with_tinyfim_bench(rehearsal, tmp_path):
    if shutil.which("npm") is None or not (ROOT / "node_modules").is_dir():
        pytest.skip("no npm / node_modules here (bash scripts/setup.sh installs them)")
    rows = [json.loads(x) for x in (rehearsal / "out" / "eval.jsonl").read_text().splitlines()]
    fim = [r for r in rows if "middle" in r]
    trace = [r for r in rows if "code" in r]
    assert fim and trace
    sample = tmp_path / "rows.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in fim[:4] + trace[:4]))
    proc = subprocess.run(["npm", "run", "--silent", "tinyfim", "--", "bench", "--model",
                           str(rehearsal / "out" / "model"), "--data", str(sample), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert report["model"] == "gpu-2x64-rehearsal" and report["count"] == 8
    assert report["fim"]["count"] == 4 and 0.0 <= report["fim"]["edit_similarity"] <= 1.0


def test_a_diverging_training_still_leaves_the_log_and_the_newest_weights(rehearsal):
    out = rehearsal / "diverged"
    proc = recipe(out, "--workdir", str(rehearsal / "work"), "--reuse-data", "--inject-failure", "diverge",
                  "--minutes", "3")
    assert proc.returncode == 1
    log = json.loads((out / "recipe.json").read_text())
    assert log["status"] == "failed" and log["failed_stage"] == "train"
    assert log["stages"]["corpus"]["status"] == log["stages"]["dataset"]["status"] == "skipped"
    assert "diverged" in log["stages"]["train"]["error"] and "export" not in log["stages"]
    files = files_in(out)
    assert {"model/model.safetensors", "model/tokenizer.json", "recipe.log", "metrics.jsonl"} <= set(files)
    assert len(files) <= 8
    from trainer.export import load_model_folder

    _, meta = load_model_folder(out / "model")
    assert meta["info"]["salvaged"] and meta["info"]["step"] == 50  # the checkpoint before the NaN steps


def test_a_failing_data_stage_leaves_the_log(tmp_path):
    proc = recipe(tmp_path / "out", "--workdir", str(tmp_path / "work"), "--inject-failure", "corpus")
    assert proc.returncode == 1
    log = json.loads((tmp_path / "out" / "recipe.json").read_text())
    assert log["status"] == "failed" and log["failed_stage"] == "corpus"
    assert "failure injected" in log["stages"]["corpus"]["error"] and log["stages"]["env"]["status"] == "ok"
    assert set(files_in(tmp_path / "out")) == {"recipe.json", "recipe.log"}


def test_the_wrapper_writes_a_log_when_the_driver_cannot_start(tmp_path):
    proc = recipe(tmp_path / "out", "--no-such-option")
    assert proc.returncode == 2
    log = json.loads((tmp_path / "out" / "recipe.json").read_text())
    assert log["status"] == "failed" and log["failed_stage"] == "driver" and log["exit_code"] == 2
    assert "--no-such-option" in log["output_tail"]
