// Loading a model folder (model.json + model.onnx + tokenizer.json) and running the ONNX graph with a KV cache.
// Every check fails with a ModelLoadError naming the file and the problem; nothing here can take the process
// down (onnxruntime errors are caught, files are hashed before the runtime ever parses them).
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { expectedIo, SPECIAL_TOKENS } from './contract';
import { ModelLoadError, someOf } from './errors';
import { parseManifest, type ModelManifest } from './manifest';
import { Tokenizer } from './tokenizer';

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function statOrNull(file: string): Promise<{ size: number } | null> {
  try {
    const s = await fsp.stat(file);
    return s.isFile() ? s : null;
  } catch {
    return null;
  }
}

/** Past keys/values of one sequence batch: 2 tensors per layer, [batch, n_kv_head, length, head_dim]. */
export type Past = ort.Tensor[];

export class OnnxModel {
  readonly nLayer: number;
  readonly nKv: number;
  readonly headDim: number;
  readonly vocab: number;
  /** The graph's input and output names (trainer/contract.json): 3 fixed inputs then each layer's past key, value;
   *  the logits then each layer's present key, value. */
  private readonly io: { inputs: string[]; outputs: string[] };

  constructor(readonly session: ort.InferenceSession, readonly manifest: ModelManifest) {
    const a = manifest.architecture;
    this.nLayer = a.n_layer;
    this.nKv = a.n_kv_head;
    this.headDim = a.head_dim;
    this.vocab = a.vocab_size;
    this.io = expectedIo(a.n_layer);
  }

  emptyPast(batch = 1): Past {
    const out: Past = [];
    for (let i = 0; i < 2 * this.nLayer; i++) out.push(new ort.Tensor('float32', new Float32Array(0), [batch, this.nKv, 0, this.headDim]));
    return out;
  }

  /**
   * Feeds `rows` (batch x seq token ids, equal lengths) after `past` (length pastLen).
   * Returns the logits of the LAST position of each row (batch x vocab) and the new past.
   */
  async forward(rows: number[][], past: Past, pastLen: number): Promise<{ logits: Float32Array; present: Past }> {
    const batch = rows.length;
    const seq = rows[0].length;
    const ids = new BigInt64Array(batch * seq);
    const pos = new BigInt64Array(batch * seq);
    rows.forEach((r, b) => r.forEach((t, j) => { ids[b * seq + j] = BigInt(t); pos[b * seq + j] = BigInt(pastLen + j); }));
    const [idsName, maskName, positionsName, ...pastNames] = this.io.inputs;
    const feeds: Record<string, ort.Tensor> = {
      [idsName]: new ort.Tensor('int64', ids, [batch, seq]),
      [maskName]: new ort.Tensor('int64', new BigInt64Array(batch * (pastLen + seq)).fill(1n), [batch, pastLen + seq]),
      [positionsName]: new ort.Tensor('int64', pos, [batch, seq]),
    };
    pastNames.forEach((name, j) => { feeds[name] = past[j]; });
    const out = await this.session.run(feeds);
    const [logitsName, ...presentNames] = this.io.outputs;
    const logitsT = out[logitsName];
    const all = logitsT.data as Float32Array;
    const v = logitsT.dims[2];
    const rowsOut = logitsT.dims[1]; // 1 for a last-position graph (docs/DESIGN.md), else seq
    const logits = new Float32Array(batch * v);
    for (let b = 0; b < batch; b++) logits.set(all.subarray((b * rowsOut + rowsOut - 1) * v, (b * rowsOut + rowsOut) * v), b * v);
    return { logits, present: presentNames.map((name) => out[name]) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The first `keep` positions of a past (axis 2). */
export function truncatePast(past: Past, keep: number): Past {
  return past.map((t) => {
    const [b, h, len, d] = t.dims;
    if (keep >= len) return t;
    const src = t.data as Float32Array;
    const dst = new Float32Array(b * h * keep * d);
    for (let r = 0; r < b * h; r++) dst.set(src.subarray(r * len * d, r * len * d + keep * d), r * keep * d);
    return new ort.Tensor('float32', dst, [b, h, keep, d]);
  });
}

/** A past whose batch rows are `rows[i]` of `past` (beam search reordering / expansion). */
export function selectRows(past: Past, rows: number[]): Past {
  return past.map((t) => {
    const [, h, len, d] = t.dims;
    const n = h * len * d;
    const src = t.data as Float32Array;
    const dst = new Float32Array(rows.length * n);
    rows.forEach((r, i) => dst.set(src.subarray(r * n, (r + 1) * n), i * n));
    return new ort.Tensor('float32', dst, [rows.length, h, len, d]);
  });
}

export interface LoadedModel {
  manifest: ModelManifest;
  tokenizer: Tokenizer;
  model: OnnxModel;
}

/** Validates the folder and opens the session; rejects with ModelLoadError for every kind of problem. */
export async function loadModelFolder(dir: string, opts: { threads?: number } = {}): Promise<LoadedModel> {
  const manifestPath = path.join(dir, 'model.json');
  if (!(await statOrNull(manifestPath))) {
    const exists = await fsp.stat(dir).then((s) => s.isDirectory(), () => false);
    throw new ModelLoadError('missing_file', exists ? `${manifestPath} is missing (not a TinyFIM model folder?)` : `model folder ${dir} does not exist`, manifestPath);
  }
  const manifest = parseManifest(await fsp.readFile(manifestPath, 'utf8'), manifestPath);

  for (const name of ['model.onnx', 'tokenizer.json']) {
    const file = path.join(dir, name);
    const st = await statOrNull(file);
    if (!st) throw new ModelLoadError('missing_file', `${file} is missing`, file);
    const want = manifest.files[name];
    if (st.size !== want.bytes) {
      throw new ModelLoadError('sha256_mismatch', `${file} is ${st.size} bytes but model.json says ${want.bytes} (truncated or replaced?)`, file);
    }
    const got = await sha256File(file);
    if (got !== want.sha256) throw new ModelLoadError('sha256_mismatch', `${file} has sha256 ${got} but model.json says ${want.sha256} (corrupt or replaced?)`, file);
  }

  const tokPath = path.join(dir, 'tokenizer.json');
  let tokJson: unknown;
  try {
    tokJson = JSON.parse(await fsp.readFile(tokPath, 'utf8'));
  } catch (err) {
    throw new ModelLoadError('tokenizer_error', `tokenizer.json is not valid JSON (${(err as Error).message})`, tokPath);
  }
  const tokenizer = new Tokenizer(tokJson, tokPath);
  SPECIAL_TOKENS.forEach((t, id) => {
    if (tokenizer.specialIds.get(t) !== id) throw new ModelLoadError('tokenizer_error', `tokenizer.json: special token ${t} must have id ${id}, has ${tokenizer.specialIds.get(t) ?? 'none'}`, tokPath);
  });
  if (tokenizer.vocabSize !== manifest.architecture.vocab_size) {
    throw new ModelLoadError('vocab_mismatch', `tokenizer.json has ${tokenizer.vocabSize} tokens but model.json says vocab_size ${manifest.architecture.vocab_size}`, tokPath);
  }

  const onnxPath = path.join(dir, 'model.onnx');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxPath, {
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new ModelLoadError('bad_onnx', `model.onnx cannot be loaded by onnxruntime: ${(err as Error).message}`, onnxPath);
  }
  const fail = async (code: 'io_mismatch' | 'vocab_mismatch' | 'bad_onnx', message: string): Promise<never> => {
    await session.release().catch(() => undefined);
    throw new ModelLoadError(code, message, onnxPath);
  };
  const want = expectedIo(manifest.architecture.n_layer);
  const missingIn = want.inputs.filter((n) => !session.inputNames.includes(n));
  const missingOut = want.outputs.filter((n) => !session.outputNames.includes(n));
  const extraIn = session.inputNames.filter((n) => !want.inputs.includes(n));
  if (missingIn.length || missingOut.length || extraIn.length) {
    await fail('io_mismatch', `model.onnx inputs/outputs do not match n_layer=${manifest.architecture.n_layer}: ` +
      [missingIn.length && `missing inputs ${someOf(missingIn)}`, missingOut.length && `missing outputs ${someOf(missingOut)}`,
        extraIn.length && `unexpected inputs ${someOf(extraIn)}`].filter(Boolean).join('; '));
  }
  const model = new OnnxModel(session, manifest);
  // One tiny forward proves the graph runs and has the shapes the manifest promises.
  try {
    const { logits, present } = await model.forward([[0]], model.emptyPast(), 0);
    if (logits.length !== manifest.architecture.vocab_size) {
      await fail('vocab_mismatch', `model.onnx produces ${logits.length} logits per token but model.json says vocab_size ${manifest.architecture.vocab_size}`);
    }
    const d = present[0].dims;
    if (d[1] !== model.nKv || d[2] !== 1 || d[3] !== model.headDim) {
      await fail('io_mismatch', `model.onnx present.0.key has shape [${d.join(', ')}], expected [1, ${model.nKv}, 1, ${model.headDim}] from model.json`);
    }
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    await fail('bad_onnx', `model.onnx fails a one-token test run: ${(err as Error).message}`);
  }
  return { manifest, tokenizer, model };
}
