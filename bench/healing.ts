// Token healing on held-out lines, before and after in the same run. Each held-out FIM line row (the rest of a line
// from a random cursor) gives two cursor positions:
//   line-start: the cursor moved back to just after the line's indentation (the answer is the whole line's text);
//   mid-line:   the row's own cursor, when text precedes it on the line (mid-identifier: a word character on both
//               sides of the cursor, a subset).
// Each position is completed through the editor's path (extension/cli/editor.ts, as `tinyfim bench` does) with
// healing off and on, interleaved (alternating which goes first), the engine's KV cache cleared before each request.
// Scored on the suggestion's first line (the reference is one line; at a line start the editor asks for several).
// Reports exact match, edit similarity, how many answers begin with whitespace (the shifted-line symptom), latency,
// and the CPU time the healing work itself adds per request. Run:
//   npx tsc -p tsconfig.json && node out/bench/healing.js --model models/default \
//     --data build/pipeline-default/dataset/eval/fim_lines.jsonl
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readRows, type FimRow } from '../extension/cli/bench';
import { EditorPath } from '../extension/cli/editor';
import { Engine } from '../extension/engine';
import { maskLogits } from '../extension/engine/heal';
import { editSimilarity, exactMatch, mean, percentile } from '../extension/cli/metrics';
import { runMain } from './main';

export type PositionClass = 'line-start' | 'mid-line' | 'mid-identifier';

/** The row with its cursor moved back to just after the masked line's indentation. */
export function lineStartRow(r: FimRow): FimRow {
  const lineStart = r.prefix.lastIndexOf('\n') + 1;
  const line = r.prefix.slice(lineStart);
  const indent = line.length - line.trimStart().length;
  return { prefix: r.prefix.slice(0, lineStart + indent), suffix: r.suffix, middle: line.slice(indent) + r.middle };
}

/** The classes a row's own cursor belongs to: mid-line when text precedes it on its line, and mid-identifier too
 *  when a word character is on both sides. */
export function classesOf(r: FimRow): PositionClass[] {
  const line = r.prefix.slice(r.prefix.lastIndexOf('\n') + 1);
  if (line.trim() === '') return [];
  return /\w$/.test(line) && /^\w/.test(r.middle) ? ['mid-line', 'mid-identifier'] : ['mid-line'];
}

interface Tally { em: number[]; es: number[]; empty: number[]; space: number[]; ms: number[]; tokens: number[]; healMs: number[] }
const tally = (): Tally => ({ em: [], es: [], empty: [], space: [], ms: [], tokens: [], healMs: [] });

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, threads: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h' },
  } });
  const usage = 'usage: node out/bench/healing.js --model DIR --data FIM_LINES.jsonl [--limit N] [--threads N]\n'
    + 'Token healing off vs on at line-start and mid-line cursors of held-out lines (same rows, same run).';
  if (values.help) { console.log(usage); return 0; }
  if (!values.model || !values.data) { console.error(usage); return 2; }
  const rows = readRows(values.data, values.limit ? Number(values.limit) : Number.MAX_SAFE_INTEGER)
    .filter((r): r is FimRow => 'middle' in r);
  const engine = await Engine.load(path.resolve(values.model), { threads: Number(values.threads) });
  // The healing work is the vocabulary look-ups (timed by wrapping them) plus one logits mask per constrained step
  // (timed on a scratch array: the same work decode.ts does with the real logits).
  let healMs = 0;
  const vocab = engine.vocab;
  const scratch = new Float32Array(engine.manifest.architecture.vocab_size);
  const extendable = vocab.extendable.bind(vocab);
  const allowed = vocab.allowed.bind(vocab);
  vocab.extendable = (s) => { const t0 = performance.now(); const r = extendable(s); healMs += performance.now() - t0; return r; };
  vocab.allowed = (rest) => {
    const t0 = performance.now();
    const r = allowed(rest);
    maskLogits(scratch, 0, scratch.length, r);
    healMs += performance.now() - t0;
    return r;
  };
  const classes: PositionClass[] = ['line-start', 'mid-line', 'mid-identifier'];
  const results = new Map<string, Tally>();
  for (const c of classes) for (const v of ['off', 'on']) results.set(`${c}/${v}`, tally());
  // Both show everything they answer (the confidence gate is not what is compared here).
  const editors = { on: new EditorPath(engine, { settings: { minConfidence: 0 } }), off: new EditorPath(engine, { heal: false, settings: { minConfidence: 0 } }) };
  try {
    let n = 0;
    for (const row of rows) {
      const cases: [FimRow, PositionClass[]][] = [[lineStartRow(row), ['line-start']], [row, classesOf(row)]];
      for (const [r, cls] of cases) {
        if (cls.length === 0) continue;
        for (const heal of n++ % 2 ? [true, false] : [false, true]) {
          await engine.clearCache();
          healMs = 0;
          const { outcome, text, ms } = await editors[heal ? 'on' : 'off'].complete(r.prefix + r.suffix, r.prefix.length, 'automatic');
          const hyp = text.split('\n')[0];
          for (const c of cls) {
            const t = results.get(`${c}/${heal ? 'on' : 'off'}`)!;
            t.em.push(exactMatch(hyp, r.middle));
            t.es.push(editSimilarity(hyp, r.middle));
            t.empty.push(hyp.trim() ? 0 : 1);
            t.space.push(/^\s/.test(hyp) ? 1 : 0);
            t.ms.push(ms);
            t.tokens.push(outcome.answer?.tokens ?? 0);
            if (heal) t.healMs.push(healMs);
          }
        }
      }
    }
    const f = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
    console.log(`model ${engine.manifest.name}, ${rows.length} rows of ${path.basename(values.data)}\n`);
    console.log('| position | rows | healing | exact match | edit similarity | empty | starts with whitespace | latency p50 / p95 ms | tokens | healing work p50 / p95 / max ms |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const c of classes) {
      for (const v of ['off', 'on']) {
        const t = results.get(`${c}/${v}`)!;
        const work = v === 'on' ? `${f(percentile(t.healMs, 50), 3)} / ${f(percentile(t.healMs, 95), 3)} / ${f(Math.max(...t.healMs), 3)}` : '';
        console.log(`| ${c} | ${t.em.length} | ${v} | ${f(100 * mean(t.em), 1)}% | ${f(mean(t.es))} | ${f(100 * mean(t.empty), 1)}% | `
          + `${f(100 * mean(t.space), 1)}% | ${f(percentile(t.ms, 50), 1)} / ${f(percentile(t.ms, 95), 1)} | ${f(mean(t.tokens), 1)} | ${work} |`);
      }
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

if (require.main === module) runMain(main);
