// The editor's full completion path (extension/completion/completer.ts: gating, context, typing-through cache,
// prompt window, Engine.complete, post-processing), timed like bench/latency.ts: per sampled cursor position a
// COLD request (engine KV cache and suggestion cache cleared), then the user types the file's next characters
// one at a time. A keystroke that matches the ghost text is served by the typing-through cache.
// Debounce is set to 0 (it is a deliberate wait, not work). Run:
//   npx tsc -p tsconfig.json && node out/bench/completion.js --model DIR [--positions 20] [--typed 3] [--files F ...]
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Completer, DEFAULT_SETTINGS, type Outcome } from '../extension/completion/completer';
import { Engine } from '../extension/engine';
import { percentile } from '../extension/engine/metrics';
import { samplePositions } from './latency';

function summary(ms: number[]): string {
  if (!ms.length) return 'n=0';
  const r = (x: number) => x.toFixed(1);
  return `n=${ms.length} p50=${r(percentile(ms, 50))} p95=${r(percentile(ms, 95))} max=${r(Math.max(...ms))} ms`;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, positions: { type: 'string', default: '20' }, typed: { type: 'string', default: '3' },
    files: { type: 'string', multiple: true }, threads: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' },
  } });
  if (!values.model) {
    console.error('usage: node out/bench/completion.js --model DIR [--positions N] [--typed N] [--files F ...] [--threads N]');
    return 2;
  }
  const root = path.resolve(__dirname, '..', '..');
  const samples = path.join(root, 'bench', 'samples');
  const files = values.files ?? readdirSync(samples).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(samples, f));
  const engine = await Engine.load(path.resolve(values.model), { threads: Number(values.threads) });
  const completer = new Completer(async () => engine, () => ({ ...DEFAULT_SETTINGS, debounceMs: 0 }));
  const cold: number[] = [];
  const typingModel: number[] = [];
  const typingCache: number[] = [];
  const modelOnly: number[] = [];
  const overhead: number[] = [];
  let shown = 0;
  let asked = 0;
  const ask = async (text: string, offset: number, trigger: 'invoke' | 'automatic'): Promise<{ o: Outcome; ms: number }> => {
    const t0 = performance.now();
    const o = await completer.complete({
      docId: 'bench', text, offset, languageId: 'python', indent: { insertSpaces: true, tabSize: 4 }, trigger,
    });
    const ms = performance.now() - t0;
    asked++;
    if (o.completion) shown++;
    if (o.modelMs !== undefined) {
      modelOnly.push(o.modelMs);
      overhead.push(ms - o.modelMs);
    }
    return { o, ms };
  };
  try {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const pos of samplePositions(text, Number(values.positions), Number(values.seed))) {
        await engine.clearCache();
        completer.cache.clear();
        cold.push((await ask(text, pos, 'invoke')).ms);
        for (let k = 1; k <= Number(values.typed) && text[pos + k - 1] !== '\n'; k++) {
          const { o, ms } = await ask(text, pos + k, 'automatic');
          if (o.skipped === 'mid-word') continue; // the editor would not ask here either
          (o.completion?.source === 'cache' ? typingCache : typingModel).push(ms);
        }
      }
    }
    console.log(`model ${engine.manifest.name} (${engine.manifest.architecture.parameters ?? '?'} parameters), ${files.length} files`);
    console.log(`cold request, full path:           ${summary(cold)}`);
    console.log(`typing, model call (warm KV):      ${summary(typingModel)}`);
    console.log(`typing-through, cache hit:         ${summary(typingCache)}`);
    console.log(`engine time inside the above:      ${summary(modelOnly)}`);
    console.log(`path minus engine (our overhead):  ${summary(overhead)}`);
    console.log(`suggestions shown: ${shown} of ${asked} requests`);
    return 0;
  } finally {
    await engine.dispose();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
