// `tinyfim latency`: keystroke-to-suggestion latency through the editor's completion path (editor.ts), per FIM mode.
// For each sampled cursor position: a COLD automatic request (empty KV cache), then TYPING-THROUGH: the user types
// the file's next character and the editor asks again (KV cache warm from the previous request; the suggestion
// cache is cleared, so each keystroke is a model call). Requests the editor would not make (inside a word) are
// counted, not timed. See bench/README.md.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Engine, FimMode } from '../engine';
import { CliError, COMPLETION_OPTIONS, COMPLETION_USAGE, engineFrom, intOpt, parse, pathOptionsFrom, printJson, type Verb } from './args';
import { mean, percentile } from './metrics';
import { EditorPath, type PathOptions } from './editor';

export interface LatencyOptions {
  files: string[];
  positions: number;
  typed: number;
  modes: FimMode[];
  seed: number;
  path?: PathOptions;
}

/** Deterministic cursor positions inside non-blank lines (never in the first line). */
export function samplePositions(text: string, n: number, seed: number): number[] {
  const starts: number[] = [];
  let off = 0;
  for (const line of text.split('\n')) {
    if (line.trim() && off > 0) starts.push(off);
    off += line.length + 1;
  }
  let s = seed >>> 0;
  const rand = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const out: number[] = [];
  for (let i = 0; i < n && starts.length; i++) {
    const ls = starts[Math.floor(rand() * starts.length)];
    const le = text.indexOf('\n', ls);
    const len = (le === -1 ? text.length : le) - ls;
    const indent = text.slice(ls, ls + len).length - text.slice(ls, ls + len).trimStart().length;
    // A column after the indentation, leaving at least `typed` characters of the line to type through.
    out.push(ls + indent + Math.floor(rand() * Math.max(1, len - indent)));
  }
  return out;
}

function stats(ms: number[]): { n: number; p50: number; p95: number; max: number; mean: number } {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: ms.length, p50: r(percentile(ms, 50)), p95: r(percentile(ms, 95)), max: r(ms.length ? Math.max(...ms) : NaN), mean: r(mean(ms)) };
}

export async function measureLatency(engine: Engine, o: LatencyOptions): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = { settings: new EditorPath(engine, o.path).settings };
  for (const mode of o.modes) {
    const editor = new EditorPath(engine, { ...o.path, mode });
    const cold: number[] = [];
    const typing: number[] = [];
    const prefillCold: number[] = [];
    const prefillTyping: number[] = [];
    const tokens: number[] = [];
    let notAsked = 0;
    for (const file of o.files) {
      const text = readFileSync(file, 'utf8');
      for (const pos of samplePositions(text, o.positions, o.seed)) {
        // The user types text[pos .. pos+typed) into a document that does not have it yet: the suffix stays put.
        const lineEnd = text.indexOf('\n', pos) === -1 ? text.length : text.indexOf('\n', pos);
        const end = Math.min(lineEnd, pos + o.typed);
        const ask = async (at: number, into: number[], fed: number[]): Promise<void> => {
          const { outcome, ms } = await editor.complete(text.slice(0, at) + text.slice(end), at, 'automatic');
          if (!outcome.answer) {
            notAsked++;
            return;
          }
          into.push(ms);
          fed.push(outcome.answer.prefillTokens);
          tokens.push(outcome.answer.tokens);
        };
        await engine.clearCache();
        await ask(pos, cold, prefillCold);
        for (let k = 1; pos + k <= end; k++) await ask(pos + k, typing, prefillTyping);
      }
    }
    report[mode] = {
      cold_ms: stats(cold), typing_through_ms: stats(typing), not_asked: notAsked,
      fed_tokens_cold_mean: Math.round(mean(prefillCold) * 10) / 10, fed_tokens_typing_mean: Math.round(mean(prefillTyping) * 10) / 10,
      generated_tokens_mean: Math.round(mean(tokens) * 10) / 10,
    };
  }
  return report;
}

function defaultFiles(): string[] {
  const dir = path.resolve('bench/samples');
  if (!existsSync(dir)) throw new CliError('no --files given and bench/samples/ does not exist');
  return readdirSync(dir).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(dir, f));
}

export const latencyVerb: Verb = {
  description: 'Keystroke-to-suggestion latency through the editor\'s completion path (cold and typing-through, automatic requests) '
    + 'on sample Python files, per FIM mode.',
  usage: `${COMPLETION_USAGE} [--files F ...] [--positions N] [--typed N] [--modes psm,spm] [--seed N]`,
  async run(argv) {
    const a = parse(argv, { ...COMPLETION_OPTIONS, files: { type: 'string', multiple: true }, positions: { type: 'string' },
      typed: { type: 'string' }, modes: { type: 'string' }, seed: { type: 'string' } });
    if (a.mode !== undefined) throw new CliError('latency measures each of --modes; --mode does not apply');
    const files = (a.files as string[] | undefined) ?? defaultFiles();
    for (const f of files) if (!existsSync(f)) throw new CliError(`no such file: ${f}`);
    const modes = ((a.modes as string | undefined) ?? 'psm,spm').split(',');
    for (const m of modes) if (m !== 'psm' && m !== 'spm') throw new CliError(`--modes takes psm and/or spm, got '${m}'`);
    const threads = intOpt(a.threads, '--threads', 1);
    const path = pathOptionsFrom(a);
    const engine = await engineFrom(a);
    try {
      const report = await measureLatency(engine, {
        files, modes: modes as FimMode[], positions: intOpt(a.positions, '--positions', 20), typed: intOpt(a.typed, '--typed', 3, 0),
        seed: intOpt(a.seed, '--seed', 1, 0), path,
      });
      const out = { model: engine.manifest.name, parameters: engine.manifest.architecture.parameters, threads, files: files.length, ...report };
      if (a.json) printJson(out);
      else process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
