// What "Train a model on this workspace" runs, without vscode: where the trainer and its Python are, which
// presets exist, and the exact `python -m trainer pipeline` command line with its folders.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface Preset { name: string; about: string }

export interface TrainPlan {
  python: string;
  args: string[];
  /** The trainer checkout: `-m trainer` is found from here. */
  cwd: string;
  /** Stable per (workspace folder, preset), so running again resumes finished stages. */
  workDir: string;
  /** A new folder per run, so a model in use is never overwritten. */
  outDir: string;
}

/** A TinyFIM checkout: the trainer package with its presets. */
export function isTrainerRoot(dir: string): boolean {
  return existsSync(path.join(dir, 'trainer', '__main__.py')) && existsSync(path.join(dir, 'trainer', 'presets'));
}

/** The trainer's Python: the setting, else the checkout's .venv (made by scripts/setup.sh), else python3. */
export function trainerPython(trainerRoot: string, setting: string, platform: NodeJS.Platform = process.platform): string {
  if (setting.trim()) return setting.trim();
  const venv = platform === 'win32'
    ? path.join(trainerRoot, '.venv', 'Scripts', 'python.exe')
    : path.join(trainerRoot, '.venv', 'bin', 'python');
  if (existsSync(venv)) return venv;
  return platform === 'win32' ? 'python' : 'python3';
}

/** Presets in trainer/presets/*.json with their one-line `about`, smallest-first order kept as named. */
export function listPresets(trainerRoot: string): Preset[] {
  const dir = path.join(trainerRoot, 'trainer', 'presets');
  if (!existsSync(dir)) return [];
  const order = ['test', 'small', 'default', 'gpu'];
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const name = f.slice(0, -'.json'.length);
      let about = '';
      try {
        const json = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { about?: unknown };
        if (typeof json.about === 'string') about = json.about;
      } catch {
        about = '(unreadable preset file)';
      }
      return { name, about };
    })
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** A folder-name-safe label for a workspace folder: its name plus a short hash of the full path. */
export function folderKey(folder: string): string {
  const base = path.basename(folder).replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40) || 'workspace';
  return `${base}-${createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 8)}`;
}

/** 20261122-031500 for a Date (local time), for the output folder's name. */
export function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function planTraining(opts: {
  trainerRoot: string; python: string; corpusDir: string; preset: string; storageDir: string; now: Date; extraArgs?: string[];
}): TrainPlan {
  const key = folderKey(opts.corpusDir);
  const workDir = path.join(opts.storageDir, 'train', `${key}-${opts.preset}`);
  const outDir = path.join(opts.storageDir, 'models', `${key}-${opts.preset}-${stamp(opts.now)}`);
  return {
    python: opts.python,
    cwd: opts.trainerRoot,
    workDir,
    outDir,
    args: ['-m', 'trainer', 'pipeline', '--preset', opts.preset, '--code', path.resolve(opts.corpusDir),
      '--workdir', workDir, '--model', outDir, ...(opts.extraArgs ?? [])],
  };
}

/** The command as a user could paste it into a POSIX shell. */
export function shellLine(python: string, args: string[]): string {
  const quote = (a: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [python, ...args].map(quote).join(' ');
}

/** Process output to terminal text: a terminal needs \r\n; lone \r (progress bars) is kept. */
export function toTerminalText(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** The pipeline finished with an exported model there. */
export function modelReady(outDir: string): boolean {
  return ['model.json', 'model.onnx', 'tokenizer.json'].every((f) => existsSync(path.join(outDir, f)));
}
