// The editor's full completion path (extension/cli/editor.ts: the provider's Completer with gating, context,
// typing-through cache, prompt window, Engine.complete with token healing, post-processing, confidence gate), timed
// like `tinyfim latency`: per sampled cursor position a COLD automatic request (engine KV cache and suggestion cache cleared; positions inside
// a word, where the editor does not ask, are left out), then the user types the file's next characters one at a time.
// A keystroke that matches the ghost text is served by the typing-through cache. Debounce is set to 0 (it is a
// deliberate wait, not work). The same positions are also run with a baseline (healing off, or early stopping off),
// interleaved, and the ratios printed; then a manual trigger (Alt+\: several candidates) at every position. Run:
//   npx tsc -p tsconfig.json && node out/bench/completion.js --model DIR [--positions 20] [--typed 3] [--files F ...]
//     [--baseline no-heal|no-early-stop]
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { MANUAL_CANDIDATES, type Outcome } from '../extension/completion/completer';
import { EditorPath } from '../extension/cli/editor';
import { samplePositions } from '../extension/cli/latency';
import { Engine } from '../extension/engine';
import { percentile } from '../extension/cli/metrics';
import { runMain } from './main';

function summary(ms: number[]): string {
  if (!ms.length) return 'n=0';
  const r = (x: number) => x.toFixed(1);
  return `n=${ms.length} p50=${r(percentile(ms, 50))} p95=${r(percentile(ms, 95))} max=${r(Math.max(...ms))} ms`;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, positions: { type: 'string', default: '20' }, typed: { type: 'string', default: '3' },
    files: { type: 'string', multiple: true }, threads: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' },
    baseline: { type: 'string', default: 'no-heal' }, help: { type: 'boolean', short: 'h' },
  } });
  const usage = 'usage: node out/bench/completion.js --model DIR [--positions N] [--typed N] [--files F ...] [--threads N] [--baseline no-heal|no-early-stop]\n'
    + "The editor's full completion path, shipped vs a baseline (token healing off, or decoding to the token limit), same run; then manual triggers.";
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.model || !['no-heal', 'no-early-stop'].includes(values.baseline!)) {
    console.error(usage);
    return 2;
  }
  const root = path.resolve(__dirname, '..', '..');
  const samples = path.join(root, 'bench', 'samples');
  const files = values.files ?? readdirSync(samples).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(samples, f));
  const engine = await Engine.load(path.resolve(values.model), { threads: Number(values.threads) });
  // The baseline, measured in the same run, interleaved per position (alternating which runs first): token healing
  // off, or decoding to the token limit and letting post-processing cut (no early stop at a settled cut).
  const baseline = values.baseline === 'no-heal'
    ? { name: 'baseline: token healing off', editor: new EditorPath(engine, { heal: false }) }
    : { name: 'baseline: decode to the token limit', editor: new EditorPath(engine, { earlyStop: false }) };
  const variants = [
    { name: 'shipped (healing, early stop at a settled cut, confidence gate)', editor: new EditorPath(engine) },
    baseline,
  ].map((v) => ({ ...v, cold: [] as number[], typingModel: [] as number[], typingCache: [] as number[],
    modelOnly: [] as number[], overhead: [] as number[], shown: 0, asked: 0, texts: [] as (string | undefined)[] }));
  type Variant = typeof variants[number];
  const ask = async (v: Variant, text: string, offset: number, trigger: 'invoke' | 'automatic'): Promise<{ o: Outcome; ms: number }> => {
    const { outcome: o, ms } = await v.editor.complete(text, offset, trigger, { docId: 'bench', fresh: false });
    v.asked++;
    if (o.completion) v.shown++;
    v.texts.push(o.completion?.insertText);
    if (o.modelMs !== undefined) {
      v.modelOnly.push(o.modelMs);
      v.overhead.push(ms - o.modelMs);
    }
    return { o, ms };
  };
  const manual = { ms: [] as number[], shown: [] as number[] };
  try {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const [n, pos] of samplePositions(text, Number(values.positions), Number(values.seed)).entries()) {
        // Alt+\ at this position: the shipped path with several candidates (beam search), cold.
        await engine.clearCache();
        const m = await variants[0].editor.complete(text, pos, 'invoke');
        manual.ms.push(m.ms);
        manual.shown.push(m.outcome.candidates?.length ?? 0);
        for (const v of n % 2 ? [...variants].reverse() : variants) { // alternate which goes first
          await engine.clearCache();
          v.editor.completer.cache.clear();
          const cold = await ask(v, text, pos, 'automatic');
          if (cold.o.skipped !== 'mid-word') v.cold.push(cold.ms);
          for (let k = 1; k <= Number(values.typed) && text[pos + k - 1] !== '\n'; k++) {
            const { o, ms } = await ask(v, text, pos + k, 'automatic');
            if (o.skipped === 'mid-word') continue; // the editor would not ask here either
            (o.completion?.source === 'cache' ? v.typingCache : v.typingModel).push(ms);
          }
        }
      }
    }
    console.log(`model ${engine.manifest.name} (${engine.manifest.architecture.parameters ?? '?'} parameters), ${files.length} files`);
    for (const v of variants) {
      console.log(`\n${v.name}`);
      console.log(`cold request, full path:           ${summary(v.cold)}`);
      console.log(`typing, model call (warm KV):      ${summary(v.typingModel)}`);
      console.log(`typing-through, cache hit:         ${summary(v.typingCache)}`);
      console.log(`engine time inside the above:      ${summary(v.modelOnly)}`);
      console.log(`path minus engine (our overhead):  ${summary(v.overhead)}`);
      console.log(`suggestions shown: ${v.shown} of ${v.asked} requests`);
    }
    const [a, b] = variants;
    const ratio = (x: number[], y: number[], p: number) => (percentile(y, p) / percentile(x, p)).toFixed(2);
    const same = a.texts.filter((t, i) => t === b.texts[i]).length;
    console.log(`\nbaseline / shipped: cold p50 ${ratio(a.cold, b.cold, 50)}x, p95 ${ratio(a.cold, b.cold, 95)}x; ` +
      `typing p50 ${ratio(a.typingModel, b.typingModel, 50)}x, p95 ${ratio(a.typingModel, b.typingModel, 95)}x`);
    console.log(`same suggestion text in both: ${same} of ${a.texts.length} requests`);
    const counts = [0, 1, 2, 3].map((k) => manual.shown.filter((x) => x === k).length);
    console.log(`\nmanual trigger (Alt+\\, up to ${MANUAL_CANDIDATES} candidates), cold: ${summary(manual.ms)}`);
    console.log(`candidates shown: ${counts.map((c, k) => `${k}: ${c}`).join(', ')} (positions)`);
    return 0;
  } finally {
    await engine.dispose();
  }
}

if (require.main === module) runMain(main);
