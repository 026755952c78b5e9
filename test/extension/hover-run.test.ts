// "Run and compare" (extension/hover/run.ts) with the real python3 and the trainer's own linetrace.py.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { actualAnswer, answersMatch, runSnippet, type RunResult } from '../../extension/hover/run';

import { python, PYTHON as VENV_PYTHON, ROOT } from './engineHelpers';

const TRACER = path.join(ROOT, 'trainer', 'tinypy', 'linetrace.py');
const PYTHON = process.env.TINYFIM_TEST_PYTHON ?? 'python3';

const run = (code: string, timeoutSeconds = 5, extra: Partial<Parameters<typeof runSnippet>[1]> = {}): Promise<RunResult> =>
  runSnippet(code, { pythonPath: PYTHON, tracerPath: TRACER, timeoutSeconds, ...extra });

/** Whether a process exists (a zombie waiting for a reaper counts as gone). */
function alive(pid: number): boolean {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

async function eventuallyGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

// The worked examples of research/tinypy.md §2.2 (counts derived there from CPython's line events).
const WORKED: Array<{ code: string; output: string; lineCount: number }> = [
  { code: 'q = 3\nfor q in range(6, 12, 3) :\n\tprint(q)', output: '6\n9\n', lineCount: 6 },
  { code: 'a = 5\nwhile a < 10 :\n\tprint(a)\n\ta = a + 2', output: '5\n7\n9\n', lineCount: 11 },
  // if/elif/else with the elif taken: 2 inits + if + elif + print; `else :` never counts.
  { code: 'a = 5\nb = 7\nif a > b :\n\tprint(a)\nelif a < b :\n\tprint(b)\nelse :\n\tprint(a - b)', output: '7\n', lineCount: 5 },
  // A zero-iteration for loop counts its header once.
  { code: 'x = 4\nfor i in range(5, 2) :\n\tprint(i)\nprint(x / 2)', output: '2.0\n', lineCount: 3 },
];

describe('hover run-and-compare', function () {
  this.timeout(30_000);

  before(function () {
    if (!existsSync(TRACER)) throw new Error(`missing ${TRACER}`);
  });

  for (const w of WORKED) {
    it(`runs ${JSON.stringify(w.code)}: output and line count as CPython`, async () => {
      const r = await run(w.code);
      assert.equal(r.error, null);
      assert.equal(r.ok, true);
      assert.equal(r.timedOut, false);
      assert.equal(r.output, w.output);
      assert.equal(r.lineCount, w.lineCount);
      assert.equal(actualAnswer('output', r), w.output);
      assert.equal(actualAnswer('line_count', r), String(w.lineCount));
      assert.ok(answersMatch('line_count', ` ${w.lineCount}\n`, actualAnswer('line_count', r) ?? ''));
      assert.ok(!answersMatch('line_count', String(w.lineCount + 1), actualAnswer('line_count', r) ?? ''));
    });
  }

  it('agrees with the trainer\'s tracer and `python -m trainer tinypy trace --json` on generated tinypy programs', async function () {
    this.timeout(90_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-hover-'));
    try {
      const file = path.join(dir, 'programs.txt');
      execFileSync(VENV_PYTHON, ['-m', 'trainer', 'tinypy', 'generate', '--level', 'ALL', '--count', '24', '--seed', '1', '--out', file, '--pure'],
        { cwd: ROOT, stdio: 'pipe' });
      const programs = readFileSync(file, 'utf8').split('\n\n').map((p) => p.replace(/\n+$/, '')).filter((p) => p.trim() !== '');
      assert.equal(programs.length, 24);
      // The trainer's own fast interpreter (no settrace): an independent implementation of the same rule.
      type Trace = { output: string; line_count: number; error: string | null } | null;
      const fast = python<Trace[]>(
        'import json, sys\nfrom trainer.tinypy.tracer import fast_trace\n'
        + 'print(json.dumps([(lambda r: r and r.to_json())(fast_trace(p)) for p in json.load(sys.stdin)]))', programs);
      const runs = await mapLimit(programs, 4, (p) => run(p));
      programs.forEach((program, i) => {
        const expected = fast[i];
        assert.ok(expected, `not in the fast subset: ${program}`);
        assert.equal(runs[i].error, null, program);
        assert.equal(runs[i].output, expected.output, program);
        assert.equal(runs[i].lineCount, expected.line_count, program);
      });
      // And the CLI the issue names, on a few of them.
      for (const [i, program] of programs.slice(0, 3).entries()) {
        const cli = JSON.parse(execFileSync(VENV_PYTHON, ['-m', 'trainer', 'tinypy', 'trace', '--json'],
          { cwd: ROOT, input: program, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8')) as { output: string; line_count: number };
        assert.equal(runs[i].output, cli.output, program);
        assert.equal(runs[i].lineCount, cli.line_count, program);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the error of code that raises, with the output and count up to it', async () => {
    const r = await run('a = 1\nb = 0\nprint(a)\nprint(a / b)\nprint(b)');
    assert.equal(r.ok, true);
    assert.match(r.error ?? '', /^ZeroDivisionError/);
    assert.equal(r.output, '1\n');
    assert.equal(r.lineCount, 4);
    assert.equal(r.timedOut, false);
  });

  it('gives the snippet an empty, closed stdin', async () => {
    const r = await run('x = input()\nprint(x)');
    assert.equal(r.ok, true);
    assert.match(r.error ?? '', /^EOFError/);
  });

  it('reports a syntax error as a value', async () => {
    const r = await run('if x\n\tprint(');
    assert.equal(r.ok, true);
    assert.match(r.error ?? '', /^SyntaxError/);
    assert.equal(r.lineCount, 0);
  });

  it('stops an infinite loop at the timeout; the process is gone', async () => {
    const started = Date.now();
    const r = await run('while True:\n\tpass', 1);
    assert.equal(r.timedOut, true);
    assert.ok(r.error, 'a timeout is reported as an error');
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
    assert.ok(r.pid !== undefined);
    assert.ok(await eventuallyGone(r.pid), `pid ${r.pid} still alive`);
  });

  it('kills the process when the tracer cannot stop the snippet (one long C call)', async () => {
    const started = Date.now();
    const r = await run('x = sum(range(10 ** 12))\nprint(x)', 1, { graceMs: 500 });
    assert.equal(r.timedOut, true);
    assert.equal(r.killed, true);
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /timed out after 1 s: process killed/);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.ok(r.pid !== undefined);
    assert.ok(await eventuallyGone(r.pid), `pid ${r.pid} still alive`);
  });

  it('kills processes the snippet started', async function () {
    if (process.platform === 'win32') this.skip();
    const r = await run("import subprocess\np = subprocess.Popen(['sleep', '30'])\nprint(p.pid)\nwhile True:\n\tpass", 1);
    assert.equal(r.timedOut, true);
    const child = Number(r.output.trim());
    assert.ok(child > 0, r.output);
    assert.ok(await eventuallyGone(child), `grandchild ${child} still alive`);
  });

  it('stops on cancel', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const r = await run('while True:\n\tpass', 30, { signal: controller.signal });
    assert.equal(r.ok, false);
    assert.equal(r.killed, true);
    assert.match(r.error ?? '', /cancelled/);
    assert.ok(r.ms < 5000);
    assert.ok(await eventuallyGone(r.pid ?? -1));
  });

  it('reports a missing interpreter as a value', async () => {
    const r = await runSnippet('print(1)', { pythonPath: path.join(os.tmpdir(), 'no-such-python-3'), tracerPath: TRACER, timeoutSeconds: 2 });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /Python interpreter not found/);
  });

  it('reports an interpreter that prints no trace', async () => {
    const r = await runSnippet('print(1)', { pythonPath: PYTHON, tracerPath: path.join(os.tmpdir(), 'no-such-tracer.py'), timeoutSeconds: 2 });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /did not return a trace/);
  });

  it('passes unicode output through', async () => {
    const r = await run('print("é ✓ 😀")');
    assert.equal(r.output, 'é ✓ 😀\n');
  });
});
