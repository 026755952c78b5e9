"""`python -m trainer export`: a trained run -> models/NAME/{model.onnx, tokenizer.json, model.json, model.safetensors}.

The ONNX graph (trainer/onnx_graph.py) uses the Hugging Face Optimum decoder names of the contract
(trainer/contract.json) with a KV cache: input_ids, attention_mask, position_ids, past_key_values.{i}.key|value ->
logits, present.{i}.key|value, with dynamic batch / sequence / past axes; an empty past (past = 0) is the prefill.
Parity with PyTorch is checked after every export (trainer/onnx_runtime.py: a prefill plus 16 cached decoding steps,
fp32 max |dlogits| <= 1e-4); export fails loudly when it does not hold. model.safetensors holds the PyTorch weights in
bf16 (the tied embedding once, the model config in its metadata); load_model_folder() rebuilds the model from it.
This module: the verb, loading a run or a model folder's weights, and model.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from trainer.contract import CONTRACT, FORMAT, io_names
from trainer.errors import UserError
from trainer.onnx_graph import export_onnx, quantization_change, quantize_int8
from trainer.onnx_runtime import PARITY_TOL, check_parity
from trainer.tokenizer import check_vocab_size, file_sha256

WEIGHTS = "model.safetensors"  # float weights (bf16) beside the ONNX graph: fine-tuning, resuming elsewhere
WEIGHTS_FORMAT = "tinyfim-weights-v1"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="training run folder (holds checkpoints/ and config.json)")
    parser.add_argument("--checkpoint", default="best",
                        help="checkpoint to export: best, last, stable (where a wsd cool-down began) or a .pt path")
    parser.add_argument("--model", default=None, help="model folder to write (model.onnx, tokenizer.json, model.json)")
    parser.add_argument("--out", default=None, help="deprecated: the old name of --model")
    parser.add_argument("--name", default=None, help="model name in model.json (default: the output folder's name)")
    parser.add_argument("--quantize", choices=["int8"], default=None,
                        help="dynamic int8 quantisation of model.onnx (its quality change vs fp32 is measured)")
    parser.add_argument("--exporter", choices=["legacy", "dynamo"], default="legacy",
                        help="torch.onnx exporter: legacy TorchScript (default: exports in <1 s and decodes faster "
                             "in onnxruntime) or dynamo")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17)")


def run(args) -> int:
    if args.out:
        print("note: --out is deprecated; use --model (the same option name as every other verb)", file=sys.stderr)
    out = args.model or args.out
    if not out:
        raise UserError("--model is required: the model folder to write")
    result = export_run(args.run, out, checkpoint=args.checkpoint, name=args.name, quantize=args.quantize,
                        exporter=args.exporter, opset=args.opset)
    p = result["parity"]
    print(f"parity: prefill max|dlogits| {p['prefill_max_abs']:.2e}, 16 cached steps {p['decode_max_abs']:.2e} "
          f"(tolerance {PARITY_TOL:g}) ok", file=sys.stderr)
    if result.get("quantization"):
        q = result["quantization"]
        print(f"int8: max|dlogits| {q['max_abs_logits']:.3f}, loss {q['loss_fp32']:.4f} -> {q['loss_int8']:.4f} "
              f"({q['loss_delta']:+.4f}), greedy next-token agreement {q['argmax_agreement']:.1%}, "
              f"size {q['bytes_fp32'] / 2**20:.1f} -> {q['bytes_int8'] / 2**20:.1f} MiB", file=sys.stderr)
    print(f"wrote {out}/model.onnx, tokenizer.json, model.json, {WEIGHTS}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- loading a run


def checkpoint_path(run_dir: str | os.PathLike, checkpoint: str = "best") -> Path:
    run_dir = Path(run_dir)
    if checkpoint in ("best", "last", "stable"):
        path = run_dir / "checkpoints" / f"{checkpoint}.pt"
    else:
        path = Path(checkpoint)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found (train first: python -m trainer train ... --out {run_dir})")
    return path


def load_model(run_dir: str | os.PathLike, checkpoint: str = "best", device: str = "cpu"):
    """(model in eval mode, checkpoint dict) from a run folder; `checkpoint` is best, last or a path."""
    import torch

    from trainer.model import ModelConfig, TinyFIM

    ckpt = torch.load(checkpoint_path(run_dir, checkpoint), map_location=device, weights_only=False)
    model = TinyFIM(ModelConfig.from_dict(ckpt["model_config"])).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


def greedy_ids(run_dir: str | os.PathLike, prompt_ids: list[int], n: int, checkpoint: str = "best") -> list[int]:
    """PyTorch greedy decoding from a run's checkpoint (the reference the TypeScript engine is compared to).
    Returns up to n new ids; stops after <|endoftext|> (id 0), which is included."""
    from trainer.model import greedy

    model, _ = load_model(run_dir, checkpoint)
    return greedy(model, list(prompt_ids), n)


# ---------------------------------------------------------------- float weights


def save_weights(model, path: str | os.PathLike, info: dict | None = None, dtype: str = "bfloat16") -> None:
    """The state dict in bf16 (or fp16) as safetensors; the tied LM head is the embedding, stored once. The
    metadata holds the model config (so the file alone rebuilds the model) and `info` (training facts)."""
    import torch
    from safetensors.torch import save_file

    if dtype not in ("bfloat16", "float16"):
        raise UserError(f"float weights dtype {dtype!r}: use bfloat16 or float16")
    state = {k: v.detach().to("cpu", getattr(torch, dtype)).contiguous() for k, v in model.state_dict().items()
             if k != "lm_head.weight"}
    meta = {"format": WEIGHTS_FORMAT, "model_config": json.dumps(model.cfg.to_dict()), "dtype": dtype,
            "tied": "lm_head.weight=embed.weight", "info": json.dumps(info or {}, default=str)}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)


def load_weights(path: str | os.PathLike, device: str = "cpu"):
    """(TinyFIM in fp32, train mode, metadata) from a model.safetensors written by save_weights."""
    from safetensors import safe_open

    from trainer.model import ModelConfig, TinyFIM

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} not found (export writes it: python -m trainer export ...)")
    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = f.metadata() or {}
        if meta.get("format") != WEIGHTS_FORMAT:
            raise UserError(f"{path} is not TinyFIM float weights (format {meta.get('format')!r})")
        names = f.keys()  # safe_open is not iterable
        state = {k: f.get_tensor(k).float() for k in names}
    model = TinyFIM(ModelConfig.from_dict(json.loads(meta["model_config"])))
    model.load_state_dict({**state, "lm_head.weight": state["embed.weight"]})
    return model.to(device).train(), {**meta, "info": json.loads(meta.get("info") or "{}")}


def load_model_folder(model_dir: str | os.PathLike, device: str = "cpu"):
    """The PyTorch model of an exported model folder (its model.safetensors), for fine-tuning or resuming
    training on a machine that has only the folder; returns (model, metadata)."""
    model_dir = Path(model_dir)
    path = model_dir / WEIGHTS if model_dir.is_dir() else model_dir
    if model_dir.is_dir() and not path.is_file():
        raise UserError(f"{model_dir} has no {WEIGHTS}: re-export it with this trainer to get float weights")
    return load_weights(path, device)


# ---------------------------------------------------------------- model.json


def data_summary(meta: dict) -> dict:
    """The dataset manifest without its shard lists."""
    keep = {k: v for k, v in meta.items() if k not in ("splits", "special_tokens", "prompts", "_path")}
    keep["splits"] = {s: {"rows": v.get("rows")} for s, v in meta.get("splits", {}).items()}
    return keep


def write_manifest(out_dir: Path, *, name: str, model, ckpt: dict, meta: dict, opset: int,
                   quantization: str | None, evaluation: dict) -> dict:
    from trainer.packed import write_json_atomic

    cfg = model.cfg
    inputs, outputs = io_names(cfg.n_layer)
    train_info = ckpt.get("training", {})
    manifest = {
        "format": FORMAT,
        "name": name,
        "files": {f: {"sha256": file_sha256(out_dir / f), "bytes": (out_dir / f).stat().st_size}
                  for f in ("model.onnx", "tokenizer.json", WEIGHTS) if (out_dir / f).is_file()},
        "architecture": {"n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_kv_head": cfg.n_kv_head,
                         "d_model": cfg.d_model, "head_dim": cfg.head_dim, "vocab_size": cfg.vocab_size,
                         "context_length": cfg.context, "positional": "rope", "rope_theta": cfg.rope_theta,
                         "mlp_ratio": cfg.mlp_ratio, "norm": "layernorm", "tied_embeddings": True,
                         "parameters": model.num_parameters()},
        "onnx": {"opset": opset, "dtype": CONTRACT["onnx"]["dtype"], "quantization": quantization, "inputs": inputs,
                 "outputs": outputs, "logits": "last"},
        "special_tokens": meta.get("special_tokens", {}),
        "prompts": meta.get("prompts", {}),
        "data": data_summary(meta),
        "training": {"preset": ckpt.get("preset"), "checkpoint": ckpt.get("kind"), "steps": ckpt.get("step"),
                     "tokens": train_info.get("tokens"), "seconds": train_info.get("seconds"),
                     "hardware": train_info.get("hardware"), "metrics": ckpt.get("metrics", {})},
        "evaluation": evaluation,
    }
    write_json_atomic(out_dir / "model.json", manifest)
    return manifest


# ---------------------------------------------------------------- the verb


def export_run(run_dir, out_dir, checkpoint: str = "best", name: str | None = None, quantize: str | None = None,
               exporter: str = "legacy", opset: int = 17) -> dict:
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    model, ckpt = load_model(run_dir, checkpoint)
    tok_src = run_dir / "tokenizer.json"
    meta_path = run_dir / "data_meta.json"
    if not tok_src.is_file() or not meta_path.is_file():
        raise UserError(f"{run_dir} lacks tokenizer.json / data_meta.json (written by `trainer train`)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if int(meta["vocab_size"]) != model.cfg.vocab_size:
        raise UserError(f"vocab mismatch: dataset {meta['vocab_size']} vs checkpoint {model.cfg.vocab_size}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = _val_rows(run_dir, meta, n=4) if quantize else None
    result = write_onnx(model, out_dir, quantize=quantize, rows=rows, exporter=exporter, opset=opset)
    shutil.copyfile(tok_src, out_dir / "tokenizer.json")
    check_vocab_size(out_dir / "tokenizer.json", model.cfg.vocab_size, "the model's embedding")
    train_info = ckpt.get("training", {})
    save_weights(model, out_dir / WEIGHTS, {"preset": ckpt.get("preset"), "checkpoint": ckpt.get("kind"),
                                            "step": ckpt.get("step"), "tokens": train_info.get("tokens"),
                                            "precision": train_info.get("precision")})
    write_manifest(out_dir, name=name or out_dir.name, model=model, ckpt=ckpt, meta=meta, opset=opset,
                   quantization=quantize, evaluation={"export": result})
    return result


def write_onnx(model, out_dir: Path, quantize: str | None = None, rows=None, exporter: str = "legacy",
               opset: int = 17) -> dict:
    """out_dir/model.onnx from a PyTorch model: the fp32 export with its parity check, then (quantize "int8")
    dynamic int8 and its change measured on `rows` ((tokens, mask) of a few dataset rows). Returns the facts that
    model.json's evaluation.export records."""
    t0 = time.time()
    fp32 = out_dir / ("model.fp32.onnx" if quantize else "model.onnx")
    export_onnx(model, fp32, exporter=exporter, opset=opset, share_head=not quantize)
    parity = check_parity(model, fp32)
    if not parity["ok"]:
        raise RuntimeError(f"ONNX parity failed: {parity}")
    result = {"parity": parity, "export_seconds": round(time.time() - t0, 1), "exporter": exporter}
    if quantize == "int8":
        quantize_int8(fp32, out_dir / "model.onnx")
        result["quantization"] = quantization_change(fp32, out_dir / "model.onnx", rows)
        fp32.unlink()
    return result


def _val_rows(run_dir: Path, meta: dict, n: int):
    """A few validation rows (for the int8 loss change); random tokens when the dataset is gone."""
    import numpy as np

    from trainer.packed import PackedSplit

    data_dir = meta.get("_path")
    try:
        split = PackedSplit(data_dir, "val")
        tokens, mask, _ = split.rows(np.arange(min(n, len(split))))
        return tokens, mask
    except (FileNotFoundError, KeyError, TypeError, ValueError):
        rng = np.random.default_rng(0)
        T = int(meta["context"])
        return rng.integers(0, int(meta["vocab_size"]), (n, T + 1)), np.ones((n, T + 1), dtype=np.uint8)
