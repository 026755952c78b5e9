// The engine's side of trainer/contract.json (bundled by esbuild): the special tokens, ONNX names and default limits
// the trainer (trainer/contract.py) reads from the same file. docs/DESIGN.md, "The contract file".
import contract from '../../trainer/contract.json';

export const FORMAT = contract.format;

/** The graph's float type (inputs past_*, outputs logits and present_*). */
export const ONNX_DTYPE = contract.onnx.dtype;

/** The special tokens every TinyFIM tokenizer has, SPECIAL_TOKENS[i] at id i. */
export const SPECIAL_TOKENS: readonly string[] = contract.special_tokens;

/** Tokens a FIM completion may generate when the caller gives no limit. */
export const FIM_MAX_NEW_TOKENS: number = contract.prompts.fim.max_new_tokens;

/** The share of a FIM prompt's room given to the prefix when model.json does not say. */
export const PREFIX_SHARE: number = contract.prompts.fim.prefix_share;

/** The ONNX input/output names the engine feeds and reads for a model with `nLayer` layers. */
export function expectedIo(nLayer: number): { inputs: string[]; outputs: string[] } {
  const o = contract.onnx;
  const inputs = [...o.inputs];
  const outputs = [...o.outputs];
  for (let layer = 0; layer < nLayer; layer++) {
    for (const kv of o.kv) {
      const name = (pattern: string) => pattern.replace('{layer}', String(layer)).replace('{kv}', kv);
      inputs.push(name(o.past_input));
      outputs.push(name(o.present_output));
    }
  }
  return { inputs, outputs };
}
