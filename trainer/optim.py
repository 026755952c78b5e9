"""Optimisers and precision for the training loop: AdamW (fused: one kernel per step on CPU and CUDA, and a
non-finite step skipped on the device) or Muon for the hidden matrices with AdamW for the rest, behind one
wrapper; bf16 autocast where the device computes bf16 natively."""

from __future__ import annotations

from pathlib import Path

from trainer.errors import UserError


def cpu_has_bf16() -> bool:
    """Native bf16 matmuls on this CPU (AVX512-BF16 or AMX); without them autocast is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(requested: str, device: str) -> tuple[str, str | None]:
    """-> (precision, note): "bf16" or "fp32", and a one-line note when "auto" fell back to fp32."""
    import torch

    if requested not in ("auto", "bf16", "fp32"):
        raise UserError(f"precision {requested!r}: use auto, bf16 or fp32")
    if requested != "auto":
        return requested, None
    if device.startswith("cuda"):
        if torch.cuda.is_bf16_supported():
            return "bf16", None
        return "fp32", "this GPU has no bf16; training in fp32"
    if cpu_has_bf16():
        return "bf16", None
    return "fp32", "this CPU has no native bf16 (avx512_bf16 / amx_bf16); training in fp32"


class Optimizers:
    """One optimiser or several (Muon + AdamW) behind the few calls the loop makes. A single optimiser's
    state_dict is its own, so checkpoints of plain AdamW runs look as they always did."""

    def __init__(self, optimizers: list):
        self.optimizers = optimizers
        for opt in optimizers:
            for g in opt.param_groups:
                g.setdefault("initial_lr", g["lr"])

    @property
    def param_groups(self) -> list[dict]:
        return [g for opt in self.optimizers for g in opt.param_groups]

    def set_lr_factor(self, factor: float) -> None:
        for g in self.param_groups:
            g["lr"] = g["initial_lr"] * factor

    @property
    def device_skip(self) -> bool:
        """Every optimiser is a fused Adam(W): a non-finite step is skipped on the device (found_inf), so the
        loop need not read the loss back before each update."""
        return all(g.get("fused") for g in self.param_groups)

    def step(self, found_inf=None) -> None:
        """found_inf: a 0-d float tensor, 1 to skip this update on the device (device_skip optimisers only)."""
        for opt in self.optimizers:
            if found_inf is not None:
                opt.found_inf = found_inf
            opt.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        if len(self.optimizers) == 1:
            return self.optimizers[0].state_dict()
        return {"optimizers": [opt.state_dict() for opt in self.optimizers]}

    def load_state_dict(self, state: dict) -> None:
        states = state.get("optimizers", [state])
        if len(states) != len(self.optimizers):
            raise UserError("--resume: the checkpoint was written with another optimizer setting")
        for opt, st in zip(self.optimizers, states, strict=True):
            fused = [g.get("fused") for g in opt.param_groups]
            opt.load_state_dict(st)
            for g, f in zip(opt.param_groups, fused, strict=True):  # this run's kernel, not the writer's
                if f is not None:
                    g["fused"] = f


def build_optimizers(model, tc: dict, fused: bool) -> Optimizers:
    """AdamW over every parameter, or Muon for the 2-D hidden matrices (attention and MLP projections) with
    AdamW for the embedding (tied with the head) and the norm gains."""
    import torch

    from trainer.model import param_groups

    lr, wd = float(tc["lr"]), float(tc["weight_decay"])
    betas = (float(tc["beta1"]), float(tc["beta2"]))
    kind = tc["optimizer"]
    if kind == "adamw":
        return Optimizers([torch.optim.AdamW(param_groups(model, wd), lr=lr, betas=betas, fused=fused)])
    if kind != "muon":
        raise UserError(f"optimizer {kind!r}: use adamw or muon")
    hidden = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() == 2 and "embed" not in n
              and "lm_head" not in n]
    hidden_ids = {id(p) for p in hidden}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in hidden_ids]
    # match_rms_adamw scales Muon's orthogonalised update to AdamW's RMS, so one learning rate serves both
    muon = torch.optim.Muon(hidden, lr=lr, weight_decay=wd, momentum=0.95, adjust_lr_fn="match_rms_adamw")
    adamw = torch.optim.AdamW([{"params": rest, "weight_decay": 0.0}], lr=lr, betas=betas, fused=fused)
    return Optimizers([muon, adamw])
