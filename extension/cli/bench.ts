// `tinyfim bench`: quality and latency over a JSONL file, through the editor's own prompting, decoding and
// post-processing. FIM rows: {"prefix","suffix","middle"}; trace rows: {"code","output","line_count"}.
import { writeFileSync } from 'node:fs';
import type { Engine } from '../engine';
import {
  chrf, corpusBleu, corpusChrf, editSimilarity, exactMatch, mean, percentile, sentenceBleu, wordErrorRate, wordSetIou,
} from '../engine/metrics';
import type { Verb } from './main';
import { CliError } from './main';
import { intOpt, loadEngine, modeOpt, parse, printJson, readText, required } from './args';
import { applyPostprocess, editorContext, editorIsFinal, type LinesOption } from './postprocessHook';
import { traceValue } from './trace';

interface FimRow { prefix: string; suffix: string; middle: string }
interface TraceRow { code: string; output: string; line_count: number }

export function readRows(file: string, limit: number): (FimRow | TraceRow)[] {
  const text = readText(file);
  const rows: (FimRow | TraceRow)[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim() || rows.length >= limit) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      throw new CliError(`${file}:${i + 1}: not valid JSON`);
    }
    const isFim = typeof r.prefix === 'string' && typeof r.suffix === 'string' && typeof r.middle === 'string';
    const isTrace = typeof r.code === 'string' && typeof r.output === 'string' && typeof r.line_count === 'number';
    if (!isFim && !isTrace) throw new CliError(`${file}:${i + 1}: expected {"prefix","suffix","middle"} or {"code","output","line_count"}`);
    rows.push(r as unknown as FimRow | TraceRow);
  });
  return rows;
}

/** Text metrics over (hypothesis, reference) pairs: means of per-row scores, corpus chrF / BLEU (sacreBLEU). */
export function textReport(hyps: string[], refs: string[]): Record<string, number> {
  return {
    exact_match: mean(hyps.map((h, i) => exactMatch(h, refs[i]))),
    edit_similarity: mean(hyps.map((h, i) => editSimilarity(h, refs[i]))),
    chrf: corpusChrf(hyps, refs),
    chrf_sentence_mean: mean(hyps.map((h, i) => chrf(h, refs[i]))),
    bleu: corpusBleu(hyps, refs),
    bleu_sentence_mean: mean(hyps.map((h, i) => sentenceBleu(h, refs[i]))),
    wer: mean(hyps.map((h, i) => wordErrorRate(h, refs[i]))),
    word_iou: mean(hyps.map((h, i) => wordSetIou(h, refs[i]))),
  };
}

export function latencyReport(ms: number[]): Record<string, number> {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { p50: r(percentile(ms, 50)), p95: r(percentile(ms, 95)), max: r(Math.max(...ms)), mean: r(mean(ms)) };
}

export async function runBench(engine: Engine, rows: (FimRow | TraceRow)[], opts: { mode?: 'psm' | 'spm'; lines: string; maxNewTokens: number; budgetMs: number; },
  predictions?: Record<string, unknown>[]): Promise<Record<string, unknown>> {
  const fim = rows.filter((r): r is FimRow => 'middle' in r);
  const trace = rows.filter((r): r is TraceRow => 'code' in r);
  const report: Record<string, unknown> = { count: rows.length };
  if (fim.length) {
    const hyps: string[] = [];
    const ms: number[] = [];
    const stops: Record<string, number> = {};
    for (const r of fim) {
      const t0 = performance.now();
      const ctx = editorContext(r.prefix, r.suffix, opts.lines as LinesOption);
      const res = await engine.complete({ prefix: ctx.prefix, suffix: ctx.suffix, singleLine: ctx.mode === 'single', mode: opts.mode, maxNewTokens: opts.maxNewTokens, deadlineMs: opts.budgetMs, isFinal: editorIsFinal(ctx) });
      hyps.push(applyPostprocess(ctx, res.text));
      ms.push(performance.now() - t0);
      predictions?.push({ completion: hyps[hyps.length - 1], reference: r.middle, stop: res.stopReason });
      stops[res.stopReason] = (stops[res.stopReason] ?? 0) + 1;
    }
    report.fim = { count: fim.length, ...textReport(hyps, fim.map((r) => r.middle)), empty_rate: mean(hyps.map((h) => (h.trim() ? 0 : 1))),
      latency_ms: latencyReport(ms), stop_reasons: stops };
  }
  if (trace.length) {
    const outs: string[] = [];
    const countOk: number[] = [];
    const ms: number[] = [];
    const tasks = engine.tasks();
    for (const r of trace) {
      const t0 = performance.now();
      const out = tasks.includes('output') ? (await engine.trace('output', r.code)).answer : '';
      const lc = tasks.includes('line_count') ? traceValue('line_count', (await engine.trace('line_count', r.code)).answer) : null;
      ms.push(performance.now() - t0);
      outs.push(out);
      countOk.push(lc === r.line_count ? 1 : 0);
      predictions?.push({ output: out, reference_output: r.output, line_count: lc, reference_line_count: r.line_count });
    }
    const refs = trace.map((r) => r.output);
    report.trace = {
      count: trace.length,
      output_exact_match: mean(outs.map((o, i) => (o === refs[i] ? 1 : 0))),
      line_count_exact_match: mean(countOk),
      output_text: textReport(outs, refs),
      latency_ms: latencyReport(ms),
    };
  }
  return report;
}

export const benchVerb: Verb = {
  description: 'Score completions (exact match, edit similarity, chrF, BLEU, WER, word IoU) or trace predictions, with latency, on a JSONL file.',
  usage: '--model DIR --data FILE.jsonl [--limit N] [--json] [--mode psm|spm] [--lines auto|single|multi] [--max-new-tokens N] [--budget-ms N] [--threads N] [--predictions OUT.jsonl]',
  async run(argv) {
    const a = parse(argv, { model: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' },
      mode: { type: 'string' }, lines: { type: 'string' }, 'max-new-tokens': { type: 'string' }, 'budget-ms': { type: 'string' }, threads: { type: 'string' },
      predictions: { type: 'string' } });
    const rows = readRows(required(a.data, '--data'), intOpt(a.limit, '--limit', Number.MAX_SAFE_INTEGER));
    if (rows.length === 0) throw new CliError('the data file has no rows');
    const lines = (a.lines as string | undefined) ?? 'auto';
    if (!['auto', 'single', 'multi'].includes(lines)) throw new CliError(`--lines must be auto, single or multi, got '${lines}'`);
    const engine = await loadEngine(required(a.model, '--model'), intOpt(a.threads, '--threads', 1));
    try {
      const predictions: Record<string, unknown>[] | undefined = a.predictions ? [] : undefined;
      const report = await runBench(engine, rows, { mode: modeOpt(a.mode), lines, maxNewTokens: intOpt(a['max-new-tokens'], '--max-new-tokens', 48),
        budgetMs: intOpt(a['budget-ms'], '--budget-ms', 10_000) }, predictions);
      if (predictions) writeFileSync(a.predictions as string, predictions.map((p) => JSON.stringify(p) + '\n').join(''));
      report.model = engine.manifest.name;
      if (a.json) printJson(report);
      else process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
