// Cached decoding: greedy (default), beam search, top-p sampling; stop tokens / strings, single-line mode,
// token and wall-clock limits, and a stop check between steps (cancel / supersede).
// A KvCache keeps the last sequence's keys/values; a new prompt reuses its longest common token prefix,
// so typing one more character costs feeding the changed tail (usually one or two tokens), not a prefill.
// With token healing (heal.ts) the first generated tokens are constrained to re-write the bytes taken back from
// the prompt, and the text returned is what comes after them.
import { maskLogits, type VocabIndex } from './heal';
import { truncatePast, selectRows, type OnnxModel, type Past } from './model';
import type { Tokenizer } from './tokenizer';

export type StopReason = 'eos' | 'stop' | 'max_tokens' | 'deadline' | 'cancelled' | 'superseded';

export type Strategy =
  | { kind: 'greedy' }
  | { kind: 'beam'; beams: number; lengthPenalty?: number }
  | { kind: 'top_p'; p: number; temperature?: number; seed?: number };

export interface DecodeOptions {
  maxNewTokens: number;
  /** Token ids that end the answer (the model's end token and other specials). */
  stopIds: Set<number>;
  /** Text stop sequences; the answer is cut before the first one. */
  stopStrings: string[];
  singleLine: boolean;
  /** Called with the text so far after each token; true ends decoding ('stop') with the text kept whole (the
   *  caller's post-processing already knows where it will cut). */
  isFinal?: (text: string) => boolean;
  /** Absolute time (performance.now() clock) at which decoding stops. */
  deadline: number;
  /** Called between steps; a non-null reason stops decoding with it. */
  interrupt: () => StopReason | null;
  strategy: Strategy;
  /** Token healing: `removed` (binary string, heal.ts) was taken back from the prompt's end and must be re-written
   *  first; the text is what follows it. */
  heal?: { index: VocabIndex; removed: string };
  /** Beam search: how many finished hypotheses to return (best first, distinct texts). */
  candidates?: number;
}

export interface Hypothesis {
  ids: number[];
  text: string;
  stopReason: StopReason;
  /** Sum of log-probabilities of the chosen tokens (the stop token included when the model chose it). */
  logProb: number;
  /** Log-probabilities of the tokens that write the text (not those that only re-write healed bytes), the stop token
   *  included when the model chose it: what the confidence (mean, min) is computed from. */
  tokenLogProbs: number[];
  /** What hypotheses are ranked by: logProb / length^lengthPenalty (beam search; greedy: penalty 1). */
  score: number;
}

export interface DecodeResult extends Hypothesis {
  prefillTokens: number;
  reusedTokens: number;
  /** Beam search with `candidates`: the distinct finished hypotheses, best first (the first is this result). */
  candidates?: Hypothesis[];
}

/** The keys/values of `ids`, plus the logits after the last of them. */
export class KvCache {
  ids: number[] = [];
  past: Past | null = null;
  logits: Float32Array | null = null;
  clear(): void { this.ids = []; this.past = null; this.logits = null; }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Brings `cache` to exactly `prompt` (reusing what it can); returns tokens fed and reused. */
export async function prefill(model: OnnxModel, cache: KvCache, prompt: number[]): Promise<{ fed: number; reused: number }> {
  let k = commonPrefix(cache.ids, prompt);
  if (k === prompt.length && k === cache.ids.length && cache.logits && cache.past) return { fed: 0, reused: k };
  if (k === prompt.length) k--; // need the logits after the last prompt token: feed it again
  const past = cache.past && k > 0 ? truncatePast(cache.past, k) : model.emptyPast();
  cache.clear(); // if the run throws, never leave a cache that disagrees with its ids
  const { logits, present } = await model.forward([prompt.slice(k)], past, k);
  cache.ids = prompt.slice();
  cache.past = present;
  cache.logits = logits;
  return { fed: prompt.length - k, reused: k };
}

function argmax(v: Float32Array, from = 0, len = v.length): number {
  let best = from;
  for (let i = from + 1; i < from + len; i++) if (v[i] > v[best]) best = i;
  return best - from;
}

function logSoftmaxAt(v: Float32Array, from: number, len: number, idx: number): number {
  let max = -Infinity;
  for (let i = from; i < from + len; i++) if (v[i] > max) max = v[i];
  let sum = 0;
  for (let i = from; i < from + len; i++) sum += Math.exp(v[i] - max);
  return v[from + idx] - max - Math.log(sum);
}

/** mulberry32: a tiny seeded PRNG so top-p runs are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleTopP(v: Float32Array, p: number, temperature: number, rand: () => number): number {
  const t = Math.max(temperature, 1e-6);
  let max = -Infinity;
  for (const x of v) if (x > max) max = x;
  const probs = Array.from(v, (x, i) => ({ i, q: Math.exp((x - max) / t) }));
  const z = probs.reduce((s, e) => s + e.q, 0);
  probs.sort((a, b) => b.q - a.q);
  const nucleus: typeof probs = [];
  let mass = 0;
  for (const e of probs) {
    nucleus.push(e);
    mass += e.q / z;
    if (mass >= p) break;
  }
  let r = rand() * nucleus.reduce((s, e) => s + e.q, 0);
  for (const e of nucleus) {
    r -= e.q;
    if (r <= 0) return e.i;
  }
  return nucleus[nucleus.length - 1].i;
}

/** Where the text must end given stop strings / single-line mode, or -1 to go on. */
export function textStop(text: string, stopStrings: string[], singleLine: boolean): number {
  let cut = -1;
  for (const s of stopStrings) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i !== -1 && (cut === -1 || i < cut)) cut = i;
  }
  if (singleLine) {
    // The first newline after at least one non-whitespace character (a leading newline is kept).
    const m = /\S[^\n]*\n/.exec(text);
    if (m) {
      const i = m.index + m[0].length - 1;
      if (cut === -1 || i < cut) cut = i;
    }
  }
  return cut;
}

/** The logits a step chooses from: while healed bytes `rest` are left to re-write, only tokens that fit them. */
function constrained(logits: Float32Array, heal: DecodeOptions['heal'], rest: string): Float32Array {
  return heal && rest ? maskLogits(logits, 0, logits.length, heal.index.allowed(rest)) : logits;
}

export async function decode(model: OnnxModel, tok: Tokenizer, cache: KvCache, prompt: number[], o: DecodeOptions): Promise<DecodeResult> {
  const early = o.interrupt() ?? (performance.now() >= o.deadline ? 'deadline' : null);
  if (early) return { ids: [], text: '', stopReason: early, prefillTokens: 0, reusedTokens: 0, logProb: 0, tokenLogProbs: [], score: 0 };
  const { fed, reused } = await prefill(model, cache, prompt);
  const base = { prefillTokens: fed, reusedTokens: reused };
  if ((o.strategy.kind === 'beam' && o.strategy.beams > 1) || (o.candidates ?? 1) > 1) {
    const beams = Math.max(o.strategy.kind === 'beam' ? o.strategy.beams : 1, o.candidates ?? 1);
    const lengthPenalty = o.strategy.kind === 'beam' ? o.strategy.lengthPenalty ?? 1 : 1;
    const all = await beamSearch(model, tok, cache, o, beams, lengthPenalty);
    return { ...base, ...all[0], candidates: o.candidates ? all.slice(0, o.candidates) : undefined };
  }

  const rand = o.strategy.kind === 'top_p' ? rng(o.strategy.seed ?? 0) : null;
  const healed = o.heal?.removed ?? '';
  const ids: number[] = [];
  const tokenLogProbs: number[] = [];
  let written = 0; // bytes of the generated tokens
  let logProb = 0;
  let stopReason: StopReason = 'max_tokens';
  let cut = -1;
  const ctx = model.manifest.architecture.context_length;
  for (;;) {
    const logits = constrained(cache.logits!, o.heal, healed.slice(written));
    const t = rand && o.strategy.kind === 'top_p' ? sampleTopP(logits, o.strategy.p, o.strategy.temperature ?? 1, rand) : argmax(logits);
    const lp = logSoftmaxAt(logits, 0, logits.length, t);
    logProb += lp;
    if (o.stopIds.has(t) || (o.stopIds.size > 0 && tok.isSpecial(t))) { // any special ends it (unless no stops at all: raw parity runs)
      tokenLogProbs.push(lp);
      stopReason = 'eos';
      break;
    }
    ids.push(t);
    written += tok.tokenBytes(t).length;
    if (written > healed.length) tokenLogProbs.push(lp);
    const text = tok.decodeStable(ids, healed.length);
    cut = textStop(text, o.stopStrings, o.singleLine);
    if (cut !== -1 || o.isFinal?.(text)) { stopReason = 'stop'; break; }
    if (ids.length >= o.maxNewTokens || cache.ids.length + 1 > ctx) { stopReason = 'max_tokens'; break; }
    const why = o.interrupt() ?? (performance.now() >= o.deadline ? 'deadline' : null);
    if (why) { stopReason = why; break; }
    const { logits: next, present } = await model.forward([[t]], cache.past!, cache.ids.length);
    cache.ids.push(t);
    cache.past = present;
    cache.logits = next;
  }
  const full = tok.decodeStable(ids, healed.length);
  return { ...base, ids, text: cut === -1 ? full : full.slice(0, cut), stopReason, logProb, tokenLogProbs, score: logProb / Math.max(1, ids.length) };
}

/** Indices of the k largest entries of `v`, largest first (one pass; k is small). */
export function topK(v: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (idx.length === k && !(x > v[idx[k - 1]])) continue;
    let j = idx.length < k ? idx.push(i) - 1 : k - 1;
    while (j > 0 && v[idx[j - 1]] < x) { idx[j] = idx[j - 1]; j--; }
    idx[j] = i;
  }
  return idx;
}

interface Beam { ids: number[]; score: number; reason: StopReason; cut: number; written: number; lps: number[] }

/** Batched beam search over the cache's prompt state (the cache itself keeps the prompt, not a beam). Returns the
 *  finished hypotheses (or the live ones when none finished) with distinct texts, best first. */
async function beamSearch(model: OnnxModel, tok: Tokenizer, cache: KvCache, o: DecodeOptions, width: number, lengthPenalty: number):
Promise<Hypothesis[]> {
  const V = cache.logits!.length;
  const pastLen0 = cache.ids.length;
  const healed = o.heal?.removed ?? '';
  let alive: Beam[] = [{ ids: [], score: 0, reason: 'max_tokens', cut: -1, written: 0, lps: [] }];
  let logits = cache.logits!;
  let past = cache.past!;
  const finished: Beam[] = [];
  const norm = (b: Beam): number => b.score / Math.pow(Math.max(1, b.ids.length), lengthPenalty);
  let reason: StopReason | null = null;
  for (let step = 0; ; step++) {
    const cands: { from: number; tok: number; lp: number; score: number }[] = [];
    alive.forEach((b, bi) => {
      const rest = healed.slice(b.written);
      const row = o.heal && rest ? maskLogits(logits, bi, V, o.heal.index.allowed(rest)) : logits.subarray(bi * V, (bi + 1) * V);
      let max = -Infinity;
      for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
      let sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(row[i] - max);
      const lse = max + Math.log(sum);
      for (const t of topK(row, width)) {
        const lp = row[t] - lse;
        if (Number.isFinite(lp)) cands.push({ from: bi, tok: t, lp, score: b.score + lp });
      }
    });
    cands.sort((x, y) => y.score - x.score);
    const next: Beam[] = [];
    const rows: number[] = [];
    for (const c of cands) {
      if (next.length >= width) break;
      const parent = alive[c.from];
      if (o.stopIds.has(c.tok) || tok.isSpecial(c.tok)) {
        finished.push({ ...parent, score: c.score, reason: 'eos', lps: [...parent.lps, c.lp] });
        continue;
      }
      const ids = [...parent.ids, c.tok];
      const written = parent.written + tok.tokenBytes(c.tok).length;
      const lps = written > healed.length ? [...parent.lps, c.lp] : parent.lps;
      const text = tok.decodeStable(ids, healed.length);
      const cut = textStop(text, o.stopStrings, o.singleLine);
      const beam: Beam = { ids, score: c.score, reason: 'max_tokens', cut: -1, written, lps };
      if (cut !== -1 || o.isFinal?.(text)) { finished.push({ ...beam, reason: 'stop', cut }); continue; }
      if (ids.length >= o.maxNewTokens || pastLen0 + step + 1 >= model.manifest.architecture.context_length) {
        finished.push(beam);
        continue;
      }
      next.push(beam);
      rows.push(c.from);
    }
    alive = next;
    if (alive.length === 0 || finished.length >= width) break;
    reason = o.interrupt() ?? (performance.now() >= o.deadline ? 'deadline' : null);
    if (reason) break;
    const sel = selectRows(past, rows);
    const out = await model.forward(alive.map((b) => [b.ids[b.ids.length - 1]]), sel, pastLen0 + step);
    logits = out.logits;
    past = out.present;
  }
  const pool = (finished.length ? finished : alive).sort((a, b) => norm(b) - norm(a));
  const out: Hypothesis[] = [];
  const seen = new Set<string>();
  for (const b of pool) {
    const full = tok.decodeStable(b.ids, healed.length);
    const text = b.cut === -1 ? full : full.slice(0, b.cut);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ ids: b.ids, text, stopReason: reason ?? b.reason, logProb: b.score, tokenLogProbs: b.lps, score: norm(b) });
  }
  return out;
}
