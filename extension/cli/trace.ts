// `tinyfim trace`: predict a program's printed output and executed-line count, with the hover's confidence
// (calibrated when the model folder has calibration.json) and "not sure" below the threshold. `--run` then runs
// the program under the line tracer and puts the actual values beside the predictions.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CALIBRATION_FILE, DEFAULT_MIN_CONFIDENCE, judge, parseCalibration, type Calibration, type JudgedPrediction } from '../hover/calibration';
import { programForModel } from '../hover/gate';
import { actualAnswer, answersMatch, runSnippet, type RunResult } from '../hover/run';
import { CliError, intOpt, loadEngine, parse, printJson, probabilityOpt, readText, required, type Verb } from './args';

/** `line_count` answers become numbers when they are decimal integers (DESIGN.md trace JSON). */
export function traceValue(task: string, answer: string): string | number | null {
  if (task === 'line_count') return /^\s*\d+\s*$/.test(answer) ? Number(answer.trim()) : null;
  return answer;
}

function readCalibration(dir: string, sha256: string | undefined): { calibration?: Calibration; note: string } {
  const file = path.join(dir, CALIBRATION_FILE);
  if (!existsSync(file)) return { note: `no ${CALIBRATION_FILE}: confidence is the model's own probability` };
  try {
    const { calibration, problem } = parseCalibration(JSON.parse(readFileSync(file, 'utf8')), sha256);
    return calibration ? { calibration, note: `confidence calibrated on held-out programs (${file})` } : { note: `${file} ignored: ${problem}` };
  } catch (err) {
    return { note: `${file} ignored: ${(err as Error).message}` };
  }
}

/** The line tracer: next to the bundled CLI (dist/), else the trainer's copy in a checkout. */
function tracerPath(): string {
  for (const p of [path.join(__dirname, 'linetrace.py'), path.resolve('trainer', 'tinypy', 'linetrace.py')]) if (existsSync(p)) return p;
  throw new CliError('linetrace.py not found next to the CLI or in trainer/tinypy/ (run `node esbuild.mjs`)');
}

const LABEL: Record<string, string> = { output: 'printed output', line_count: 'executed lines' };

/** An answer on one line: output lines joined with ' / ', "(nothing)" for no output. */
function oneLine(task: string, answer: string): string {
  if (task !== 'output') return answer.trim() || '(nothing)';
  const text = answer.replace(/\r?\n$/, '');
  return text === '' ? '(prints nothing)' : text.split(/\r?\n/).join(' / ');
}

/** The readable report: one row per task, the actual value beside the prediction when the program was run. */
export function traceTable(predictions: JudgedPrediction[], run: RunResult | undefined): string[] {
  const rows = predictions.map((p) => {
    const conf = `${Math.round(p.confidence * 100)}%${p.calibrated ? '' : ' (raw)'}`;
    const predicted = p.sure ? oneLine(p.task, p.answer) : `not sure (its guess: ${oneLine(p.task, p.answer)})`;
    const actual = run ? actualAnswer(p.task, run) : undefined;
    const verdict = actual === undefined ? '' : !p.sure ? '' : answersMatch(p.task, p.answer, actual) ? '  ✓' : '  ✗';
    return [LABEL[p.task] ?? p.task, predicted, conf, actual === undefined ? '' : `${oneLine(p.task, actual)}${verdict}`];
  });
  const head = ['', 'predicted (nothing run)', 'confidence', run ? `actual (ran with ${run.python})` : ''];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd());
}

export const traceVerb: Verb = {
  description: 'Predict what a Python file prints and how many lines it executes (trace tasks in the manifest); --run also runs it to compare.',
  usage: '--model DIR --file F [--task T ...] [--run] [--python P] [--min-confidence X] [--json] [--threads N]',
  async run(argv) {
    const a = parse(argv, { model: { type: 'string' }, file: { type: 'string' }, task: { type: 'string', multiple: true },
      json: { type: 'boolean' }, threads: { type: 'string' }, run: { type: 'boolean' }, python: { type: 'string' }, 'min-confidence': { type: 'string' } });
    const file = required(a.file, '--file');
    // As the hover asks the model: no comment or blank lines, no trailing newline (the training programs have
    // none of these, and the model notices).
    const source = readText(file);
    const program = programForModel(source);
    const minConfidence = probabilityOpt(a['min-confidence'], '--min-confidence', DEFAULT_MIN_CONFIDENCE);
    const modelDir = required(a.model, '--model');
    const engine = await loadEngine(modelDir, intOpt(a.threads, '--threads', 1));
    try {
      const tasks = (a.task as string[] | undefined) ?? engine.tasks().filter((t) => t === 'output' || t === 'line_count');
      for (const t of tasks) if (!engine.tasks().includes(t)) throw new CliError(`unknown task '${t}' (this model has: ${engine.tasks().join(', ')})`);
      const { calibration, note } = readCalibration(modelDir, engine.manifest.files['model.onnx']?.sha256);
      const t0 = performance.now();
      const out: Record<string, unknown> = {};
      const details: Record<string, unknown> = {};
      const judged: JudgedPrediction[] = [];
      for (const t of tasks) {
        const r = await engine.trace(t, program);
        const j = judge({ task: t, answer: r.answer, probability: r.probability, ms: r.ms, stopReason: r.stopReason }, calibration, minConfidence);
        judged.push(j);
        out[t] = traceValue(t, r.answer);
        details[t] = { answer: r.answer, probability: r.probability, confidence: j.confidence, calibrated: j.calibrated, sure: j.sure,
          stop_reason: r.stopReason, ms: Math.round(r.ms * 10) / 10 };
      }
      out.ms = Math.round((performance.now() - t0) * 10) / 10;
      const run = a.run
        ? await runSnippet(source, { pythonPath: (a.python as string | undefined) ?? 'python3', tracerPath: tracerPath(), timeoutSeconds: 10 })
        : undefined;
      if (run && !run.ok) throw new CliError(`running ${file} failed: ${run.error ?? 'unknown error'}`);
      if (a.json) {
        const actual = run ? { output: run.output, line_count: run.lineCount, error: run.error } : undefined;
        printJson({ ...out, details, ...(actual ? { actual } : {}) });
      } else {
        process.stdout.write(`${traceTable(judged, run).join('\n')}\n`);
        if (run?.error) process.stdout.write(`(the program raised ${run.error})\n`);
        process.stderr.write(`[${out.ms} ms; ${note}; "not sure" below ${Math.round(minConfidence * 100)}%]\n`);
      }
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
