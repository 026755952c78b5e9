// Model-folder fuzzing: copies of a model folder broken in seeded ways (truncated and bit-flipped files, with and
// without model.json's hashes updated to match; wrong manifest fields; the tokenizer or the graph of another model;
// missing, empty and mistyped files) loaded the way the editor loads them (ModelLoader, extension/modelLoader.ts).
// Every case must end in a clear error (a known error code, a message that names the folder and the problem, no
// stack trace) or in a model that loads and completes; and the bundled model must still complete afterwards, both
// in a model that stayed loaded and after switching back to it ("Use Bundled Model"). Prints counts per kind and
// outcome; exit code 1 when a case fails.
//   npx tsc -p tsconfig.json && node out/bench/fuzz.js [--model models/default] [--other build/test-model] [--cases 100] [--seed 1]
// test/extension/fuzz.test.ts runs a seeded subset (20 cases).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Completer, DEFAULT_SETTINGS } from '../extension/completion/completer';
import type { Engine } from '../extension/engine';
import { ModelLoader } from '../extension/modelLoader';
import { runMain } from './main';

const FILES = ['model.json', 'model.onnx', 'tokenizer.json'];

export interface FuzzCase {
  kind: string;
  /** What was done, e.g. "model.onnx cut to 37%, manifest updated". */
  what: string;
  /** Breaks the copy in `dir`; `other` is another model's folder. */
  apply(dir: string, other: string): void;
}

export type Verdict = 'clear error' | 'loads and completes' | 'unclear error' | 'loads, completion fails' | 'hangs';

export interface FuzzResult { c: FuzzCase; verdict: Verdict; code?: string; message?: string }

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

const read = (dir: string, f: string) => readFileSync(path.join(dir, f));
const manifest = (dir: string) => JSON.parse(read(dir, 'model.json').toString('utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const writeManifest = (dir: string, m: unknown) => writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m, null, 2));

/** model.json's entry for `file` made to match the file as it is now (so the loader gets past the hash check). */
function resign(dir: string, file: string): void {
  const m = manifest(dir);
  const bytes = read(dir, file);
  m.files[file] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  writeManifest(dir, m);
}

function flipBits(buf: Buffer, n: number, rand: () => number): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < n; i++) out[Math.floor(rand() * out.length)] ^= 1 << Math.floor(rand() * 8);
  return out;
}

/** Sets `value` at a dotted path of model.json (`undefined` deletes the key). */
function setPath(m: Record<string, any>, keys: string[], value: unknown): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  let o = m;
  for (const k of keys.slice(0, -1)) o = o[k];
  if (value === undefined) delete o[keys[keys.length - 1]];
  else o[keys[keys.length - 1]] = value;
}

const MANIFEST_PATHS: string[][] = [
  ['format'], ['name'], ['files'], ['files', 'model.onnx', 'sha256'], ['files', 'model.onnx', 'bytes'],
  ['files', 'tokenizer.json', 'sha256'], ['files', 'tokenizer.json', 'bytes'], ['architecture'],
  ['architecture', 'n_layer'], ['architecture', 'n_head'], ['architecture', 'n_kv_head'], ['architecture', 'd_model'],
  ['architecture', 'head_dim'], ['architecture', 'vocab_size'], ['architecture', 'context_length'], ['onnx'],
  ['onnx', 'inputs'], ['onnx', 'outputs'], ['onnx', 'dtype'], ['special_tokens'], ['special_tokens', '<|fim_middle|>'],
  ['special_tokens', '<|endoftext|>'], ['prompts'], ['prompts', 'fim', 'psm'], ['prompts', 'fim', 'spm'],
  ['prompts', 'fim', 'default_mode'], ['prompts', 'fim', 'stop'], ['prompts', 'fim', 'prefix_share'],
  ['prompts', 'tasks', 'output', 'template'], ['prompts', 'tasks', 'output', 'max_new_tokens'],
];

/** A wrong value for a field that holds `v`. */
function wrongValue(v: unknown, rand: () => number): { value: unknown; label: string } {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const generic: { value: unknown; label: string }[] = [
    { value: undefined, label: 'deleted' }, { value: null, label: 'null' }, { value: 'x', label: '"x"' },
    { value: [], label: '[]' }, { value: true, label: 'true' },
  ];
  if (typeof v === 'number') {
    return pick([...generic, { value: -1, label: '-1' }, { value: 0, label: '0' }, { value: v + 0.5, label: `${v + 0.5}` },
      { value: v + 1, label: `${v + 1}` }, { value: v * 1000, label: `${v * 1000}` }, { value: 2 ** 31, label: '2^31' }]);
  }
  if (typeof v === 'string') {
    return pick([...generic, { value: '', label: '""' }, { value: v.slice(0, -1), label: 'one character short' },
      { value: v.replace(/\{[a-z]+\}/g, ''), label: 'placeholders removed' }, { value: 42, label: '42' }]);
  }
  return pick([...generic, { value: {}, label: '{}' }, { value: 42, label: '42' }]);
}

/** The seeded cases, cycling through the kinds so that any `n` covers all of them. */
export function fuzzCases(seed: number, n: number): FuzzCase[] {
  const rand = rng(seed);
  const pct = () => Math.max(1, Math.floor(rand() * 99));
  const kinds: (() => FuzzCase)[] = [
    () => {
      const f = ['model.onnx', 'tokenizer.json', 'model.json'][Math.floor(rand() * 3)];
      const p = pct();
      return { kind: 'truncated file', what: `${f} cut to ${p}%`, apply: (d) => writeFileSync(path.join(d, f), read(d, f).subarray(0, Math.floor(read(d, f).length * p / 100))) };
    },
    () => {
      const f = ['model.onnx', 'tokenizer.json'][Math.floor(rand() * 2)];
      const p = pct();
      return { kind: 'truncated file, manifest updated', what: `${f} cut to ${p}%, model.json updated to match`, apply: (d) => {
        writeFileSync(path.join(d, f), read(d, f).subarray(0, Math.floor(read(d, f).length * p / 100)));
        resign(d, f);
      } };
    },
    () => {
      const f = FILES[Math.floor(rand() * 3)];
      const bits = 1 + Math.floor(rand() * 16);
      const s = Math.floor(rand() * 2 ** 31);
      return { kind: 'bit flips', what: `${bits} bit(s) flipped in ${f}`, apply: (d) => writeFileSync(path.join(d, f), flipBits(read(d, f), bits, rng(s))) };
    },
    () => {
      const f = ['model.onnx', 'tokenizer.json'][Math.floor(rand() * 2)];
      const bits = 1 + Math.floor(rand() * 64);
      const s = Math.floor(rand() * 2 ** 31);
      return { kind: 'bit flips, manifest updated', what: `${bits} bit(s) flipped in ${f}, model.json updated to match`, apply: (d) => {
        writeFileSync(path.join(d, f), flipBits(read(d, f), bits, rng(s)));
        resign(d, f);
      } };
    },
    () => {
      const keys = MANIFEST_PATHS[Math.floor(rand() * MANIFEST_PATHS.length)];
      let label = '';
      const r = rand();
      return { kind: 'wrong manifest field', get what() { return `model.json ${keys.join('.')} ${label || '(wrong)'}`; }, apply: (d) => {
        const m = manifest(d);
        let v: unknown = m;
        for (const k of keys) v = (v as Record<string, unknown> | undefined)?.[k];
        const wrong = wrongValue(v, rng(Math.floor(r * 2 ** 31)));
        label = `= ${wrong.label}`;
        setPath(m, keys, wrong.value);
        writeManifest(d, m);
      } };
    },
    () => {
      const updated = rand() < 0.75;
      return { kind: 'tokenizer of another model', what: `tokenizer.json of another model${updated ? ', model.json updated to match' : ''}`, apply: (d, other) => {
        copyFileSync(path.join(other, 'tokenizer.json'), path.join(d, 'tokenizer.json'));
        if (updated) resign(d, 'tokenizer.json');
      } };
    },
    () => ({ kind: 'graph of another model', what: 'model.onnx of another model, model.json updated to match', apply: (d, other) => {
      copyFileSync(path.join(other, 'model.onnx'), path.join(d, 'model.onnx'));
      resign(d, 'model.onnx');
    } }),
    () => {
      const f = FILES[Math.floor(rand() * 3)];
      const how = ['missing', 'empty', 'a folder'][Math.floor(rand() * 3)];
      return { kind: 'missing or empty file', what: `${f} ${how}`, apply: (d) => {
        rmSync(path.join(d, f));
        if (how === 'empty') writeFileSync(path.join(d, f), '');
        if (how === 'a folder') mkdirSync(path.join(d, f));
      } };
    },
    () => {
      const f = rand() < 0.5 ? 'model.json' : 'tokenizer.json';
      const json = ['[]', '42', 'null', '"text"', '{}', '{"model": {"type": "WordPiece", "vocab": {}}}'][Math.floor(rand() * 6)];
      return { kind: 'wrong JSON shape', what: `${f} is ${json}${f === 'tokenizer.json' ? ', model.json updated to match' : ''}`, apply: (d) => {
        writeFileSync(path.join(d, f), json);
        if (f === 'tokenizer.json') resign(d, f);
      } };
    },
    () => {
      const asFile = rand() < 0.5;
      return { kind: 'not a model folder', what: asFile ? 'the path is a file' : 'the folder does not exist', apply: (d) => {
        rmSync(d, { recursive: true });
        if (asFile) writeFileSync(d, '');
      } };
    },
  ];
  const out: FuzzCase[] = [];
  for (let i = 0; i < n; i++) out.push(kinds[i % kinds.length]());
  return out;
}

/** A stack trace or a JavaScript internal instead of a message about the model folder. */
export function unclear(message: string): string | undefined {
  if (/\n\s+at /.test(message)) return 'a stack trace';
  if (/TypeError|ReferenceError|RangeError|Cannot read propert|is not a function|undefined is not|\[object Object\]/.test(message)) return 'a JavaScript internal';
  if (message.length > 1200) return `${message.length} characters`;
  return undefined;
}

const PREFIX = 'import os\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in ';

/** Loads the broken copy in `dir` with `loader` (as the editor does) and judges what happened. */
export async function judge(c: FuzzCase, dir: string, loader: ModelLoader, timeoutMs = 60_000): Promise<FuzzResult> {
  loader.configure({ dir, threads: 1 });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), timeoutMs); });
  try {
    const engine = await Promise.race([loader.getEngine(), timeout]);
    if (engine === 'hang') return { c, verdict: 'hangs' };
    const s = loader.state;
    if (!engine) {
      if (s.kind !== 'error') return { c, verdict: 'unclear error', message: `state ${s.kind}, no engine` };
      const why = s.code === 'unknown' ? 'no error code (an unexpected exception)' : !s.message.includes(dir) ? 'the message does not name the folder' : unclear(s.message);
      return { c, verdict: why ? 'unclear error' : 'clear error', code: s.code, message: why ? `${why}: ${s.message}` : s.message };
    }
    // It loaded (e.g. flipped weights with matching hashes, a field the engine does not read): it must complete.
    try {
      const r = await Promise.race([engine.complete({ prefix: PREFIX, suffix: ')\n', maxNewTokens: 8, deadlineMs: 5000 }), timeout]);
      if (r === 'hang') return { c, verdict: 'hangs' };
      return { c, verdict: 'loads and completes', message: `${r.stopReason}: ${JSON.stringify(r.text)}` };
    } catch (err) {
      return { c, verdict: 'loads, completion fails', message: err instanceof Error ? err.message : String(err) };
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A broken copy of `base` for case `i`, in `root`. */
export function brokenCopy(c: FuzzCase, i: number, base: string, other: string, root: string): string {
  const dir = path.join(root, `case-${String(i).padStart(3, '0')}`);
  mkdirSync(dir, { recursive: true });
  for (const f of FILES) copyFileSync(path.join(base, f), path.join(dir, f));
  c.apply(dir, other);
  return dir;
}

/** The bundled model still completes (a suggestion or at least an answer from the model). */
export async function completes(getEngine: () => Promise<Engine | undefined>): Promise<boolean> {
  const completer = new Completer(getEngine, () => ({ ...DEFAULT_SETTINGS, minConfidence: 0 }));
  const o = await completer.complete({ docId: 'fuzz', text: PREFIX, offset: PREFIX.length, languageId: 'python',
    indent: { insertSpaces: true, tabSize: 4 }, trigger: 'invoke' });
  return o.modelMs !== undefined && (o.skipped === undefined || o.skipped === 'empty');
}

export async function main(argv: string[]): Promise<number> {
  const root = path.resolve(__dirname, '..', '..');
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string', default: path.join(root, 'models', 'default') },
    other: { type: 'string', default: path.join(root, 'build', 'test-model') },
    cases: { type: 'string', default: '100' }, seed: { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) {
    console.log('usage: node out/bench/fuzz.js [--model models/default] [--other build/test-model] [--cases 100] [--seed 1]\n'
      + 'Broken copies of a model folder, loaded as the editor loads them: a clear error each, and the bundled model still completes.');
    return 0;
  }
  const base = path.resolve(values.model!);
  const other = path.resolve(values.other!);
  for (const d of [base, other]) {
    if (!existsSync(path.join(d, 'model.json'))) throw new Error(`${d} is not a model folder (build/test-model: bash scripts/test-model.sh)`);
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-fuzz-'));
  const editor = new ModelLoader(base); // the editor's loader: every case, then "Use Bundled Model"
  const stays = new ModelLoader(base); // a bundled model loaded throughout
  stays.configure({ dir: base, threads: 1 });
  try {
    const cases = fuzzCases(Number(values.seed), Number(values.cases));
    const results: FuzzResult[] = [];
    let stillCompletes = 0;
    let backCompletes = 0;
    const t0 = performance.now();
    for (const [i, c] of cases.entries()) {
      const dir = brokenCopy(c, i, base, other, tmp);
      results.push(await judge(c, dir, editor));
      if (await completes(() => stays.getEngine())) stillCompletes++;
      editor.configure({ dir: base, threads: 1 }); // "Use Bundled Model"
      if (await completes(() => editor.getEngine())) backCompletes++;
      rmSync(dir, { recursive: true, force: true });
    }
    const secs = (performance.now() - t0) / 1000;
    console.log(`${cases.length} broken copies of ${base} (other model: ${other}), seed ${values.seed}, ${secs.toFixed(0)} s`);
    const table = new Map<string, Map<Verdict, number>>();
    for (const r of results) {
      const row = table.get(r.c.kind) ?? new Map<Verdict, number>();
      row.set(r.verdict, (row.get(r.verdict) ?? 0) + 1);
      table.set(r.c.kind, row);
    }
    for (const [kind, row] of table) console.log(`  ${kind.padEnd(34)} ${[...row].map(([v, n]) => `${v} ${n}`).join(', ')}`);
    const verdicts = new Map<Verdict, number>();
    for (const r of results) verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
    console.log(`verdicts: ${[...verdicts].map(([v, n]) => `${v} ${n}`).join(', ')}`);
    const codes = new Map<string, string>();
    for (const r of results) if (r.code && !codes.has(r.code)) codes.set(r.code, `${r.c.what} -> ${r.message}`);
    console.log('one message per error code:');
    for (const [code, m] of codes) console.log(`  ${code}: ${m.replaceAll(tmp, '$TMP')}`);
    const bad = results.filter((r) => r.verdict !== 'clear error' && r.verdict !== 'loads and completes');
    for (const r of bad) console.log(`FAIL ${r.c.what}: ${r.verdict}: ${(r.message ?? '').slice(0, 400)}`);
    console.log(`the bundled model completes after each case: loaded throughout ${stillCompletes}/${cases.length}, `
      + `switched back to ${backCompletes}/${cases.length}`);
    return bad.length === 0 && stillCompletes === cases.length && backCompletes === cases.length ? 0 : 1;
  } finally {
    await editor.dispose();
    await stays.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) runMain(main);
