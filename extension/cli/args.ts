// Small helpers shared by the CLI verbs.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Engine, ModelLoadError } from '../engine';
import { CliError } from './main';

export type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

export function parse(argv: string[], options: Options): Record<string, string | boolean | string[] | undefined> {
  return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | boolean | string[] | undefined>;
}

/** A file's text, or a one-line CliError saying why it cannot be read. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function required(v: unknown, flag: string): string {
  if (typeof v !== 'string' || v === '') throw new CliError(`${flag} is required`);
  return v;
}

export function intOpt(v: unknown, flag: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

export function modeOpt(v: unknown): 'psm' | 'spm' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'psm' && v !== 'spm') throw new CliError(`--mode must be psm or spm, got '${String(v)}'`);
  return v;
}

/** Loads the engine; a bad model folder becomes a one-line CLI error, not a stack trace. */
export async function loadEngine(dir: string, threads?: number): Promise<Engine> {
  try {
    return await Engine.load(dir, { threads });
  } catch (err) {
    if (err instanceof ModelLoadError) throw new CliError(`cannot load model: ${err.message} [${err.code}]`);
    throw err;
  }
}

export function printJson(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
