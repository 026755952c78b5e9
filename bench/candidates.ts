// Several candidates on held-out lines: what a manual trigger offers (beam search over MANUAL_CANDIDATES + 1
// hypotheses, the distinct post-processed ones, up to MANUAL_CANDIDATES) against the single greedy answer an
// automatic trigger shows, same rows, same run (alternating which goes first, KV cache cleared before each).
// Reports exact match / edit similarity of the first candidate and of the best of those offered, how many distinct
// candidates there are, and latency. Run:
//   npx tsc -p tsconfig.json && node out/bench/candidates.js --model models/default \
//     --data build/pipeline-default/dataset/eval/fim_lines.jsonl [--limit N]
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readRows, type FimRow } from '../extension/cli/bench';
import { EditorPath } from '../extension/cli/editor';
import { MANUAL_CANDIDATES } from '../extension/completion/completer';
import { Engine } from '../extension/engine';
import { editSimilarity, exactMatch, mean, percentile } from '../extension/cli/metrics';
import { runMain } from './main';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, threads: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h' },
  } });
  const usage = 'usage: node out/bench/candidates.js --model DIR --data FIM.jsonl [--limit N] [--threads N]\n'
    + 'Manual-trigger candidates (beam search) vs the automatic greedy answer on held-out FIM rows.';
  if (values.help) { console.log(usage); return 0; }
  if (!values.model || !values.data) { console.error(usage); return 2; }
  const rows = readRows(values.data, values.limit ? Number(values.limit) : Number.MAX_SAFE_INTEGER).filter((r): r is FimRow => 'middle' in r);
  const engine = await Engine.load(path.resolve(values.model), { threads: Number(values.threads) });
  // The editor's path and settings; the automatic answer is compared whatever its confidence (no gate).
  const editor = new EditorPath(engine, { settings: { minConfidence: 0 } });
  const greedy = { em: [] as number[], es: [] as number[], ms: [] as number[] };
  const beam = { em: [] as number[], es: [] as number[], anyEm: [] as number[], bestEs: [] as number[], n: [] as number[], ms: [] as number[] };
  try {
    for (const [i, r] of rows.entries()) {
      for (const manual of i % 2 ? [true, false] : [false, true]) {
        await engine.clearCache();
        const { text: hyp, all, ms } = await editor.complete(r.prefix + r.suffix, r.prefix.length, manual ? 'invoke' : 'automatic');
        const t = manual ? beam : greedy;
        t.em.push(exactMatch(hyp, r.middle));
        t.es.push(editSimilarity(hyp, r.middle));
        t.ms.push(ms);
        if (manual) {
          const offered = all.slice(0, MANUAL_CANDIDATES);
          beam.anyEm.push(Math.max(0, ...offered.map((h) => exactMatch(h, r.middle))));
          beam.bestEs.push(Math.max(0, ...offered.map((h) => editSimilarity(h, r.middle))));
          beam.n.push(offered.length);
        }
      }
    }
    const f = (x: number, d = 3): string => x.toFixed(d);
    const lat = (ms: number[]): string => `${f(percentile(ms, 50), 1)} / ${f(percentile(ms, 95), 1)}`;
    console.log(`model ${engine.manifest.name}, ${rows.length} rows of ${path.basename(values.data)}\n`);
    console.log('| | exact match (first) | edit similarity (first) | exact match (any offered) | best edit similarity | candidates offered | latency p50 / p95 ms |');
    console.log('|---|---|---|---|---|---|---|');
    console.log(`| automatic: greedy, one | ${f(100 * mean(greedy.em), 1)}% | ${f(mean(greedy.es))} | | | 1 | ${lat(greedy.ms)} |`);
    console.log(`| manual: beam of ${MANUAL_CANDIDATES + 1}, up to ${MANUAL_CANDIDATES} | ${f(100 * mean(beam.em), 1)}% | ${f(mean(beam.es))} | `
      + `${f(100 * mean(beam.anyEm), 1)}% | ${f(mean(beam.bestEs))} | ${f(mean(beam.n), 2)} | ${lat(beam.ms)} |`);
    return 0;
  } finally {
    await engine.dispose();
  }
}

if (require.main === module) runMain(main);
