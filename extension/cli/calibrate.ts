// `tinyfim calibrate`: fits the hover's confidence calibration on held-out tinypy programs and reports how well
// it holds on other held-out programs. Each file's first N rows fit the curve, the next N test it, so the
// reliability table printed is for programs the fit never saw. Writes <model>/calibration.json.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  applyCurve, CALIBRATION_FILE, CALIBRATION_FORMAT, calibrationError, DEFAULT_MIN_CONFIDENCE, fitCurve, reliability, wellFormed,
  type Calibration, type ReliabilityRow, type Sample,
} from '../hover/calibration';
import { CliError, intOpt, loadEngine, parse, printJson, probabilityOpt, required, type Verb } from './args';
import { readRows } from './bench';
import { traceValue } from './trace';

const TASKS = ['output', 'line_count'];

/** The tinypy_*.jsonl files of a folder, or the files given. */
function dataFiles(inputs: string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new CliError(`${input} does not exist`);
    if (statSync(input).isDirectory()) {
      const found = readdirSync(input).filter((f) => /^tinypy_.*\.jsonl$/.test(f)).sort().map((f) => path.join(input, f));
      if (found.length === 0) throw new CliError(`${input} has no tinypy_*.jsonl files (the dataset build writes them to <dataset>/eval/)`);
      files.push(...found);
    } else {
      files.push(input);
    }
  }
  return files;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function table(rows: ReliabilityRow[]): string[] {
  const out = ['| confidence | programs | mean confidence | right |', '|---|---|---|---|'];
  for (const r of rows) out.push(`| ${Math.round(r.lo * 100)}–${Math.round(r.hi * 100)}% | ${r.count} | ${pct(r.confidence)} | ${pct(r.accuracy)} |`);
  return out;
}

/** Of the test samples, how many are shown at `threshold` and how often those and the hidden ones are right. */
function coverage(samples: Sample[], threshold: number) {
  const shown = samples.filter((s) => s.p >= threshold);
  const hidden = samples.filter((s) => s.p < threshold);
  const rate = (xs: Sample[]) => (xs.length ? xs.filter((s) => s.correct).length / xs.length : 0);
  return { shown: shown.length, total: samples.length, shownRight: rate(shown), hiddenRight: rate(hidden), allRight: rate(samples) };
}

export const calibrateVerb: Verb = {
  description: 'Fit the hover\'s confidence calibration on held-out tinypy programs and print its reliability table (writes <model>/calibration.json).',
  usage: `--model DIR --data DIR|FILE [--data ...] [--per-file N] [--bins N] [--min-confidence P (the hover's, ${DEFAULT_MIN_CONFIDENCE})] [--out FILE] [--json] [--threads N]`,
  async run(argv) {
    const a = parse(argv, { model: { type: 'string' }, data: { type: 'string', multiple: true }, 'per-file': { type: 'string' },
      bins: { type: 'string' }, 'min-confidence': { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' } });
    const modelDir = required(a.model, '--model');
    const inputs = (a.data as string[] | undefined) ?? [];
    if (inputs.length === 0) throw new CliError('--data is required (a folder with tinypy_*.jsonl, e.g. build/pipeline-default/dataset/eval)');
    const perFile = intOpt(a['per-file'], '--per-file', 250);
    const bins = intOpt(a.bins, '--bins', 20);
    const threshold = probabilityOpt(a['min-confidence'], '--min-confidence', DEFAULT_MIN_CONFIDENCE);
    const files = dataFiles(inputs);
    const engine = await loadEngine(modelDir, intOpt(a.threads, '--threads', 1));
    try {
      const tasks = TASKS.filter((t) => engine.tasks().includes(t));
      if (tasks.length === 0) throw new CliError(`the model has no trace tasks (it has: ${engine.tasks().join(', ') || 'none'})`);
      const fit: Record<string, Sample[]> = Object.fromEntries(tasks.map((t) => [t, []]));
      const test: Record<string, Sample[]> = Object.fromEntries(tasks.map((t) => [t, []]));
      const t0 = performance.now();
      let programs = 0;
      for (const file of files) {
        const rows = readRows(file, 2 * perFile).filter((r): r is { code: string; output: string; line_count: number } => 'code' in r);
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i];
          for (const task of tasks) {
            const r = await engine.trace(task, row.code);
            const correct = task === 'output' ? r.answer === row.output : traceValue(task, r.answer) === row.line_count;
            // What the hover does with malformed answers (never shown) is what the curve must describe.
            const p = wellFormed(task, r.answer) ? r.probability : 0;
            (i < perFile ? fit : test)[task].push({ p, correct });
          }
          programs++;
        }
        process.stderr.write(`  ${path.basename(file)}: ${rows.length} programs (${Math.round((performance.now() - t0) / 1000)} s)\n`);
      }
      const curves = Object.fromEntries(tasks.map((t) => [t, fitCurve(fit[t], bins)]));
      const sha = engine.manifest.files['model.onnx']?.sha256 ?? '';
      const calibration: Calibration = {
        format: CALIBRATION_FORMAT,
        model: { name: engine.manifest.name, sha256: sha },
        data: { source: files.map((f) => path.relative(process.cwd(), f)).join(', '), fit: fit[tasks[0]].length, test: test[tasks[0]].length },
        tasks: curves,
      };
      const out = (a.out as string | undefined) ?? path.join(modelDir, CALIBRATION_FILE);
      writeFileSync(out, JSON.stringify(calibration, null, 1) + '\n');

      const report = tasks.map((t) => {
        const raw = test[t];
        const calibrated = raw.map((s) => ({ ...s, p: applyCurve(curves[t], s.p) }));
        return {
          task: t, raw: reliability(raw), calibrated: reliability(calibrated),
          errorRaw: calibrationError(reliability(raw)), errorCalibrated: calibrationError(reliability(calibrated)),
          atThreshold: coverage(calibrated, threshold), curve: curves[t],
        };
      });
      const seconds = (performance.now() - t0) / 1000;
      if (a.json) {
        printJson({ model: engine.manifest.name, out, programs, seconds: Math.round(seconds), threshold, report });
        return 0;
      }
      const lines = [`Model \`${engine.manifest.name}\` (model.onnx ${sha.slice(0, 12)}), ${programs} programs from ${files.length} files `
        + `(${calibration.data.fit} fit, ${calibration.data.test} test), ${Math.round(seconds)} s. Written: ${out}`, ''];
      for (const r of report) {
        const c = r.atThreshold;
        lines.push(`### ${r.task === 'output' ? 'Printed output' : 'Executed-line count'} (test programs)`, '',
          `Expected calibration error: ${pct(r.errorRaw)} with the model's own probability, ${pct(r.errorCalibrated)} calibrated.`, '',
          'Model\'s own probability:', '', ...table(r.raw), '', 'Calibrated (what the hover shows):', '', ...table(r.calibrated), '',
          `At the threshold ${Math.round(threshold * 100)}%: ${c.shown} of ${c.total} predictions shown (${pct(c.shown / Math.max(1, c.total))}), `
          + `${pct(c.shownRight)} of them right; the ${c.total - c.shown} hidden ones ("not sure") were right ${pct(c.hiddenRight)} of the time `
          + `(all: ${pct(c.allRight)}).`, '');
      }
      process.stdout.write(lines.join('\n'));
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
