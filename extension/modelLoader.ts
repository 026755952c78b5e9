// Model loading without vscode: one engine per (folder, threads), loaded once however many callers ask at the
// same time, a failure remembered (not retried on every keystroke) until the settings change or retry().
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, ModelLoadError } from './engine';
import type { Logger } from './log';

export type EngineState =
  | { kind: 'unloaded' }
  | { kind: 'loading'; dir: string }
  | { kind: 'ready'; dir: string; name: string; loadMs: number }
  | { kind: 'error'; dir: string; code: string; message: string };

export interface LoadTarget {
  dir: string;
  threads: number;
}

type LoadFn = (dir: string, opts: { threads?: number }) => Promise<Engine>;

/** `tinyfim.model.path` to a folder: empty = the bundled model, `~` = home, relative = against `base`. */
export function resolveModelDir(setting: string, bundledDir: string, base?: string): string {
  const p = setting.trim();
  if (!p) return bundledDir;
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(base ?? process.cwd(), p);
}

/** `text` as a sentence: a final period unless it already ends with one (no "..". in messages). */
function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** A message that says what is wrong and how to fix it. */
export function describeLoadError(err: unknown, dir: string, bundled: boolean): { code: string; message: string } {
  const where = bundled ? `the bundled model (${dir})` : `the model folder ${dir}`;
  if (err instanceof ModelLoadError) {
    const fix: Record<string, string> = {
      missing_file: bundled
        ? 'The extension package looks incomplete: reinstall TinyFIM, or choose a model folder.'
        : 'Choose a folder that holds model.json, model.onnx and tokenizer.json (made by `python -m trainer export`), or clear the setting to use the bundled model.',
      bad_manifest: 'Re-export the model with `python -m trainer export`, or choose another model folder.',
      sha256_mismatch: 'A model file changed after export (partial copy?): copy the folder again or re-export it.',
      bad_onnx: 'model.onnx is not a valid ONNX model: re-export it with `python -m trainer export`.',
      io_mismatch: 'model.onnx does not have the inputs/outputs model.json declares: re-export the model.',
      vocab_mismatch: 'tokenizer.json does not match the model: export both from the same training run.',
      tokenizer_error: 'tokenizer.json cannot be read: re-export the model.',
    };
    return { code: err.code, message: `TinyFIM cannot load ${where}: ${sentence(err.message)} ${fix[err.code] ?? ''}`.trim() };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { code: 'unknown', message: `TinyFIM cannot load ${where}: ${sentence(text)} See the TinyFIM log for details.` };
}

export class ModelLoader {
  private target: LoadTarget | undefined;
  private loading: Promise<Engine | undefined> | undefined;
  private engine: Engine | undefined;
  private current: EngineState = { kind: 'unloaded' };
  private listeners: ((s: EngineState) => void)[] = [];
  private generation = 0;
  private disposed = false;

  constructor(
    private readonly bundledDir: string,
    private readonly log?: Logger,
    private readonly load: LoadFn = (dir, opts) => Engine.load(dir, opts),
  ) {}

  get state(): EngineState { return this.current; }

  onState(listener: (s: EngineState) => void): () => void {
    this.listeners.push(listener);
    return () => { this.listeners = this.listeners.filter((l) => l !== listener); };
  }

  private setState(s: EngineState): void {
    this.current = s;
    for (const l of this.listeners) l(s);
  }

  /** Sets the folder and threads; a change drops the loaded engine (disposed once its work ends). */
  configure(target: LoadTarget): void {
    if (this.target && this.target.dir === target.dir && this.target.threads === target.threads) return;
    this.target = { ...target };
    this.reset();
  }

  /** Forgets the loaded engine or the remembered failure; the next getEngine() loads again. */
  retry(): void { this.reset(); }

  private reset(): void {
    this.generation++;
    const old = this.engine;
    this.engine = undefined;
    this.loading = undefined;
    if (old) void old.dispose().catch((e: unknown) => this.log?.warn(`disposing the old engine: ${String(e)}`));
    this.setState({ kind: 'unloaded' });
  }

  /** The engine, loading it on first use; undefined when it cannot load (state says why). Never throws. */
  getEngine(): Promise<Engine | undefined> {
    if (this.disposed || !this.target) return Promise.resolve(undefined);
    if (this.engine) return Promise.resolve(this.engine);
    if (this.current.kind === 'error') return Promise.resolve(undefined);
    if (!this.loading) this.loading = this.startLoad(this.target, this.generation);
    return this.loading;
  }

  private async startLoad(target: LoadTarget, generation: number): Promise<Engine | undefined> {
    const t0 = performance.now();
    this.setState({ kind: 'loading', dir: target.dir });
    this.log?.info(`loading model from ${target.dir} (${target.threads} thread${target.threads === 1 ? '' : 's'})`);
    try {
      const engine = await this.load(target.dir, { threads: target.threads });
      if (generation !== this.generation || this.disposed) {
        void engine.dispose();
        return this.getEngine(); // the settings changed while loading
      }
      this.engine = engine;
      const loadMs = Math.round(performance.now() - t0);
      this.log?.info(`model '${engine.manifest.name}' ready in ${loadMs} ms`);
      this.setState({ kind: 'ready', dir: target.dir, name: engine.manifest.name, loadMs });
      return engine;
    } catch (err) {
      if (generation !== this.generation || this.disposed) return this.getEngine();
      const { code, message } = describeLoadError(err, target.dir, target.dir === this.bundledDir);
      this.log?.error(message);
      if (err instanceof Error && !(err instanceof ModelLoadError) && err.stack) this.log?.debug(err.stack);
      this.loading = undefined;
      this.setState({ kind: 'error', dir: target.dir, code, message });
      return undefined;
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.generation++;
    const old = this.engine;
    this.engine = undefined;
    this.listeners = [];
    await old?.dispose();
  }
}
