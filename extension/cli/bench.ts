// `tinyfim bench`: quality and latency over a JSONL file, through the editor's own completion path (editor.ts).
// FIM rows: {"prefix","suffix","middle"}; trace rows: {"code","output","line_count"}.
import { writeFileSync } from 'node:fs';
import { confidenceOf, type CompletionEngine } from '../completion/completer';
import type { TriggerKind } from '../completion/debounce';
import { DEFAULT_SETTINGS } from '../completion/settings';
import type { Engine } from '../engine';
import {
  chrf, corpusBleu, corpusChrf, editSimilarity, exactMatch, mean, percentile, sentenceBleu, wordErrorRate, wordSetIou,
} from './metrics';
import {
  CliError, COMPLETION_OPTIONS, COMPLETION_USAGE, engineFrom, intOpt, parse, pathOptionsFrom, probabilityOpt, readText, required,
  triggerFrom, type Verb,
} from './args';
import { EditorPath, type PathOptions } from './editor';
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

/** Completes each FIM row (the document is prefix + suffix, the cursor between them) through the editor's path and
 *  scores it; trace rows go to the engine's trace tasks. `minConfidence` is the gate the report applies (the path
 *  itself shows everything, so that the report sees what the gate hides). */
export async function runBench(engine: CompletionEngine & Pick<Engine, 'tasks' | 'trace'>, rows: (FimRow | TraceRow)[],
  opts: { path?: PathOptions; trigger?: TriggerKind; minConfidence?: number },
  predictions?: Record<string, unknown>[]): Promise<Record<string, unknown>> {
  const fim = rows.filter((r): r is FimRow => 'middle' in r);
  const trace = rows.filter((r): r is TraceRow => 'code' in r);
  const report: Record<string, unknown> = { count: rows.length };
  if (fim.length) {
    const editor = new EditorPath(engine, { ...opts.path, settings: { ...opts.path?.settings, minConfidence: 0 } });
    const hyps: string[] = [];
    const conf: number[] = [];
    const ms: number[] = [];
    const stops: Record<string, number> = {};
    const skipped: Record<string, number> = {};
    const round = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
    for (const r of fim) {
      const { outcome: o, text, ms: t } = await editor.complete(r.prefix + r.suffix, r.prefix.length, opts.trigger ?? 'automatic');
      const res = o.answer;
      hyps.push(text);
      conf.push(res ? confidenceOf(res) : 0);
      ms.push(t);
      predictions?.push({ completion: text, reference: r.middle, stop: res?.stopReason ?? null, skipped: o.skipped ?? null,
        mean_logprob: round(res?.meanLogProb), min_logprob: round(res?.minLogProb), confidence: round(conf[conf.length - 1]), healed: res?.healed ?? '' });
      if (res) stops[res.stopReason] = (stops[res.stopReason] ?? 0) + 1;
      if (o.skipped) skipped[o.skipped] = (skipped[o.skipped] ?? 0) + 1;
    }
    const refs = fim.map((r) => r.middle);
    report.fim = { count: fim.length, ...textReport(hyps, refs), empty_rate: mean(hyps.map((h) => (h.trim() ? 0 : 1))),
      gate: gateReport(hyps, refs, conf, opts.minConfidence ?? DEFAULT_SETTINGS.minConfidence), healing: opts.path?.heal !== false,
      settings: { ...editor.settings, minConfidence: opts.minConfidence ?? DEFAULT_SETTINGS.minConfidence }, trigger: opts.trigger ?? 'automatic',
      latency_ms: latencyReport(ms), stop_reasons: stops, skipped };
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
  description: 'Score completions through the editor\'s path (exact match, edit similarity, chrF, BLEU, WER, word IoU; share shown under '
    + 'the confidence gate and the scores of those shown) or trace predictions, with latency, on a JSONL file. Each FIM row is an '
    + 'automatic request by default; --no-heal turns token healing off.',
  usage: `--data FILE.jsonl ${COMPLETION_USAGE} [--trigger automatic|invoke] [--limit N] [--predictions OUT.jsonl] `
    + `[--min-confidence P (${DEFAULT_SETTINGS.minConfidence})]`,
  async run(argv) {
    const a = parse(argv, { ...COMPLETION_OPTIONS, data: { type: 'string' }, limit: { type: 'string' }, predictions: { type: 'string' },
      'min-confidence': { type: 'string' } });
    const minConfidence = probabilityOpt(a['min-confidence'], '--min-confidence', DEFAULT_SETTINGS.minConfidence);
    const rows = readRows(required(a.data, '--data'), intOpt(a.limit, '--limit', Number.MAX_SAFE_INTEGER));
    if (rows.length === 0) throw new CliError('the data file has no rows');
    const path = pathOptionsFrom(a);
    const trigger = triggerFrom(a, 'automatic');
    const engine = await engineFrom(a);
    try {
      const predictions: Record<string, unknown>[] | undefined = a.predictions ? [] : undefined;
      const report = await runBench(engine, rows, { path, trigger, minConfidence }, predictions);
      if (predictions) writeFileSync(a.predictions as string, predictions.map((p) => JSON.stringify(p) + '\n').join(''));
      report.model = engine.manifest.name;
      process.stdout.write(a.json ? JSON.stringify(report) + '\n' : JSON.stringify(report, null, 2) + '\n');
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
