// The Engine: one loaded model, one inference at a time, newest completion request wins.
// Completions and trace predictions keep separate KV caches so a hover never evicts the typing-through cache.
import { FIM_MAX_NEW_TOKENS } from './contract';
import { decode, KvCache, type Hypothesis, type StopReason, type Strategy } from './decode';
import { VocabIndex } from './heal';
import type { ModelManifest } from './manifest';
import { loadModelFolder, type OnnxModel } from './model';
import { buildFimPrompt, buildTracePrompt, type FimMode } from './prompts';
import type { Tokenizer } from './tokenizer';

export interface CompletionRequest {
  prefix: string;
  suffix: string;
  maxNewTokens?: number;
  stop?: string[];
  /** Wall-clock budget in ms from the call. */
  deadlineMs?: number;
  signal?: AbortSignal;
  mode?: FimMode;
  singleLine?: boolean;
  /** See DecodeOptions.isFinal: lets the caller end decoding once its post-processing cut is settled. */
  isFinal?: (text: string) => boolean;
  /** Decoding strategy; greedy by default. */
  strategy?: Strategy;
  /** Token healing (heal.ts): on unless false (the baseline in benchmarks). */
  heal?: boolean;
  /** Several answers: beam search returns up to this many distinct ones, best first (`candidates`). */
  candidates?: number;
}

/** One answer with its confidence: the mean and the lowest log-probability of the tokens that write it (the end
 *  token included when the model chose it); -Infinity when no token wrote anything. */
export interface CompletionCandidate {
  text: string;
  tokens: number;
  stopReason: StopReason;
  meanLogProb: number;
  minLogProb: number;
  /** What candidates are ranked by (beam search's length-normalised log-probability). */
  score: number;
}

export interface CompletionResult extends CompletionCandidate {
  ms: number;
  prefillTokens: number;
  reusedTokens: number;
  stopReason: StopReason;
  /** Prompt length in tokens and the FIM mode used. */
  promptTokens: number;
  mode: FimMode;
  /** The text token healing took back from the prompt and had the model re-write ('' when none). */
  healed: string;
  /** With `candidates`: the distinct answers, best first (the first is this result). */
  candidates?: CompletionCandidate[];
}

export interface TraceResult {
  task: string;
  answer: string;
  /** Product of the chosen tokens' probabilities, the end token included (greedy). */
  probability: number;
  ms: number;
  /** A decoding StopReason, or 'too_long' when the program does not fit the context. */
  stopReason: string;
  tokens: number;
}

/** Budgets when the caller gives none (the editor always does). */
const DEFAULT_FIM_DEADLINE_MS = 10_000;
const DEFAULT_TRACE_DEADLINE_MS = 5000;

export function confidence(tokenLogProbs: readonly number[]): { meanLogProb: number; minLogProb: number } {
  if (tokenLogProbs.length === 0) return { meanLogProb: -Infinity, minLogProb: -Infinity };
  let sum = 0;
  let min = Infinity;
  for (const lp of tokenLogProbs) { sum += lp; min = Math.min(min, lp); }
  return { meanLogProb: sum / tokenLogProbs.length, minLogProb: min };
}

function candidate(h: Hypothesis): CompletionCandidate {
  return { text: h.text, tokens: h.ids.length, stopReason: h.stopReason, score: h.score, ...confidence(h.tokenLogProbs) };
}

/** The performance.now() time at which decoding stops: `ms` (default `fallback`) after `t0`. */
function deadlineFrom(ms: number | undefined, t0: number, fallback: number): number {
  return t0 + (ms ?? fallback);
}

export class Engine {
  private chain: Promise<unknown> = Promise.resolve();
  private completeSeq = 0;
  private dropPending: (() => void) | null = null;
  private readonly fimCache = new KvCache();
  private readonly traceCache = new KvCache();
  private disposed = false;
  readonly tokenizer: Tokenizer;
  /** The vocabulary sorted by bytes, for token healing (built once per tokenizer). */
  readonly vocab: VocabIndex;
  private readonly model: OnnxModel;

  private constructor(readonly dir: string, readonly manifest: ModelManifest, tokenizer: Tokenizer, model: OnnxModel) {
    this.tokenizer = tokenizer;
    this.vocab = new VocabIndex(tokenizer);
    this.model = model;
  }

  /** Loads and validates a model folder; rejects with ModelLoadError. */
  static async load(dir: string, opts: { threads?: number } = {}): Promise<Engine> {
    const { manifest, tokenizer, model } = await loadModelFolder(dir, opts);
    return new Engine(dir, manifest, tokenizer, model);
  }

  tasks(): string[] {
    return Object.keys(this.manifest.prompts.tasks);
  }

  /** Runs `fn` after everything queued before it (one inference at a time). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private stopIds(stop: string[]): { ids: Set<number>; strings: string[] } {
    const ids = new Set<number>([this.tokenizer.special('<|endoftext|>')]);
    const strings: string[] = [];
    for (const s of stop) {
      const id = this.tokenizer.specialIds.get(s);
      if (id !== undefined) ids.add(id);
      else strings.push(s);
    }
    return { ids, strings };
  }

  complete(req: CompletionRequest): Promise<CompletionResult> {
    if (this.disposed) return Promise.reject(new Error('engine is disposed'));
    const t0 = performance.now();
    const seq = ++this.completeSeq;
    const mode = req.mode ?? this.manifest.prompts.fim.default_mode;
    const stub = (stopReason: StopReason): CompletionResult => ({
      text: '', tokens: 0, ms: performance.now() - t0, prefillTokens: 0, reusedTokens: 0, stopReason, promptTokens: 0, mode,
      meanLogProb: -Infinity, minLogProb: -Infinity, score: -Infinity, healed: '',
    });
    this.dropPending?.(); // an older request still waiting for its turn ends now
    return new Promise<CompletionResult>((resolve, reject) => {
      let started = false;
      const onAbort = (): void => { if (!started) resolve(stub('cancelled')); };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      this.dropPending = () => { if (!started) resolve(stub('superseded')); };
      this.exclusive(async () => {
        req.signal?.removeEventListener('abort', onAbort);
        if (seq !== this.completeSeq) return resolve(stub('superseded'));
        if (req.signal?.aborted) return resolve(stub('cancelled'));
        started = true;
        const maxNew = req.maxNewTokens ?? FIM_MAX_NEW_TOKENS;
        const budget = this.manifest.architecture.context_length - maxNew;
        const heal = req.heal === false ? undefined : this.vocab;
        const prompt = buildFimPrompt(this.manifest, this.tokenizer, req.prefix, req.suffix, { mode, budget, heal });
        const stops = this.stopIds([...this.manifest.prompts.fim.stop, ...(req.stop ?? [])]);
        const r = await decode(this.model, this.tokenizer, this.fimCache, prompt.ids, {
          maxNewTokens: maxNew,
          stopIds: stops.ids,
          stopStrings: stops.strings,
          singleLine: req.singleLine ?? false,
          isFinal: req.isFinal,
          deadline: deadlineFrom(req.deadlineMs, t0, DEFAULT_FIM_DEADLINE_MS),
          interrupt: () => (seq !== this.completeSeq ? 'superseded' : req.signal?.aborted ? 'cancelled' : null),
          strategy: req.strategy ?? { kind: 'greedy' },
          heal: heal && prompt.healed ? { index: heal, removed: prompt.healed } : undefined,
          candidates: req.candidates,
        });
        resolve({
          ...candidate(r), ms: performance.now() - t0, prefillTokens: r.prefillTokens,
          reusedTokens: r.reusedTokens, promptTokens: prompt.ids.length, mode,
          healed: Buffer.from(prompt.healed, 'latin1').toString('utf8'),
          candidates: r.candidates?.map(candidate),
        });
      }).catch(reject);
    });
  }

  trace(task: string, program: string, opts: { deadlineMs?: number; signal?: AbortSignal; maxNewTokens?: number } = {}): Promise<TraceResult> {
    if (this.disposed) return Promise.reject(new Error('engine is disposed'));
    const t0 = performance.now();
    const spec = this.manifest.prompts.tasks[task];
    if (!spec) return Promise.reject(new Error(`unknown task '${task}' (this model has: ${this.tasks().join(', ') || 'none'})`));
    return this.exclusive(async () => {
      const res = (answer: string, probability: number, stopReason: string, tokens = 0): TraceResult =>
        ({ task, answer, probability, ms: performance.now() - t0, stopReason, tokens });
      if (opts.signal?.aborted) return res('', 0, 'cancelled');
      const maxNew = opts.maxNewTokens ?? spec.max_new_tokens;
      const ids = buildTracePrompt(this.manifest, this.tokenizer, task, program, this.manifest.architecture.context_length - maxNew);
      if (!ids) return res('', 0, 'too_long');
      const stops = this.stopIds(spec.stop);
      const r = await decode(this.model, this.tokenizer, this.traceCache, ids, {
        maxNewTokens: maxNew,
        stopIds: stops.ids,
        stopStrings: stops.strings,
        singleLine: false,
        deadline: deadlineFrom(opts.deadlineMs, t0, DEFAULT_TRACE_DEADLINE_MS),
        interrupt: () => (opts.signal?.aborted ? 'cancelled' : null),
        strategy: { kind: 'greedy' },
      });
      return res(r.text, Math.exp(r.logProb), r.stopReason, r.ids.length);
    });
  }

  /** Greedy token ids for raw prompt ids (parity tests and tools); does not touch the completion cache. */
  greedyIds(prompt: number[], n: number): Promise<number[]> {
    return this.exclusive(async () => {
      const r = await decode(this.model, this.tokenizer, new KvCache(), prompt, {
        maxNewTokens: n, stopIds: new Set(), stopStrings: [], singleLine: false,
        deadline: Infinity, interrupt: () => null, strategy: { kind: 'greedy' },
      });
      return r.ids;
    });
  }

  /** Forgets the cached keys/values (benchmarks use it to measure cold requests). */
  clearCache(): Promise<void> {
    return this.exclusive(async () => { this.fimCache.clear(); this.traceCache.clear(); });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.completeSeq++; // stop a running completion at its next step
    await this.chain;
    this.fimCache.clear();
    this.traceCache.clear();
    await this.model.release();
  }
}
