// model.json: the manifest written by `python -m trainer export` (schema in docs/DESIGN.md); the facts it must agree
// with (special tokens, ONNX names) come from trainer/contract.json.
// validateManifest() is pure: it checks shape and internal consistency, not the files on disk.
import { expectedIo, FORMAT, ONNX_DTYPE, SPECIAL_TOKENS } from './contract';
import { ModelLoadError, someOf } from './errors';

export interface FileEntry { sha256: string; bytes: number }

export interface Architecture {
  n_layer: number; n_head: number; n_kv_head: number; d_model: number; head_dim: number;
  vocab_size: number; context_length: number; positional?: string; parameters?: number;
}

export interface FimPrompts {
  psm: string; spm: string; default_mode: 'psm' | 'spm'; stop: string[];
  /** Optional share of the prompt budget given to the prefix (0..1); the engine defaults to the contract's. */
  prefix_share?: number;
}

export interface TaskPrompt { template: string; stop: string[]; max_new_tokens: number }

export interface ModelManifest {
  format: 'tinyfim-model-v1';
  name: string;
  files: Record<string, FileEntry>;
  architecture: Architecture;
  onnx: { opset: number; dtype: string; quantization: string | null; inputs: string[]; outputs: string[] };
  special_tokens: Record<string, number>;
  prompts: { fim: FimPrompts; tasks: Record<string, TaskPrompt> };
  data?: unknown;
  training?: unknown;
  evaluation?: unknown;
}

function fail(message: string, path?: string): never {
  throw new ModelLoadError('bad_manifest', `model.json: ${message}`, path);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function posInt(obj: Record<string, unknown>, key: string, where: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`${where}.${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(`${where} must be a list of strings`);
  return v as string[];
}

/** Parses and validates model.json text; throws ModelLoadError('bad_manifest') naming the first problem. */
export function parseManifest(text: string, path?: string): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError('bad_manifest', `model.json is not valid JSON (${(err as Error).message})`, path);
  }
  return validateManifest(raw, path);
}

export function validateManifest(raw: unknown, path?: string): ModelManifest {
  const f = (m: string): never => fail(m, path);
  if (!isObject(raw)) f('the top level must be an object');
  const m = raw as Record<string, unknown>;
  if (m.format !== FORMAT) f(`format must be "${FORMAT}", got ${JSON.stringify(m.format)}`);
  if (typeof m.name !== 'string') f('name must be a string');

  if (!isObject(m.files)) f('files must be an object');
  for (const name of ['model.onnx', 'tokenizer.json']) {
    const e = (m.files as Record<string, unknown>)[name];
    if (!isObject(e)) f(`files["${name}"] is missing`);
    const entry = e as Record<string, unknown>;
    if (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256)) f(`files["${name}"].sha256 must be 64 lowercase hex digits`);
    if (typeof entry.bytes !== 'number' || !Number.isInteger(entry.bytes) || entry.bytes < 0) f(`files["${name}"].bytes must be a non-negative integer`);
  }

  if (!isObject(m.architecture)) f('architecture must be an object');
  const a = m.architecture as Record<string, unknown>;
  for (const k of ['n_layer', 'n_head', 'n_kv_head', 'd_model', 'head_dim', 'vocab_size', 'context_length']) posInt(a, k, 'architecture');
  if ((a.n_head as number) % (a.n_kv_head as number) !== 0) f('architecture.n_head must be a multiple of n_kv_head');

  if (!isObject(m.onnx)) f('onnx must be an object');
  const o = m.onnx as Record<string, unknown>;
  const inputs = stringList(o.inputs, 'onnx.inputs');
  const outputs = stringList(o.outputs, 'onnx.outputs');
  if (o.dtype !== undefined && o.dtype !== ONNX_DTYPE) f(`onnx.dtype ${JSON.stringify(o.dtype)} is not supported (${ONNX_DTYPE} only)`);
  // Each layer has two past inputs: a corrupt n_layer (2^31) must not build billions of names and exhaust the memory.
  if ((a.n_layer as number) > inputs.length / 2) {
    throw new ModelLoadError('io_mismatch', `model.json: architecture.n_layer is ${a.n_layer} but onnx.inputs has only ${inputs.length} names (3 + 2 per layer)`, path);
  }
  const want = expectedIo(a.n_layer as number);
  const missingIn = want.inputs.filter((n) => !inputs.includes(n));
  const missingOut = want.outputs.filter((n) => !outputs.includes(n));
  if (missingIn.length) throw new ModelLoadError('io_mismatch', `model.json: onnx.inputs lacks ${someOf(missingIn)} (expected for n_layer=${a.n_layer})`, path);
  if (missingOut.length) throw new ModelLoadError('io_mismatch', `model.json: onnx.outputs lacks ${someOf(missingOut)} (expected for n_layer=${a.n_layer})`, path);

  if (!isObject(m.special_tokens)) f('special_tokens must be an object');
  const st = m.special_tokens as Record<string, unknown>;
  SPECIAL_TOKENS.forEach((tok, id) => {
    if (st[tok] !== id) f(`special_tokens["${tok}"] must be ${id}, got ${JSON.stringify(st[tok])}`);
  });

  if (!isObject(m.prompts)) f('prompts must be an object');
  const p = m.prompts as Record<string, unknown>;
  if (!isObject(p.fim)) f('prompts.fim must be an object');
  const fim = p.fim as Record<string, unknown>;
  if (typeof fim.psm !== 'string' || !fim.psm.includes('{prefix}') || !fim.psm.includes('{suffix}')) f('prompts.fim.psm must be a template with {prefix} and {suffix}');
  if (typeof fim.spm !== 'string' || !fim.spm.includes('{prefix}') || !fim.spm.includes('{suffix}')) f('prompts.fim.spm must be a template with {prefix} and {suffix}');
  if (fim.default_mode !== 'psm' && fim.default_mode !== 'spm') f('prompts.fim.default_mode must be "psm" or "spm"');
  stringList(fim.stop, 'prompts.fim.stop');
  if (fim.prefix_share !== undefined && (typeof fim.prefix_share !== 'number' || fim.prefix_share <= 0 || fim.prefix_share >= 1)) f('prompts.fim.prefix_share must be a number in (0, 1)');
  if (p.tasks === undefined) p.tasks = {};
  if (!isObject(p.tasks)) f('prompts.tasks must be an object');
  for (const [name, t] of Object.entries(p.tasks as Record<string, unknown>)) {
    if (!isObject(t)) f(`prompts.tasks.${name} must be an object`);
    const task = t as Record<string, unknown>;
    if (typeof task.template !== 'string' || !task.template.includes('{program}')) f(`prompts.tasks.${name}.template must contain {program}`);
    stringList(task.stop, `prompts.tasks.${name}.stop`);
    posInt(task, 'max_new_tokens', `prompts.tasks.${name}`);
  }
  return raw as unknown as ModelManifest;
}
