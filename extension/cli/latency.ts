// `tinyfim latency`: the keystroke-to-suggestion benchmark in bench/latency.ts (see bench/README.md).
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { measureLatency } from '../../bench/latency';
import type { Verb } from './main';
import { CliError } from './main';
import { intOpt, loadEngine, parse, printJson, required } from './args';

function defaultFiles(): string[] {
  const dir = path.resolve('bench/samples');
  if (!existsSync(dir)) throw new CliError('no --files given and bench/samples/ does not exist');
  return readdirSync(dir).filter((f) => f.endsWith('.py')).sort().map((f) => path.join(dir, f));
}

export const latencyVerb: Verb = {
  description: 'Keystroke-to-suggestion latency (cold and typing-through, single-line) on sample Python files.',
  usage: '--model DIR [--files F ...] [--positions N] [--typed N] [--modes psm,spm] [--max-new-tokens N] [--budget-ms N] [--threads N] [--seed N] [--json]',
  async run(argv) {
    const a = parse(argv, { model: { type: 'string' }, files: { type: 'string', multiple: true }, positions: { type: 'string' }, typed: { type: 'string' },
      modes: { type: 'string' }, 'max-new-tokens': { type: 'string' }, 'budget-ms': { type: 'string' }, threads: { type: 'string' },
      seed: { type: 'string' }, json: { type: 'boolean' } });
    const files = (a.files as string[] | undefined) ?? defaultFiles();
    for (const f of files) if (!existsSync(f)) throw new CliError(`no such file: ${f}`);
    const modes = ((a.modes as string | undefined) ?? 'psm,spm').split(',');
    for (const m of modes) if (m !== 'psm' && m !== 'spm') throw new CliError(`--modes takes psm and/or spm, got '${m}'`);
    const threads = intOpt(a.threads, '--threads', 1);
    const engine = await loadEngine(required(a.model, '--model'), threads);
    try {
      const report = await measureLatency(engine, {
        files, modes: modes as ('psm' | 'spm')[], positions: intOpt(a.positions, '--positions', 20), typed: intOpt(a.typed, '--typed', 3, 0),
        maxNewTokens: intOpt(a['max-new-tokens'], '--max-new-tokens', 24), budgetMs: intOpt(a['budget-ms'], '--budget-ms', 400), seed: intOpt(a.seed, '--seed', 1, 0),
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
