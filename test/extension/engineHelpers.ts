// Shared by the engine tests: where the test model and the Python reference live.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { CompletionEngine, CompletionInput } from '../../extension/completion/completer';
import type { CompletionRequest, CompletionResult, Engine } from '../../extension/engine';

export const ROOT = path.resolve(__dirname, '..', '..', '..'); // out/test/extension -> repo root
export const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

/** The model folder the tests load: env TINYFIM_TEST_MODEL, default build/test-model. */
export function testModelDir(): string {
  const dir = path.resolve(ROOT, process.env.TINYFIM_TEST_MODEL ?? 'build/test-model');
  if (!existsSync(path.join(dir, 'model.json'))) {
    throw new Error(`test model not found at ${dir}: build it with \`bash scripts/test-model.sh\` or set TINYFIM_TEST_MODEL to a model folder`);
  }
  return dir;
}

/**
 * The training run behind the test model (PyTorch reference): env TINYFIM_TEST_RUN, default build/test-pipeline/run.
 * TINYFIM_TEST_RUN=none: the model has no run here (the shipped models/default); tests that need one skip.
 */
export function testRunDir(): string | null {
  if (process.env.TINYFIM_TEST_RUN === 'none') return null;
  const dir = path.resolve(ROOT, process.env.TINYFIM_TEST_RUN ?? 'build/test-pipeline/run');
  if (!existsSync(dir)) throw new Error(`test run not found at ${dir}: run \`bash scripts/test-model.sh\` or set TINYFIM_TEST_RUN`);
  return dir;
}

/** Runs a Python snippet in the project venv with `input` (JSON) on stdin; returns its stdout parsed as JSON. */
export function python<T>(code: string, input: unknown): T {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run \`npm run setup\` first`);
  const out = execFileSync(PYTHON, ['-c', code], { cwd: ROOT, input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}

/** The real engine, counting and recording what the completer asks and gets. */
export class CountingEngine implements CompletionEngine {
  calls = 0;
  readonly requests: CompletionRequest[] = [];
  readonly results: CompletionResult[] = [];
  constructor(readonly inner: Engine) {}
  get manifest() { return this.inner.manifest; }
  async complete(req: CompletionRequest): Promise<CompletionResult> {
    this.calls++;
    this.requests.push(req);
    const r = await this.inner.complete(req);
    this.results.push(r);
    return r;
  }
}

export const INDENT = { insertSpaces: true, tabSize: 4 };

/** A Completer request for a Python document (manual trigger unless `extra` says otherwise). */
export const input = (text: string, offset: number, extra: Partial<CompletionInput> = {}): CompletionInput =>
  ({ docId: 'file:///doc.py', text, offset, languageId: 'python', indent: INDENT, trigger: 'invoke', ...extra });
