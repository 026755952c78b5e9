// What every CLI verb shares: the Verb shape, CliError, option parsing, and the flags that override the editor's
// completion settings (the same names in every verb).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Mode } from '../completion/context';
import type { TriggerKind } from '../completion/debounce';
import { DEFAULT_SETTINGS, type CompleterSettings } from '../completion/settings';
import { Engine, ModelLoadError, type FimMode } from '../engine';
import type { PathOptions } from './editor';

export interface Verb {
  description: string;
  usage: string;
  /** Returns the process exit code. Throw CliError for bad input (printed as one line, exit 2). */
  run(argv: string[]): Promise<number>;
}

export class CliError extends Error {}

export type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export function parse(argv: string[], options: Options): Values {
  return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Values;
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

/** A number in [0, 1] (a probability threshold). */
export function probabilityOpt(v: unknown, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new CliError(`${flag} must be a number in [0, 1], got '${String(v)}'`);
  return n;
}

/** One of `choices`, or `dflt` when the flag is absent. */
export function choiceOpt<T extends string>(v: unknown, flag: string, choices: readonly T[], dflt: T): T;
export function choiceOpt<T extends string>(v: unknown, flag: string, choices: readonly T[]): T | undefined;
export function choiceOpt<T extends string>(v: unknown, flag: string, choices: readonly T[], dflt?: T): T | undefined {
  if (v === undefined) return dflt;
  if (!choices.includes(v as T)) throw new CliError(`${flag} must be ${choices.join(' or ')}, got '${String(v)}'`);
  return v as T;
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

/** Machine-readable results (`--json`): one line on stdout. Progress and notes go to stderr. */
export function printJson(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** The completion flags: each overrides one of the editor's settings (package.json defaults) or path choices. */
export const COMPLETION_OPTIONS: Options = {
  model: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' },
  mode: { type: 'string' }, lines: { type: 'string' }, trigger: { type: 'string' }, 'no-heal': { type: 'boolean' },
  'max-new-tokens': { type: 'string' }, 'budget-ms': { type: 'string' }, 'max-lines': { type: 'string' },
};

export const COMPLETION_USAGE = '--model DIR [--threads N] [--json] [--mode psm|spm] [--lines auto|single|multi] [--no-heal] '
  + `[--max-new-tokens N (${DEFAULT_SETTINGS.maxNewTokens})] [--budget-ms N (${DEFAULT_SETTINGS.timeBudgetMs})] [--max-lines N (${DEFAULT_SETTINGS.maxLines})]`;

/** The editor's settings with the flags given applied on top. */
export function settingsFrom(a: Values): Partial<CompleterSettings> {
  const d = DEFAULT_SETTINGS;
  return {
    maxNewTokens: intOpt(a['max-new-tokens'], '--max-new-tokens', d.maxNewTokens),
    timeBudgetMs: intOpt(a['budget-ms'], '--budget-ms', d.timeBudgetMs),
    maxLines: intOpt(a['max-lines'], '--max-lines', d.maxLines),
  };
}

/** The path options of the completion flags (FIM mode, forced line mode, healing) and the settings. */
export function pathOptionsFrom(a: Values): PathOptions {
  const lines = choiceOpt(a.lines, '--lines', ['auto', 'single', 'multi'] as const, 'auto');
  return {
    settings: settingsFrom(a),
    mode: choiceOpt<FimMode>(a.mode, '--mode', ['psm', 'spm']),
    lines: lines === 'auto' ? undefined : (lines as Mode),
    heal: !a['no-heal'],
  };
}

export function triggerFrom(a: Values, dflt: TriggerKind): TriggerKind {
  return choiceOpt<TriggerKind>(a.trigger, '--trigger', ['automatic', 'invoke'], dflt);
}

/** Loads the model of `--model` with `--threads` (default 1). */
export function engineFrom(a: Values): Promise<Engine> {
  return loadEngine(required(a.model, '--model'), intOpt(a.threads, '--threads', 1));
}
