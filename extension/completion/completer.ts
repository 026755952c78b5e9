// The provider's decision logic without vscode: when to complete, the context, the typing-through cache, the
// debounce, the engine call and post-processing. provider.ts only converts vscode types to and from this.
import type { CompletionCandidate, CompletionRequest, CompletionResult, ModelManifest } from '../engine';
import type { Logger } from '../log';
import { TypingCache } from './cache';
import { buildContext, replaceRange, type CompletionContext, type IndentOptions, type Mode } from './context';
import { Debouncer, sleep, type TriggerKind } from './debounce';
import { cutIsFinal, postprocess } from './postprocess';
import { DEFAULT_SETTINGS, type CompleterSettings } from './settings';
import type { Stats } from './stats';

/** What the completer needs from an Engine (tests wrap a real Engine to count calls). */
export interface CompletionEngine {
  readonly manifest: ModelManifest;
  complete(req: CompletionRequest): Promise<CompletionResult>;
}

export { DEFAULT_MIN_CONFIDENCE, DEFAULT_SETTINGS, type CompleterSettings } from './settings';

/** A manual trigger offers up to this many distinct suggestions (Alt+] / Alt+[ cycle them). */
export const MANUAL_CANDIDATES = 3;

/** A suggestion's confidence in [0, 1]: the probability of its least likely token. On held-out lines it separates
 *  right from wrong suggestions better than the mean (MODEL_CARD.md, "Confidence gate"). */
export function confidenceOf(c: Pick<CompletionCandidate, 'minLogProb'>): number {
  return Math.exp(c.minLogProb);
}

/** Single-line completions need few tokens (the rest of one line). */
export const SINGLE_LINE_MAX_TOKENS = 32;

export interface CompletionInput {
  /** Identifies the document (its URI) for the cache. */
  docId: string;
  text: string;
  offset: number;
  languageId: string;
  indent: IndentOptions;
  trigger: TriggerKind;
  signal?: AbortSignal;
}

export interface Completion {
  /** Suggestion id: shared by the typing-through remainders of one model answer. */
  id: number;
  insertText: string;
  /** Offsets in the input text that insertText replaces (same line). */
  start: number;
  end: number;
  mode: Mode;
  source: 'model' | 'cache';
  /** confidenceOf the model's answer (model suggestions only). */
  confidence?: number;
}

export type SkipReason =
  | 'file-too-large' | 'line-too-long' | 'mid-word' | 'cancelled' | 'no-engine' | 'empty' | 'low-confidence' | 'error';

export interface Outcome {
  completion?: Completion;
  /** Manual triggers: every distinct suggestion, best first (`completion` is the first). */
  candidates?: Completion[];
  skipped?: SkipReason;
  /** Wall time of this request (ms), debounce included; modelMs: the engine call alone. */
  ms: number;
  modelMs?: number;
  stopReason?: CompletionResult['stopReason'];
  /** The engine's answer before post-processing (requests that reached the model). */
  answer?: CompletionResult;
}

/** Why not to complete at all here (undefined: go ahead). Cheap checks first; no model involved. */
export function skipReason(text: string, offset: number, trigger: TriggerKind, s: CompleterSettings): SkipReason | undefined {
  if (text.length > s.maxFileSizeKB * 1024) return 'file-too-large';
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let lineEnd = text.indexOf('\n', offset);
  if (lineEnd < 0) lineEnd = text.length;
  if (lineEnd - lineStart > s.maxLineLength) return 'line-too-long';
  // Automatic triggers do not complete inside a word (the user is typing or editing a name).
  if (trigger === 'automatic' && /\w/.test(text[offset] ?? '') && /\w/.test(text[offset - 1] ?? '')) return 'mid-word';
  return undefined;
}

/** The prompt text: whole lines around the cursor, at most ~8 characters per context token on each side (the
 *  engine then fits them to its token budget). The prefix start only moves in steps of 32 lines, so typing on a
 *  line keeps the prompt's beginning stable and the engine's KV cache reusable. */
export function promptWindow(ctx: CompletionContext, contextLength: number): { prefix: string; suffix: string } {
  const maxChars = Math.max(1024, contextLength * 8);
  const lineStart = ctx.prefix.length - ctx.linePrefix.length;
  let prefix = ctx.prefix;
  if (lineStart > maxChars) {
    const lines = ctx.prefix.slice(0, lineStart).split('\n'); // the last element is '' (the cursor line)
    let k = lines.length - 1;
    for (let chars = 0; k > 0 && chars + lines[k - 1].length + 1 <= maxChars;) chars += lines[--k].length + 1;
    k = Math.min(Math.ceil(k / 32) * 32, lines.length - 1); // quantized: stable while the cursor stays in this band
    prefix = lines.slice(k).join('\n') + ctx.linePrefix;
  }
  let suffix = ctx.suffix;
  if (suffix.length > maxChars / 2) {
    const cut = suffix.lastIndexOf('\n', maxChars / 2);
    suffix = suffix.slice(0, cut > 0 ? cut + 1 : maxChars / 2);
  }
  return { prefix, suffix };
}

/** A multi-line answer cut by the token or time limit ends in a partial line: drop it. */
export function dropPartialLastLine(text: string, stopReason: string, mode: Mode): string {
  if (mode !== 'multi' || (stopReason !== 'max_tokens' && stopReason !== 'deadline')) return text;
  const nl = text.trimEnd().lastIndexOf('\n');
  return nl > 0 ? text.slice(0, nl) : text;
}

/** `busy`: whether a model call is running after this event. */
export type CompleterEvent =
  | { kind: 'busy'; busy: true }
  | { kind: 'done'; outcome: Outcome; busy: boolean };

export class Completer {
  readonly cache = new TypingCache();
  readonly debouncer: Debouncer;
  private nextId = 1;
  private inflight = 0;
  private listeners: ((e: CompleterEvent) => void)[] = [];

  constructor(
    private readonly getEngine: () => Promise<CompletionEngine | undefined>,
    private readonly settings: () => CompleterSettings = () => DEFAULT_SETTINGS,
    private readonly opts: {
      log?: Logger;
      stats?: Stats;
      now?: () => number;
      /** Extra engine request fields (decoding strategy, FIM mode, healing) for the CLI, benchmarks and tests. */
      request?: Pick<CompletionRequest, 'strategy' | 'mode' | 'heal'>;
      /** false: decode to the token limit even once post-processing's cut is settled (the baseline in
       *  bench/completion.ts, the CLI's --raw). */
      earlyStop?: boolean;
      /** Forces single- or multi-line completions instead of the editor's choice by context (the CLI's --lines). */
      lines?: Mode;
    } = {},
  ) {
    this.debouncer = new Debouncer(settings().debounceMs);
  }

  onEvent(listener: (e: CompleterEvent) => void): () => void {
    this.listeners.push(listener);
    return () => { this.listeners = this.listeners.filter((l) => l !== listener); };
  }

  private emit(e: CompleterEvent): void {
    for (const l of this.listeners) l(e);
  }

  private now(): number { return this.opts.now?.() ?? performance.now(); }

  async complete(input: CompletionInput): Promise<Outcome> {
    const t0 = this.now();
    const outcome = await this.run(input, t0).catch((err: unknown): Outcome => {
      this.opts.log?.error(`completion failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return { skipped: 'error', ms: this.now() - t0 };
    });
    this.emit({ kind: 'done', outcome, busy: this.inflight > 0 });
    return outcome;
  }

  private async run(input: CompletionInput, t0: number): Promise<Outcome> {
    const s = this.settings();
    const { log, stats } = this.opts;
    const done = (o: Omit<Outcome, 'ms'>): Outcome => ({ ...o, ms: this.now() - t0 });
    // Size limits first; the mid-word rule only after the cache (typing through a suggestion may be mid-word).
    const limit = skipReason(input.text, input.offset, 'invoke', s);
    if (limit) return done({ skipped: limit });
    const ctx = buildContext(input.text, input.offset,
      { indent: input.indent, maxLines: s.maxLines, languageId: input.languageId, mode: this.opts.lines });
    const { start, end } = replaceRange(ctx);

    const hit = this.cache.lookup(input.docId, ctx);
    // A fully typed suggestion (nothing visible left) asks the model for what comes next.
    if (hit && hit.text.trim() !== '' && hit.text !== ctx.closers) {
      stats?.cacheHit();
      log?.debug(`cache hit #${hit.id} after ${hit.typed} typed characters`);
      return done({ completion: { id: hit.id, insertText: hit.text, start, end, mode: ctx.mode, source: 'cache' } });
    }
    const midWord = skipReason(input.text, input.offset, input.trigger, s);
    if (midWord) return done({ skipped: midWord });

    this.debouncer.baseMs = s.debounceMs;
    const wait = this.debouncer.delay(this.now(), input.trigger);
    if (!(await sleep(wait, input.signal))) return done({ skipped: 'cancelled' });
    const engine = await this.getEngine();
    if (!engine) return done({ skipped: 'no-engine' });
    if (input.signal?.aborted) return done({ skipped: 'cancelled' });

    const single = ctx.mode === 'single';
    const invoked = input.trigger === 'invoke';
    const window = promptWindow(ctx, engine.manifest.architecture.context_length);
    this.inflight++;
    this.emit({ kind: 'busy', busy: true });
    let r: CompletionResult;
    try {
      r = await engine.complete({
        ...this.opts.request,
        prefix: window.prefix,
        suffix: window.suffix,
        maxNewTokens: single ? Math.min(s.maxNewTokens, SINGLE_LINE_MAX_TOKENS) : s.maxNewTokens,
        deadlineMs: s.timeBudgetMs,
        singleLine: single,
        isFinal: this.opts.earlyStop === false ? undefined : (t) => cutIsFinal(ctx, t),
        signal: input.signal,
        // One more hypothesis than shown: post-processing often makes two of them the same text.
        candidates: invoked ? MANUAL_CANDIDATES + 1 : undefined,
      });
    } finally {
      this.inflight--;
    }
    // Aborted while its last decoding step ran, the answer still came: the editor has cancelled it, so it is not one.
    if (r.stopReason === 'cancelled' || r.stopReason === 'superseded' || input.signal?.aborted) {
      return done({ skipped: 'cancelled', stopReason: r.stopReason, modelMs: r.ms, answer: r });
    }
    stats?.modelCall(r.ms);
    const shown = postprocessCandidates(ctx, r.candidates ?? [r]).slice(0, invoked ? MANUAL_CANDIDATES : 1);
    log?.debug(`model ${r.ms.toFixed(0)} ms, ${r.prefillTokens} fed + ${r.reusedTokens} reused tokens, ` +
      `${r.tokens} generated (${r.stopReason}), healed ${JSON.stringify(r.healed)}, confidence ${confidenceOf(r).toFixed(2)}, ` +
      `${ctx.mode}-line: ${JSON.stringify(r.text)} -> ${JSON.stringify(shown.map((c) => c.text))}`);
    if (shown.length === 0) {
      stats?.empty();
      return done({ skipped: 'empty', stopReason: r.stopReason, modelMs: r.ms, answer: r });
    }
    if (!invoked && shown[0].confidence < s.minConfidence) {
      stats?.hidden();
      return done({ skipped: 'low-confidence', stopReason: r.stopReason, modelMs: r.ms, answer: r });
    }
    const candidates = shown.map((c): Completion => ({
      id: this.nextId++, insertText: c.text, start, end, mode: ctx.mode, source: 'model', confidence: c.confidence,
    }));
    // Typing through any of them is served from the cache; the best one wins where they agree (newest first).
    for (const c of [...candidates].reverse()) this.cache.add(input.docId, ctx, c.insertText, c.id);
    stats?.shown();
    return done({
      completion: candidates[0], candidates: invoked ? candidates : undefined, stopReason: r.stopReason, modelMs: r.ms, answer: r,
    });
  }
}

/** The distinct post-processed texts of the engine's answers, in the engine's order, with their confidence. */
export function postprocessCandidates(ctx: CompletionContext, answers: readonly CompletionCandidate[]): { text: string; confidence: number }[] {
  const out: { text: string; confidence: number }[] = [];
  for (const a of answers) {
    const text = postprocess(ctx, dropPartialLastLine(a.text, a.stopReason, ctx.mode));
    if (text !== undefined && !out.some((o) => o.text === text)) out.push({ text, confidence: confidenceOf(a) });
  }
  return out;
}
