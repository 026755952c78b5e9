// A typing soak: the real Completer driven the way the inline provider drives it (every keystroke cancels the request
// before it and asks again, automatic trigger; now and then Alt+\), with keystrokes 15-60 ms apart over several files:
// typing a line's text, deleting, jumping to another line or file. Checks that nothing queues up (requests in flight
// stay bounded and do not grow), that no request is answered after a newer one was made or answered, that the
// process's memory (RSS, and the JS heap after a GC when run with --expose-gc) stays within 10% after the warm-up
// (median of the last third of the samples against the first third), and that model calls keep p95 within the
// latency budget. Prints the figures; exit code 1 when a check fails.
//   npx tsc -p tsconfig.json && node --expose-gc out/bench/soak.js --model DIR [--keystrokes 2000] [--seed 1]
// test/extension/soak.test.ts runs a short soak (200 keystrokes) for the behavioural checks only (no timing).
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Completer, DEFAULT_SETTINGS } from '../extension/completion/completer';
import { Engine } from '../extension/engine';
import { percentile } from '../extension/cli/metrics';
import { runMain } from './main';

/** p95 budget for a model call while typing (bench/README.md: latency targets on 2 cores). */
export const LATENCY_BUDGET_MS = 120;
const WARMUP_SHARE = 0.25;

export interface SoakOptions {
  keystrokes: number;
  seed: number;
  /** Pause before each keystroke: uniform in [minGapMs, maxGapMs]. */
  minGapMs?: number;
  maxGapMs?: number;
  /** Memory sample every this many keystrokes. */
  sampleEvery?: number;
}

export interface MemorySample { keystroke: number; rss: number; heapUsed: number }

/** Counted as the run goes (no record per request: the soak's own bookkeeping must not grow the heap it measures). */
export interface SoakResult {
  asked: number;
  /** Outcomes by kind: model (the model answered), cache, cancelled, or the skip reason. */
  outcomes: Record<string, number>;
  /** Requests the model answered: the engine call, and request made -> answered (debounce included). */
  modelMs: number[];
  fullMs: number[];
  samples: MemorySample[];
  /** Requests in flight (made, not settled) at each keystroke: the most per quarter of the run. */
  inflightByQuarter: number[];
  /** Requests that returned a suggestion or a model answer although a newer request had been made before. */
  lateAnswers: number;
  /** Answers that settled after the answer to a newer request. */
  outOfOrder: number;
  gc: boolean;
  actions: Record<string, number>;
}

interface Doc { id: string; text: string; cursor: number }

/** A seeded LCG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The files the soak types in: copies of stdlib modules (bench/samples). */
export function sampleFiles(root: string): string[] {
  const dir = path.join(root, 'bench', 'samples');
  return readdirSync(dir).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(dir, f));
}

/**
 * Keystrokes: mostly re-typing the rest of a line (the text the file really has, so typed characters can match the
 * ghost text), some deletions, some jumps to another line or file (a jump cancels without asking).
 */
function* keystrokes(docs: Doc[], rand: () => number, count: number, actions: Record<string, number>): Generator<{ doc: Doc; ask: boolean; trigger: 'automatic' | 'invoke' }> {
  let doc = docs[0];
  let pending = ''; // the rest of the line still to type
  const lineStarts = (d: Doc) => [0, ...[...d.text.matchAll(/\n/g)].map((m) => m.index! + 1)];
  for (let k = 0; k < count;) {
    const r = rand();
    if (pending) {
      doc.text = doc.text.slice(0, doc.cursor) + pending[0] + doc.text.slice(doc.cursor);
      doc.cursor++;
      pending = pending.slice(1);
      actions.type = (actions.type ?? 0) + 1;
      k++;
      yield { doc, ask: true, trigger: 'automatic' };
    } else if (r < 0.12) {
      // Jump: another line, sometimes another file.
      if (rand() < 0.4) doc = docs[Math.floor(rand() * docs.length)];
      const starts = lineStarts(doc);
      const ls = starts[Math.floor(rand() * starts.length)];
      const indent = /^[ \t]*/.exec(doc.text.slice(ls))![0].length;
      doc.cursor = Math.min(doc.text.length, ls + indent);
      actions.jump = (actions.jump ?? 0) + 1;
      k++;
      yield { doc, ask: false, trigger: 'automatic' };
    } else if (r < 0.3 && doc.cursor > 0) {
      const n = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < n && k < count && doc.cursor > 0; i++) {
        doc.text = doc.text.slice(0, doc.cursor - 1) + doc.text.slice(doc.cursor);
        doc.cursor--;
        actions.delete = (actions.delete ?? 0) + 1;
        k++;
        yield { doc, ask: true, trigger: 'automatic' };
      }
    } else if (r < 0.32) {
      actions.manual = (actions.manual ?? 0) + 1;
      k++;
      yield { doc, ask: true, trigger: 'invoke' }; // Alt+\
    } else {
      // Take the rest of this line out and type it back, at most 40 characters of it.
      let end = doc.text.indexOf('\n', doc.cursor);
      if (end < 0) end = doc.text.length;
      pending = doc.text.slice(doc.cursor, Math.min(end, doc.cursor + 40));
      doc.text = doc.text.slice(0, doc.cursor) + doc.text.slice(doc.cursor + pending.length);
      if (!pending) {
        doc.text = doc.text.slice(0, doc.cursor) + '\n' + doc.text.slice(doc.cursor); // Enter: a new line
        doc.cursor++;
        actions.enter = (actions.enter ?? 0) + 1;
        k++;
        yield { doc, ask: true, trigger: 'automatic' };
      }
    }
  }
}

/** Runs the soak on `completer` (its engine behind it); resolves once every request has settled. */
export async function soak(completer: Completer, files: string[], opts: SoakOptions): Promise<SoakResult> {
  const { keystrokes: count, seed, minGapMs = 15, maxGapMs = 60, sampleEvery = 100 } = opts;
  const rand = rng(seed);
  const docs: Doc[] = files.map((f) => ({ id: `file://${f}`, text: readFileSync(f, 'utf8'), cursor: 0 }));
  const gc = (globalThis as { gc?: () => void }).gc;
  const r: SoakResult = {
    asked: 0, outcomes: {}, modelMs: [], fullMs: [], samples: [], inflightByQuarter: [0, 0, 0, 0], lateAnswers: 0,
    outOfOrder: 0, gc: gc !== undefined, actions: {},
  };
  const modelMs = new Float64Array(count);
  const fullMs = new Float64Array(count);
  let answers = 0;
  let newestAnswered = -1; // the newest request (by order made) answered so far
  const running = new Set<Promise<void>>();
  let current: AbortController | undefined;
  const sample = (keystroke: number) => {
    gc?.();
    const m = process.memoryUsage();
    r.samples.push({ keystroke, rss: m.rss, heapUsed: m.heapUsed });
  };
  let k = 0;
  for (const key of keystrokes(docs, rand, count, r.actions)) {
    await sleep(minGapMs + rand() * (maxGapMs - minGapMs));
    current?.abort(); // the editor cancels the request before a keystroke (typing, deleting, moving the cursor)
    current = undefined;
    if (key.ask) {
      const controller = new AbortController();
      current = controller;
      const n = r.asked++;
      const issued = performance.now();
      const p = completer.complete({
        docId: key.doc.id, text: key.doc.text, offset: key.doc.cursor, languageId: 'python',
        indent: { insertSpaces: true, tabSize: 4 }, trigger: key.trigger, signal: controller.signal,
      }).then((o) => {
        const answered = o.completion !== undefined || (o.modelMs !== undefined && o.skipped !== 'cancelled');
        const kind = o.completion?.source === 'cache' ? 'cache' : answered ? 'model' : o.skipped ?? 'none';
        r.outcomes[kind] = (r.outcomes[kind] ?? 0) + 1;
        if (!answered) return;
        if (controller.signal.aborted) r.lateAnswers++;
        if (n < newestAnswered) r.outOfOrder++;
        newestAnswered = Math.max(newestAnswered, n);
        if (o.modelMs !== undefined) {
          modelMs[answers] = o.modelMs;
          fullMs[answers++] = performance.now() - issued;
        }
      });
      running.add(p);
      void p.finally(() => running.delete(p));
    }
    const quarter = Math.min(3, Math.floor((4 * k) / count));
    r.inflightByQuarter[quarter] = Math.max(r.inflightByQuarter[quarter], running.size);
    if (++k % sampleEvery === 0) sample(k);
  }
  await Promise.all(running);
  sample(k);
  r.modelMs = [...modelMs.subarray(0, answers)];
  r.fullMs = [...fullMs.subarray(0, answers)];
  return r;
}

/** Memory growth after the warm-up: the median of the last third of the later samples over the median of their first
 *  third (1.0 = flat; a steady leak shows, a lone sample taken mid-GC does not); and the largest sample over that. */
export function memoryGrowth(samples: MemorySample[], keystrokes: number, key: 'rss' | 'heapUsed'): { growth: number; peak: number } {
  const after = samples.filter((s) => s.keystroke >= keystrokes * WARMUP_SHARE).map((s) => s[key]);
  if (after.length < 3) return { growth: 1, peak: 1 };
  const third = Math.floor(after.length / 3);
  const median = (xs: number[]) => percentile(xs, 50);
  const first = median(after.slice(0, third));
  return { growth: median(after.slice(-third)) / first, peak: Math.max(...after) / first };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, keystrokes: { type: 'string', default: '2000' }, seed: { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' }, debounce: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  const usage = 'usage: node --expose-gc out/bench/soak.js --model DIR [--keystrokes 2000] [--seed 1] [--threads 1] [--debounce MS]\n'
    + 'A typing soak on the real Completer: queue, ordering, memory and latency checks; exit code 1 when one fails.\n'
    + `--debounce: the debounce setting (default ${DEFAULT_SETTINGS.debounceMs}, shipped); 0 sends every keystroke to the model.`;
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.model) {
    console.error(usage);
    return 2;
  }
  const count = Number(values.keystrokes);
  const engine = await Engine.load(path.resolve(values.model), { threads: Number(values.threads) });
  try {
    const settings = { ...DEFAULT_SETTINGS, debounceMs: Number(values.debounce ?? DEFAULT_SETTINGS.debounceMs) };
    const completer = new Completer(async () => engine, () => settings);
    const files = sampleFiles(path.resolve(__dirname, '..', '..'));
    const t0 = performance.now();
    const r = await soak(completer, files, { keystrokes: count, seed: Number(values.seed) });
    const secs = (performance.now() - t0) / 1000;
    const fmt = (ms: number[]) => `p50 ${percentile(ms, 50).toFixed(1)} p95 ${percentile(ms, 95).toFixed(1)} max ${Math.max(...ms).toFixed(1)} ms`;
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(`model ${engine.manifest.name}, debounce ${settings.debounceMs} ms; ${count} keystrokes in ${secs.toFixed(1)} s over ${files.length} files `
      + `(${Object.entries(r.actions).map(([a, c]) => `${a} ${c}`).join(', ')}); ${r.asked} requests`);
    console.log(`outcomes: ${Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([o, c]) => `${o} ${c}`).join(', ')}`);
    console.log(`${r.modelMs.length} model answers: model call ${fmt(r.modelMs)}; request made -> answered (debounce included): ${fmt(r.fullMs)}`);
    console.log(`requests in flight, most per quarter: ${r.inflightByQuarter.join(', ')}`);
    console.log(`memory (${r.gc ? 'heap after a GC' : 'no --expose-gc: heap without a GC'}), MiB at keystroke: `
      + r.samples.map((s) => `${s.keystroke}: rss ${mib(s.rss)} heap ${mib(s.heapUsed)}`).join('; '));
    const rss = memoryGrowth(r.samples, count, 'rss');
    const heap = memoryGrowth(r.samples, count, 'heapUsed');
    const grew = (g: { growth: number; peak: number }) => `last/first third ${g.growth.toFixed(3)}, peak ${g.peak.toFixed(3)}`;
    const checks: [string, boolean][] = [
      [`no request answered after a newer one was made (${r.lateAnswers}) or answered (${r.outOfOrder})`, r.lateAnswers === 0 && r.outOfOrder === 0],
      [`no queue growth (in flight per quarter ${r.inflightByQuarter.join('/')}, at most 3)`, Math.max(...r.inflightByQuarter) <= 3],
      [`RSS after warm-up within 10% (${grew(rss)})`, rss.growth <= 1.1],
      [`JS heap after warm-up within 10% (${grew(heap)})`, heap.growth <= 1.1],
      [`model call p95 ${percentile(r.modelMs, 95).toFixed(1)} ms <= ${LATENCY_BUDGET_MS} ms`, percentile(r.modelMs, 95) <= LATENCY_BUDGET_MS],
      ['no errors', (r.outcomes.error ?? 0) === 0],
    ];
    for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    return checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    await engine.dispose();
  }
}

if (require.main === module) runMain(main);
