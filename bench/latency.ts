// Keystroke-to-suggestion latency for single-line completions, through the editor's path
// (Engine.complete + post-processing). For each sampled cursor position: a COLD request (empty KV cache),
// then TYPING-THROUGH: the user types the file's next character and asks again (cache warm from the
// previous request). Reported per FIM mode, p50/p95/max in ms.
import { readFileSync } from 'node:fs';
import type { Engine, FimMode } from '../extension/engine';
import { mean, percentile } from '../extension/engine/metrics';
import { applyPostprocess, editorContext, editorIsFinal } from '../extension/cli/postprocessHook';

export interface LatencyOptions {
  files: string[];
  positions: number;
  typed: number;
  maxNewTokens: number;
  budgetMs: number;
  modes: FimMode[];
  seed: number;
}

/** Deterministic cursor positions inside non-blank lines (never in the first line). */
export function samplePositions(text: string, n: number, seed: number): number[] {
  const starts: number[] = [];
  let off = 0;
  for (const line of text.split('\n')) {
    if (line.trim() && off > 0) starts.push(off);
    off += line.length + 1;
  }
  let s = seed >>> 0;
  const rand = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const out: number[] = [];
  for (let i = 0; i < n && starts.length; i++) {
    const ls = starts[Math.floor(rand() * starts.length)];
    const le = text.indexOf('\n', ls);
    const len = (le === -1 ? text.length : le) - ls;
    const indent = text.slice(ls, ls + len).length - text.slice(ls, ls + len).trimStart().length;
    // A column after the indentation, leaving at least `typed` characters of the line to type through.
    out.push(ls + indent + Math.floor(rand() * Math.max(1, len - indent)));
  }
  return out;
}

function stats(ms: number[]): { n: number; p50: number; p95: number; max: number; mean: number } {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: ms.length, p50: r(percentile(ms, 50)), p95: r(percentile(ms, 95)), max: r(ms.length ? Math.max(...ms) : NaN), mean: r(mean(ms)) };
}

export async function measureLatency(engine: Engine, o: LatencyOptions): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {};
  for (const mode of o.modes) {
    const cold: number[] = [];
    const typing: number[] = [];
    const prefillCold: number[] = [];
    const prefillTyping: number[] = [];
    const tokens: number[] = [];
    for (const file of o.files) {
      const text = readFileSync(file, 'utf8');
      for (const pos of samplePositions(text, o.positions, o.seed)) {
        // The user types text[pos .. pos+typed) into a document that does not have it yet: the suffix stays put.
        const end = Math.min(text.indexOf('\n', pos) === -1 ? text.length : text.indexOf('\n', pos), pos + o.typed);
        const suffix = text.slice(end);
        const ask = async (at: number): Promise<{ ms: number; fed: number }> => {
          const t0 = performance.now();
          const ctx = editorContext(text.slice(0, at), suffix, 'single');
          const r = await engine.complete({ prefix: ctx.prefix, suffix: ctx.suffix, singleLine: true, mode, maxNewTokens: o.maxNewTokens, deadlineMs: o.budgetMs, isFinal: editorIsFinal(ctx) });
          applyPostprocess(ctx, r.text);
          tokens.push(r.tokens);
          return { ms: performance.now() - t0, fed: r.prefillTokens };
        };
        await engine.clearCache();
        const c = await ask(pos);
        cold.push(c.ms);
        prefillCold.push(c.fed);
        for (let k = 1; pos + k <= end; k++) {
          const t = await ask(pos + k);
          typing.push(t.ms);
          prefillTyping.push(t.fed);
        }
      }
    }
    report[mode] = {
      cold_ms: stats(cold), typing_through_ms: stats(typing),
      fed_tokens_cold_mean: Math.round(mean(prefillCold) * 10) / 10, fed_tokens_typing_mean: Math.round(mean(prefillTyping) * 10) / 10,
      generated_tokens_mean: Math.round(mean(tokens) * 10) / 10,
    };
  }
  return report;
}
