// One inference per trace task for a snippet, within a time budget, cancellable, cached by
// sha256(model id + task + snippet). Vscode-free: the hover adapter and the tests both use it.
import { createHash } from 'node:crypto';
import type { Prediction, ShownPrediction } from './card';
import type { RunResult } from './run';

/** The part of the engine the hover uses (extension/engine). */
export interface TraceEngine {
  trace(task: string, program: string, opts?: { deadlineMs?: number; signal?: AbortSignal; maxNewTokens?: number }): Promise<Prediction>;
  tasks(): string[];
}

/** A Map that forgets its least recently used entries beyond `max`. */
export class LruCache<V> {
  private map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  get size(): number { return this.map.size; }
}

export const sha256 = (...parts: string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:${p}`); // length-prefixed: no ambiguity between parts
  return h.digest('hex');
};

/** Identifies the model in cache keys: its name and the hash of its weights. */
export const modelIdOf = (engine: { dir: string; manifest: { name: string; files: Record<string, { sha256: string }> } }): string =>
  `${engine.manifest.name}:${engine.manifest.files['model.onnx']?.sha256 ?? engine.dir}`;

export const predictionKey = (modelId: string, task: string, program: string): string => sha256(modelId, task, program);

// Answers cut short by the clock or a cancel are not final: the next hover asks again.
const UNFINISHED = new Set(['deadline', 'cancelled']);

export interface PredictResult {
  predictions: Prediction[];
  failures: Array<{ task: string; message: string }>;
  /** The signal fired: the caller should show nothing. */
  cancelled: boolean;
}

const isAbort = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'AbortError' || /abort|cancel/i.test(err.name));

/**
 * Predicts each task in turn (one inference per task, cached results reused) until `budgetMs` is spent.
 * Never throws: engine errors become failures, a cancel sets `cancelled`.
 */
export async function predictTasks(
  engine: TraceEngine, modelId: string, program: string, tasks: string[], cache: LruCache<Prediction>,
  opts: { budgetMs: number; signal?: AbortSignal; maxNewTokens?: number },
): Promise<PredictResult> {
  const deadline = performance.now() + opts.budgetMs; // the engine's clock
  const result: PredictResult = { predictions: [], failures: [], cancelled: false };
  for (const task of tasks) {
    if (opts.signal?.aborted) return { ...result, cancelled: true };
    const key = predictionKey(modelId, task, program);
    const cached = cache.get(key);
    if (cached) {
      result.predictions.push(cached);
      continue;
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      result.failures.push({ task, message: `time budget of ${opts.budgetMs} ms spent` });
      continue;
    }
    try {
      const p = await engine.trace(task, program, { deadlineMs: left, signal: opts.signal, maxNewTokens: opts.maxNewTokens });
      if (opts.signal?.aborted) return { ...result, cancelled: true };
      if (p.stopReason === 'too_long') {
        result.failures.push({ task, message: "the snippet does not fit the model's context" });
        continue;
      }
      result.predictions.push(p);
      if (!UNFINISHED.has(p.stopReason)) cache.set(key, p);
    } catch (err) {
      if (opts.signal?.aborted || isAbort(err)) return { ...result, cancelled: true };
      result.failures.push({ task, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return result;
}

/** What the command links need to find again: the snippet and its predictions. */
export interface SnippetEntry {
  code: string;
  predictions: ShownPrediction[];
  uri: string;
  startLine: number;
  endLine: number;
}

/** Everything the hover remembers between hovers: predictions, snippets behind links, run results. */
export class HoverState {
  readonly predictions = new LruCache<Prediction>(512);
  readonly snippets = new LruCache<SnippetEntry>(128);
  readonly runs = new LruCache<RunResult>(128);

  /** Remembers a snippet for the command links; returns its id. */
  remember(entry: SnippetEntry): string {
    const id = sha256(entry.code).slice(0, 32);
    this.snippets.set(id, entry);
    return id;
  }

  runKey(pythonPath: string, code: string): string {
    return sha256(pythonPath, code);
  }
}
