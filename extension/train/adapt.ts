// What "Adapt the Model to This Workspace" runs, without vscode: which Python (one that has the trainer's fine-tune
// dependencies, else a virtual environment of the extension's own), the venv set-up commands, the exact
// `python -m trainer finetune` command line with its folders, and the before/after figures of a finished run.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { folderKey, stamp } from './plan';

/** The modules `python -m trainer finetune` imports (requirements-finetune.txt, by import name). */
export const FINETUNE_MODULES = ['torch', 'numpy', 'tokenizers', 'onnx', 'onnxruntime', 'safetensors', 'tqdm', 'datasketch', 'detect_secrets'];
export const MIN_PYTHON: [number, number] = [3, 10];
/** The venv is usable once this file is there: written last, so an interrupted set-up is never taken as done. */
export const READY_FILE = 'tinyfim-ready.json';

/** Where the package keeps the trainer sources (dist/trainer) and what to run `-m trainer` from. */
export function shippedTrainer(extensionPath: string): { cwd: string; requirements: string } | undefined {
  const cwd = path.join(extensionPath, 'dist');
  const requirements = path.join(cwd, 'trainer', 'requirements-finetune.txt');
  if (!existsSync(path.join(cwd, 'trainer', 'finetune.py')) || !existsSync(requirements)) return undefined;
  return { cwd, requirements };
}

/** The float weights fine-tuning starts from; undefined when the folder has them, else why not. */
export function baseProblem(modelDir: string): string | undefined {
  if (!existsSync(path.join(modelDir, 'model.json'))) return `${modelDir} is not a model folder (no model.json).`;
  if (!existsSync(path.join(modelDir, 'model.safetensors'))) {
    return `this model has no float weights (model.safetensors in ${modelDir}), so it cannot be fine-tuned. `
      + 'Choose a model folder that has them (TinyFIM: Choose Model Folder…), e.g. one exported by the trainer.';
  }
  return undefined;
}

/** A short hash of the requirements: a new pin set gets a new venv instead of a half-upgraded old one. */
export function venvDir(storageDir: string, requirementsText: string): string {
  return path.join(storageDir, `python-${createHash('sha256').update(requirementsText).digest('hex').slice(0, 10)}`);
}

export function venvPython(dir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

export function venvReady(dir: string, platform: NodeJS.Platform = process.platform): boolean {
  return existsSync(path.join(dir, READY_FILE)) && existsSync(venvPython(dir, platform));
}

/** Interpreters to create the venv with, in order: `py -3` on Windows, else python3, then python. */
export function basePythonCandidates(platform: NodeJS.Platform = process.platform): { command: string; args: string[] }[] {
  return platform === 'win32'
    ? [{ command: 'py', args: ['-3'] }, { command: 'python', args: [] }]
    : [{ command: 'python3', args: [] }, { command: 'python', args: [] }];
}

/** Prints {"version": [major, minor, micro], "missing": [modules]} without importing the modules (find_spec). */
export const PROBE = 'import importlib.util, json, sys\n'
  + `mods = ${JSON.stringify(FINETUNE_MODULES)}\n`
  + 'print(json.dumps({"version": list(sys.version_info[:3]), "missing": [m for m in mods if importlib.util.find_spec(m) is None]}))';

export interface Probe { version: number[]; missing: string[] }

export function parseProbe(stdout: string): Probe | undefined {
  try {
    const last = stdout.trim().split('\n').pop() ?? '';
    const p = JSON.parse(last) as Partial<Probe>;
    if (Array.isArray(p.version) && Array.isArray(p.missing)) return { version: p.version.map(Number), missing: p.missing.map(String) };
  } catch { /* not our output */ }
  return undefined;
}

/** Why this Python cannot run the fine-tune ('' when it can). */
export function probeProblem(p: Probe, needModules = true): string {
  const [major = 0, minor = 0] = p.version;
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    return `Python ${p.version.join('.')} is too old (the trainer needs ${MIN_PYTHON.join('.')} or newer)`;
  }
  if (needModules && p.missing.length > 0) return `it lacks ${p.missing.join(', ')} (see requirements-finetune.txt)`;
  return '';
}

/** Runs the probe with a Python; undefined when it does not start or prints something else. */
export function probePython(command: string, args: string[] = [], timeoutMs = 30_000): Promise<Probe | undefined> {
  return new Promise((resolve) => {
    execFile(command, [...args, '-c', PROBE], { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      resolve(err ? undefined : parseProbe(stdout));
    });
  });
}

/** The two steps that make the venv: `python -m venv DIR`, then pip install of the pinned requirements. */
export function venvSteps(base: { command: string; args: string[] }, dir: string, requirements: string, pipArgs: string[] = [],
  platform: NodeJS.Platform = process.platform): { command: string; args: string[]; what: string }[] {
  const py = venvPython(dir, platform);
  return [
    { command: base.command, args: [...base.args, '-m', 'venv', dir], what: 'creating a virtual environment' },
    { command: py, args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', requirements, ...pipArgs],
      what: 'installing PyTorch and the trainer\'s packages from PyPI (once; a few minutes)' },
  ];
}

export interface AdaptPlan { python: string; args: string[]; cwd: string; workDir: string; outDir: string; env: Record<string, string> }

export function planAdapt(opts: {
  python: string; trainerCwd: string; baseDir: string; codeDir: string; minutes: number; storageDir: string; now: Date;
}): AdaptPlan {
  const key = folderKey(opts.codeDir);
  const outDir = path.join(opts.storageDir, 'models', `${key}-adapted-${stamp(opts.now)}`);
  const workDir = path.join(opts.storageDir, 'adapt', key);
  return {
    python: opts.python,
    cwd: opts.trainerCwd,
    workDir,
    outDir,
    // No .pyc files in the extension's folder: it belongs to the editor, and may be read-only.
    env: { PYTHONDONTWRITEBYTECODE: '1' },
    args: ['-m', 'trainer', 'finetune', '--base', opts.baseDir, '--code', path.resolve(opts.codeDir),
      '--minutes', String(opts.minutes), '--out', outDir, '--work', workDir],
  };
}

export interface AdaptResult {
  complete: boolean; stopped: string; before: { loss: number; exact_match: number }; after: { loss: number; exact_match: number };
  lines: number; minutes: number;
}

/** The finetune block of the new model.json, or undefined when the run wrote none. */
export function readAdaptResult(outDir: string): AdaptResult | undefined {
  try {
    const m = JSON.parse(readFileSync(path.join(outDir, 'model.json'), 'utf8')) as { finetune?: Record<string, unknown> };
    const f = m.finetune as undefined | {
      complete: boolean; stopped: string; before: AdaptResult['before']; after: AdaptResult['after'] & { lines: number }; seconds: number;
    };
    if (!f || typeof f.before?.exact_match !== 'number' || typeof f.after?.exact_match !== 'number') return undefined;
    return { complete: f.complete === true, stopped: String(f.stopped), before: f.before, after: f.after, lines: f.after.lines,
      minutes: f.seconds / 60 };
  } catch {
    return undefined;
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** One sentence for the notification: held-out exact match and loss, before and after. */
export function describeResult(r: AdaptResult): string {
  const better = r.after.exact_match > r.before.exact_match || (r.after.exact_match === r.before.exact_match && r.after.loss < r.before.loss);
  return `on held-out lines of this workspace (${r.lines}), exact match ${pct(r.before.exact_match)} → ${pct(r.after.exact_match)}, `
    + `held-out loss ${r.before.loss.toFixed(3)} → ${r.after.loss.toFixed(3)}`
    + (better ? '' : ' (not better than the current model)');
}
