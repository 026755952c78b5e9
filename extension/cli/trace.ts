// `tinyfim trace`: predict a program's printed output and executed-line count.
import type { Verb } from './main';
import { CliError } from './main';
import { intOpt, loadEngine, parse, printJson, readText, required } from './args';

/** `line_count` answers become numbers when they are decimal integers (DESIGN.md trace JSON). */
export function traceValue(task: string, answer: string): string | number | null {
  if (task === 'line_count') return /^\s*\d+\s*$/.test(answer) ? Number(answer.trim()) : null;
  return answer;
}

export const traceVerb: Verb = {
  description: 'Predict what a Python file prints and how many lines it executes (trace tasks in the manifest).',
  usage: '--model DIR --file F [--task T ...] [--json] [--threads N]',
  async run(argv) {
    const a = parse(argv, { model: { type: 'string' }, file: { type: 'string' }, task: { type: 'string', multiple: true },
      json: { type: 'boolean' }, threads: { type: 'string' } });
    const file = required(a.file, '--file');
    const program = readText(file);
    const engine = await loadEngine(required(a.model, '--model'), intOpt(a.threads, '--threads', 1));
    try {
      const tasks = (a.task as string[] | undefined) ?? engine.tasks().filter((t) => t === 'output' || t === 'line_count');
      for (const t of tasks) if (!engine.tasks().includes(t)) throw new CliError(`unknown task '${t}' (this model has: ${engine.tasks().join(', ')})`);
      const t0 = performance.now();
      const out: Record<string, unknown> = {};
      const details: Record<string, unknown> = {};
      for (const t of tasks) {
        const r = await engine.trace(t, program);
        out[t] = traceValue(t, r.answer);
        details[t] = { answer: r.answer, probability: r.probability, stop_reason: r.stopReason, ms: Math.round(r.ms * 10) / 10 };
      }
      out.ms = Math.round((performance.now() - t0) * 10) / 10;
      if (a.json) printJson({ ...out, details });
      else {
        for (const t of tasks) process.stdout.write(`${t}: ${JSON.stringify(out[t])}\n`);
        process.stderr.write(`[${out.ms} ms]\n`);
      }
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
