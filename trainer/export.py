"""`python -m trainer export`: a trained run -> models/NAME/{model.onnx, tokenizer.json, model.json, model.safetensors}.

The ONNX graph uses the Hugging Face Optimum decoder names with a KV cache (docs/DESIGN.md):
input_ids, attention_mask, position_ids, past_key_values.{i}.key|value -> logits, present.{i}.key|value,
with dynamic batch / sequence / past axes; an empty past (past = 0) is the prefill. Parity with PyTorch
is checked after every export (a prefill plus 16 cached decoding steps, fp32 max |dlogits| <= 1e-4);
export fails loudly when it does not hold. model.safetensors holds the PyTorch weights in bf16 (the tied
embedding once, the model config in its metadata); load_model_folder() rebuilds the model from it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from trainer.errors import UserError

PARITY_TOL = 1e-4
FORMAT = "tinyfim-model-v1"
WEIGHTS = "model.safetensors"  # float weights (bf16) beside the ONNX graph: fine-tuning, resuming elsewhere
WEIGHTS_FORMAT = "tinyfim-weights-v1"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="training run folder (holds checkpoints/ and config.json)")
    parser.add_argument("--checkpoint", default="best", help="checkpoint to export: best, last, or a .pt path")
    parser.add_argument("--out", required=True, help="output folder for model.onnx, tokenizer.json, model.json")
    parser.add_argument("--name", default=None, help="model name in model.json (default: the output folder's name)")
    parser.add_argument("--quantize", choices=["int8"], default=None,
                        help="dynamic int8 quantisation of model.onnx (its quality change vs fp32 is measured)")
    parser.add_argument("--exporter", choices=["legacy", "dynamo"], default="legacy",
                        help="torch.onnx exporter: legacy TorchScript (default: exports in <1 s and decodes faster "
                             "in onnxruntime) or dynamo")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17)")


def run(args) -> int:
    result = export_run(args.run, args.out, checkpoint=args.checkpoint, name=args.name, quantize=args.quantize,
                        exporter=args.exporter, opset=args.opset)
    p = result["parity"]
    print(f"parity: prefill max|dlogits| {p['prefill_max_abs']:.2e}, 16 cached steps {p['decode_max_abs']:.2e} "
          f"(tolerance {PARITY_TOL:g}) ok", file=sys.stderr)
    if result.get("quantization"):
        q = result["quantization"]
        print(f"int8: max|dlogits| {q['max_abs_logits']:.3f}, loss {q['loss_fp32']:.4f} -> {q['loss_int8']:.4f} "
              f"({q['loss_delta']:+.4f}), greedy next-token agreement {q['argmax_agreement']:.1%}, "
              f"size {q['bytes_fp32'] / 2**20:.1f} -> {q['bytes_int8'] / 2**20:.1f} MiB", file=sys.stderr)
    print(f"wrote {args.out}/model.onnx, tokenizer.json, model.json, {WEIGHTS}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- loading a run


def checkpoint_path(run_dir: str | os.PathLike, checkpoint: str = "best") -> Path:
    run_dir = Path(run_dir)
    if checkpoint in ("best", "last"):
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


# ---------------------------------------------------------------- ONNX


def io_names(n_layer: int) -> tuple[list[str], list[str]]:
    kv = [f"{i}.{kind}" for i in range(n_layer) for kind in ("key", "value")]
    return (["input_ids", "attention_mask", "position_ids"] + [f"past_key_values.{x}" for x in kv],
            ["logits"] + [f"present.{x}" for x in kv])


def _wrapper(model, last_only: bool):
    import torch

    class OnnxDecoder(torch.nn.Module):
        """Flat tensors in and out, in the order of io_names()."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, position_ids, *flat_past):
            past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
            logits, present = self.m(input_ids, position_ids=position_ids, attention_mask=attention_mask, past=past,
                                     last_only=last_only)
            return (logits, *[t for kv in present for t in kv])

    return OnnxDecoder(model).eval()


def export_onnx(model, path: str | os.PathLike, exporter: str = "legacy", opset: int = 17,
                share_head: bool = True, logits: str = "last") -> None:
    """Writes model.onnx (fp32, single file) and checks it with onnx.checker. share_head stores the tied
    embedding once (off before int8 quantisation, which then quantises the head's own copy). logits "last":
    the graph returns the last position's logits only ([batch, 1, vocab]; what decoding uses), "all": every
    position's."""
    if logits not in ("last", "all"):
        raise UserError(f"logits must be 'last' or 'all', not {logits!r}")
    last_only = logits == "last"
    import onnx
    import torch

    if opset < 17:
        raise UserError(f"opset {opset} is too old: need >= 17 (LayerNormalization)")
    cfg = model.cfg
    model = model.float().cpu().eval()
    inputs, outputs = io_names(cfg.n_layer)
    B, T, P = 2, 5, 3  # example sizes > 1 so no axis gets specialised to a constant
    example = (torch.randint(0, cfg.vocab_size, (B, T)), torch.ones(B, P + T, dtype=torch.long),
               torch.arange(P, P + T).expand(B, T).contiguous(),
               *[torch.zeros(B, cfg.n_kv_head, P, cfg.head_dim) for _ in range(2 * cfg.n_layer)])
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            batch, seq, past, total = (torch.export.Dim(n) for n in ("batch", "seq", "past", "total"))
            shapes = {"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: total},
                      "position_ids": {0: batch, 1: seq}, "flat_past": tuple({0: batch, 2: past} for _ in inputs[3:])}
            prog = torch.onnx.export(_wrapper(model, last_only), example, input_names=inputs, output_names=outputs,
                                     dynamic_shapes=shapes, opset_version=opset, dynamo=True, verbose=False)
            prog.save(str(tmp), external_data=False)
        else:
            axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
                    "position_ids": {0: "batch", 1: "seq"},
                    "logits": {0: "batch"} if last_only else {0: "batch", 1: "seq"}}
            axes.update({n: {0: "batch", 2: "past"} for n in inputs[3:]})
            axes.update({n: {0: "batch", 2: "total"} for n in outputs[1:]})
            torch.onnx.export(_wrapper(model, last_only), example, str(tmp), input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=opset, dynamo=False)
    proto = onnx.load(str(tmp))
    if share_head and _share_tied_head(proto):
        onnx.save(proto, str(tmp))
    onnx.checker.check_model(proto)
    got_in = [i.name for i in proto.graph.input]
    got_out = [o.name for o in proto.graph.output]
    if got_in != inputs or got_out != outputs:
        raise RuntimeError(f"exported names differ from the contract: {got_in} / {got_out}")
    os.replace(tmp, path)


def _share_tied_head(proto) -> bool:
    """The exporter stores the tied LM head as a transposed copy of the embedding; point it back at the
    embedding with Gemm(transB=1) so the weights are stored once. Returns whether the graph changed."""
    import numpy as np
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    embed = next((i for i in proto.graph.initializer if i.name.endswith("embed.weight")), None)
    if embed is None:
        return False
    emb = numpy_helper.to_array(embed)
    for idx, node in enumerate(proto.graph.node):
        if node.op_type != "MatMul" or node.input[1] not in inits:
            continue
        w = inits[node.input[1]]
        if tuple(w.dims) != emb.shape[::-1] or not np.array_equal(numpy_helper.to_array(w), emb.T):
            continue
        gemm = helper.make_node("Gemm", [node.input[0], embed.name], list(node.output), name=node.name + "_tied",
                                transB=1)
        proto.graph.node.remove(node)
        proto.graph.node.insert(idx, gemm)
        if not any(w.name in n.input for n in proto.graph.node):
            proto.graph.initializer.remove(w)
        return True
    return False


def ort_session(path: str | os.PathLike, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def empty_past(session, batch: int = 1) -> dict:
    """Feeds for an empty cache (past = 0), shaped from the session's own input metadata."""
    import numpy as np

    feeds = {}
    for inp in session.get_inputs():
        if inp.name.startswith("past_key_values."):
            _, n_kv, _, hd = inp.shape
            feeds[inp.name] = np.zeros((batch, n_kv, 0, hd), dtype=np.float32)
    return feeds


def ort_step(session, ids, past: dict, start: int):
    """One cached call: ids [B, T] at positions start.. -> (logits [B, T, V], next past feeds)."""
    import numpy as np

    ids = np.asarray(ids, dtype=np.int64)
    B, T = ids.shape
    feeds = {"input_ids": ids, "attention_mask": np.ones((B, start + T), dtype=np.int64),
             "position_ids": np.broadcast_to(np.arange(start, start + T, dtype=np.int64), (B, T)).copy(), **past}
    names = [o.name for o in session.get_outputs()]
    outs = session.run(names, feeds)
    nxt = {n.replace("present.", "past_key_values."): v for n, v in zip(names[1:], outs[1:], strict=True)}
    return outs[0], nxt


def ort_logits(session, ids):
    """Logits at every position of ids [1, T] -> [1, T, V]: one call when the graph returns all positions,
    else (a last-position graph) one cached call per token."""
    import numpy as np

    logits, past = ort_step(session, ids, empty_past(session), 0)
    if logits.shape[1] == ids.shape[1]:
        return logits
    rows = []
    past = empty_past(session)
    for t in range(ids.shape[1]):
        logits, past = ort_step(session, ids[:, t:t + 1], past, t)
        rows.append(logits[:, -1])
    return np.stack(rows, axis=1)


def ort_greedy(session, prompt_ids: list[int], max_new_tokens: int, stop_ids=(0,), context: int | None = None):
    """Greedy decoding with the KV cache in onnxruntime (mirrors trainer.model.greedy)."""
    logits, past = ort_step(session, [prompt_ids], empty_past(session), 0)
    out, pos = [], len(prompt_ids)
    for _ in range(max_new_tokens):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if nxt in stop_ids or (context is not None and pos >= context):
            break
        logits, past = ort_step(session, [[nxt]], past, pos)
        pos += 1
    return out


def check_parity(model, onnx_path, prompt_len: int = 24, steps: int = 16, seed: int = 0) -> dict:
    """PyTorch full-sequence logits vs onnxruntime prefill (empty past) + `steps` cached steps."""
    import numpy as np
    import torch

    cfg = model.cfg
    prompt_len = max(1, min(prompt_len, cfg.context - steps))  # stay within the trained context
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (1, prompt_len + steps), generator=g)
    with torch.no_grad():
        ref = model.float().cpu().eval()(ids)[0].numpy()
    sess = ort_session(onnx_path)
    logits, past = ort_step(sess, ids[:, :prompt_len].numpy(), empty_past(sess), 0)
    want = ref[:, :prompt_len] if logits.shape[1] == prompt_len else ref[:, prompt_len - 1:prompt_len]  # all / last
    prefill = float(np.abs(logits - want).max())
    decode = 0.0
    for t in range(prompt_len, prompt_len + steps):
        logits, past = ort_step(sess, ids[:, t:t + 1].numpy(), past, t)
        decode = max(decode, float(np.abs(logits - ref[:, t:t + 1]).max()))
    # batch of 2 with a left-padded row: logits must stay finite (no fully masked softmax row)
    am = np.ones((2, 8), dtype=np.int64)
    am[0, :3] = 0
    feeds = {"input_ids": np.tile(ids[:, :8].numpy(), (2, 1)), "attention_mask": am,
             "position_ids": np.clip(np.cumsum(am, axis=1) - 1, 0, None), **empty_past(sess, 2)}
    finite = bool(np.isfinite(sess.run(["logits"], feeds)[0]).all())
    result = {"prefill_max_abs": prefill, "decode_max_abs": decode, "prompt_len": prompt_len, "steps": steps,
              "left_padding_finite": finite, "tolerance": PARITY_TOL,
              "ok": prefill <= PARITY_TOL and decode <= PARITY_TOL and finite}
    return result


def quantize_int8(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Dynamic int8 of the matmuls (onnxruntime.quantization); the embedding lookup then reads the LM head's
    int8 weights too (tied: stored once), dequantising only the gathered rows."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" advice
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    finally:
        logging.getLogger().setLevel(level)
    proto = onnx.load(str(dst))
    if _gather_from_int8_head(proto):
        onnx.checker.check_model(proto)
        onnx.save(proto, str(dst))


def _gather_from_int8_head(proto) -> bool:
    """Embedding Gather on fp32 weights [V, d] -> Gather on Transpose(int8 head [d, V]) + DequantizeLinear.
    The Transpose of a constant is folded by onnxruntime at load; only the looked-up rows are dequantised."""
    import numpy as np
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    embed = next((i for i in proto.graph.initializer if i.name.endswith("embed.weight")), None)
    if embed is None:
        return False
    emb = numpy_helper.to_array(embed)
    for name, init in inits.items():
        if not name.endswith("_quantized") or tuple(init.dims) != emb.shape[::-1]:
            continue
        stem = name[: -len("_quantized")]
        scale, zp = inits.get(stem + "_scale"), inits.get(stem + "_zero_point")
        if scale is None or zp is None:
            continue
        q = numpy_helper.to_array(init).astype(np.float32)
        deq = (q - numpy_helper.to_array(zp)) * numpy_helper.to_array(scale)
        if np.abs(deq.T - emb).max() > float(numpy_helper.to_array(scale)) * 0.51:
            continue  # not the tied head
        for idx, node in enumerate(proto.graph.node):
            if node.op_type == "Gather" and node.input[0] == embed.name:
                rows_q, table = node.output[0] + "_int8", embed.name + "_int8"
                new = [helper.make_node("Transpose", [name], [table], name=table, perm=[1, 0]),
                       helper.make_node("Gather", [table, node.input[1]], [rows_q], name=node.name + "_int8", axis=0),
                       helper.make_node("DequantizeLinear", [rows_q, scale.name, zp.name], list(node.output),
                                        name=node.name + "_dequant")]
                proto.graph.node.remove(node)
                for k, n in enumerate(new):
                    proto.graph.node.insert(idx + k, n)
                if not any(embed.name in n.input for n in proto.graph.node):
                    proto.graph.initializer.remove(embed)
                return True
    return False


def quantization_change(fp32_path, int8_path, rows) -> dict:
    """Logit and loss change of the int8 model vs fp32 on dataset rows ([N, T+1] tokens and mask)."""
    import numpy as np

    tokens, mask = rows
    s32, s8 = ort_session(fp32_path), ort_session(int8_path)
    max_abs, agree, n_tok, losses = 0.0, 0, 0, {"fp32": [], "int8": []}
    for i in range(len(tokens)):
        x, y, m = tokens[i:i + 1, :-1], tokens[i, 1:], mask[i, 1:].astype(bool)
        l32, l8 = ort_logits(s32, x), ort_logits(s8, x)
        max_abs = max(max_abs, float(np.abs(l32 - l8).max()))
        agree += int((l32[0].argmax(-1) == l8[0].argmax(-1)).sum())
        n_tok += x.shape[1]
        for key, lg in (("fp32", l32[0]), ("int8", l8[0])):
            lg = lg.astype(np.float64)
            lse = np.log(np.exp(lg - lg.max(-1, keepdims=True)).sum(-1)) + lg.max(-1)
            nll = lse - lg[np.arange(len(y)), y]
            if m.any():
                losses[key].append(nll[m])
    l32 = float(np.concatenate(losses["fp32"]).mean()) if losses["fp32"] else float("nan")
    l8 = float(np.concatenate(losses["int8"]).mean()) if losses["int8"] else float("nan")
    return {"max_abs_logits": max_abs, "argmax_agreement": agree / max(n_tok, 1), "loss_fp32": l32,
            "loss_int8": l8, "loss_delta": l8 - l32, "rows": len(tokens),
            "bytes_fp32": os.path.getsize(fp32_path), "bytes_int8": os.path.getsize(int8_path)}


# ---------------------------------------------------------------- model.json


def sha256_file(path: str | os.PathLike) -> str:
    from trainer.tokenizer import file_sha256

    return file_sha256(path)


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
        "files": {f: {"sha256": sha256_file(out_dir / f), "bytes": (out_dir / f).stat().st_size}
                  for f in ("model.onnx", "tokenizer.json", WEIGHTS) if (out_dir / f).is_file()},
        "architecture": {"n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_kv_head": cfg.n_kv_head,
                         "d_model": cfg.d_model, "head_dim": cfg.head_dim, "vocab_size": cfg.vocab_size,
                         "context_length": cfg.context, "positional": "rope", "rope_theta": cfg.rope_theta,
                         "mlp_ratio": cfg.mlp_ratio, "norm": "layernorm", "tied_embeddings": True,
                         "parameters": model.num_parameters()},
        "onnx": {"opset": opset, "dtype": "float32", "quantization": quantization, "inputs": inputs,
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


def refresh_file_hashes(out_dir: str | os.PathLike) -> None:
    """Recomputes model.json's files section (after a file changed)."""
    from trainer.packed import write_json_atomic

    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "model.json").read_text(encoding="utf-8"))
    for f in manifest["files"]:
        manifest["files"][f] = {"sha256": sha256_file(out_dir / f), "bytes": (out_dir / f).stat().st_size}
    write_json_atomic(out_dir / "model.json", manifest)


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
    _check_tokenizer_vocab(out_dir / "tokenizer.json", model.cfg.vocab_size)
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


def _check_tokenizer_vocab(path: Path, vocab_size: int) -> None:
    from tokenizers import Tokenizer

    tv = Tokenizer.from_file(str(path)).get_vocab_size(with_added_tokens=True)
    if tv != vocab_size:
        raise UserError(f"tokenizer {path} has {tv} tokens but the model's embedding has {vocab_size} rows")
