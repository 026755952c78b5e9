// `tinyfim bench`: quality and latency over a JSONL file, through the editor's own prompting, decoding and
// post-processing. FIM rows: {"prefix","suffix","middle"}; trace rows: {"code","output","line_count"}.
import { writeFileSync } from 'node:fs';
import { DEFAULT_MIN_CONFIDENCE, confidenceOf } from '../completion/completer';
import type { CompletionResult, Engine } from '../engine';
import {
  chrf, corpusBleu, corpusChrf, editSimilarity, exactMatch, mean, percentile, sentenceBleu, wordErrorRate, wordSetIou,
} from '../engine/metrics';
import type { Verb } from './main';
import { CliError } from './main';
import { intOpt, loadEngine, modeOpt, parse, printJson, readText, required } from './args';
import { applyPostprocess, editorContext, editorIsFinal, type LinesOption } from './postprocessHook';
import { traceValue } from './trace';

export interface FimRow { prefix: string; suffix: string; middle: string }
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

/** The confidence gate on (hypothesis, reference, confidence) rows: the share of requests that show something
 *  (non-empty and confidence >= threshold), the exact match / edit similarity of what is shown, and the share of the
 *  shown that is right or nearly right (edit similarity >= 0.8). */
export function gateReport(hyps: string[], refs: string[], conf: number[], threshold: number): Record<string, number> {
  const shown = hyps.map((_, i) => i).filter((i) => hyps[i].trim() !== '' && conf[i] >= threshold);
  return {
    min_confidence: threshold,
    shown_rate: hyps.length ? shown.length / hyps.length : NaN,
    exact_match_shown: mean(shown.map((i) => exactMatch(hyps[i], refs[i]))),
    edit_similarity_shown: mean(shown.map((i) => editSimilarity(hyps[i], refs[i]))),
    near_right_shown: mean(shown.map((i) => (editSimilarity(hyps[i], refs[i]) >= 0.8 ? 1 : 0))),
  };
}

export function latencyReport(ms: number[]): Record<string, number> {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { p50: r(percentile(ms, 50)), p95: r(percentile(ms, 95)), max: r(Math.max(...ms)), mean: r(mean(ms)) };
}

export interface FimOptions { mode?: 'psm' | 'spm'; lines: string; maxNewTokens: number; budgetMs: number; heal?: boolean; candidates?: number }

/** One FIM row the way the editor completes it: its context, the engine call, post-processing. With `candidates`,
 *  `all` holds the distinct non-empty post-processed answers, best first. */
export async function completeRow(engine: Engine, r: FimRow, opts: FimOptions): Promise<{ hyp: string; all: string[]; res: CompletionResult; ms: number }> {
  const t0 = performance.now();
  const ctx = editorContext(r.prefix, r.suffix, opts.lines as LinesOption);
  const res = await engine.complete({ prefix: ctx.prefix, suffix: ctx.suffix, singleLine: ctx.mode === 'single', mode: opts.mode,
    maxNewTokens: opts.maxNewTokens, deadlineMs: opts.budgetMs, isFinal: editorIsFinal(ctx), heal: opts.heal, candidates: opts.candidates });
  const ms = performance.now() - t0;
  const all = [...new Set((res.candidates ?? [res]).map((c) => applyPostprocess(ctx, c.text)).filter((t) => t.trim()))];
  return { hyp: res.candidates ? all[0] ?? '' : applyPostprocess(ctx, res.text), all, res, ms };
}

export async function runBench(engine: Engine, rows: (FimRow | TraceRow)[],
  opts: FimOptions & { minConfidence?: number },
  predictions?: Record<string, unknown>[]): Promise<Record<string, unknown>> {
  const fim = rows.filter((r): r is FimRow => 'middle' in r);
  const trace = rows.filter((r): r is TraceRow => 'code' in r);
  const report: Record<string, unknown> = { count: rows.length };
  if (fim.length) {
    const hyps: string[] = [];
    const conf: number[] = [];
    const ms: number[] = [];
    const stops: Record<string, number> = {};
    const round = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
    for (const r of fim) {
      const { hyp, res, ms: t } = await completeRow(engine, r, opts);
      hyps.push(hyp);
      conf.push(confidenceOf(res));
      ms.push(t);
      predictions?.push({ completion: hyps[hyps.length - 1], reference: r.middle, stop: res.stopReason,
        mean_logprob: round(res.meanLogProb), min_logprob: round(res.minLogProb), confidence: round(conf[conf.length - 1]), healed: res.healed });
      stops[res.stopReason] = (stops[res.stopReason] ?? 0) + 1;
    }
    const refs = fim.map((r) => r.middle);
    report.fim = { count: fim.length, ...textReport(hyps, refs), empty_rate: mean(hyps.map((h) => (h.trim() ? 0 : 1))),
      gate: gateReport(hyps, refs, conf, opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE), healing: opts.heal !== false,
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
  description: 'Score completions (exact match, edit similarity, chrF, BLEU, WER, word IoU; share shown under the confidence gate and '
    + 'the scores of those shown) or trace predictions, with latency, on a JSONL file. --no-heal turns token healing off.',
  usage: '--model DIR --data FILE.jsonl [--limit N] [--json] [--mode psm|spm] [--lines auto|single|multi] [--max-new-tokens N] [--budget-ms N] '
    + `[--threads N] [--predictions OUT.jsonl] [--no-heal] [--min-confidence P (default ${DEFAULT_MIN_CONFIDENCE})]`,
  async run(argv) {
    const a = parse(argv, { model: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' },
      mode: { type: 'string' }, lines: { type: 'string' }, 'max-new-tokens': { type: 'string' }, 'budget-ms': { type: 'string' }, threads: { type: 'string' },
      predictions: { type: 'string' }, 'no-heal': { type: 'boolean' }, 'min-confidence': { type: 'string' } });
    const minConfidence = a['min-confidence'] === undefined ? DEFAULT_MIN_CONFIDENCE : Number(a['min-confidence']);
    if (!(minConfidence >= 0 && minConfidence <= 1)) throw new CliError(`--min-confidence must be a number in [0, 1], got '${String(a['min-confidence'])}'`);
    const rows = readRows(required(a.data, '--data'), intOpt(a.limit, '--limit', Number.MAX_SAFE_INTEGER));
    if (rows.length === 0) throw new CliError('the data file has no rows');
    const lines = (a.lines as string | undefined) ?? 'auto';
    if (!['auto', 'single', 'multi'].includes(lines)) throw new CliError(`--lines must be auto, single or multi, got '${lines}'`);
    const engine = await loadEngine(required(a.model, '--model'), intOpt(a.threads, '--threads', 1));
    try {
      const predictions: Record<string, unknown>[] | undefined = a.predictions ? [] : undefined;
      const report = await runBench(engine, rows, { mode: modeOpt(a.mode), lines, maxNewTokens: intOpt(a['max-new-tokens'], '--max-new-tokens', 48),
        budgetMs: intOpt(a['budget-ms'], '--budget-ms', 10_000), heal: !a['no-heal'], minConfidence }, predictions);
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
