// The confidence gate's curve on held-out lines: for each threshold on a suggestion's confidence (the probability of
// its least likely token, extension/completion/completer.ts confidenceOf), the share of requests that show
// something and the exact match / edit similarity of what is shown. Runs `tinyfim bench`'s own loop (the editor's
// prompting, healing, decoding and post-processing), prints a Markdown table, writes an SVG plot. Run:
//   npx tsc -p tsconfig.json && node out/bench/gate.js --model models/default \
//     --data build/pipeline-default/dataset/eval/fim_lines.jsonl --svg docs/confidence-gate.svg
// or, from the predictions a bench run wrote (`tinyfim bench --predictions`, bench/model_report.sh):
//   node out/bench/gate.js --predictions build/model-report/fim_lines.predictions.jsonl --svg docs/confidence-gate.svg
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readText } from '../extension/cli/args';
import { gateReport, readRows, runBench } from '../extension/cli/bench';
import { DEFAULT_MIN_CONFIDENCE } from '../extension/completion/settings';
import { Engine } from '../extension/engine';
import { editSimilarity, exactMatch, mean } from '../extension/cli/metrics';
import { runMain } from './main';

export const THRESHOLDS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6];

/** `near`: the share of the shown that are right or nearly right (edit similarity >= 0.8). */
export interface CurvePoint { threshold: number; shown: number; em: number; es: number; near: number }

/** The curve from bench predictions ({completion, reference, confidence}) for each threshold. */
export function gateCurve(preds: { completion: string; reference: string; confidence: number | null }[], thresholds = THRESHOLDS): CurvePoint[] {
  const hyps = preds.map((p) => p.completion);
  const refs = preds.map((p) => p.reference);
  const conf = preds.map((p) => p.confidence ?? 0);
  return thresholds.map((t) => {
    const g = gateReport(hyps, refs, conf, t);
    return { threshold: t, shown: g.shown_rate, em: g.exact_match_shown, es: g.edit_similarity_shown, near: g.near_right_shown };
  });
}

/** Exact match / edit similarity of the `share` of requests with the highest `score` among non-empty ones: how well
 *  a score ranks suggestions (the gate's score against an alternative at the same share shown). */
export function atShare(preds: Prediction[], score: (p: Prediction) => number, share: number): { em: number; es: number } {
  const ranked = preds.filter((p) => p.completion.trim() !== '').sort((a, b) => score(b) - score(a));
  const top = ranked.slice(0, Math.round(share * preds.length));
  return {
    em: mean(top.map((p) => exactMatch(p.completion, p.reference))),
    es: mean(top.map((p) => editSimilarity(p.completion, p.reference))),
  };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');
const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');

export function markdownTable(curve: CurvePoint[], chosen: number): string {
  const lines = ['| min confidence | shown | exact match of shown | edit similarity of shown | right or nearly right (ES ≥ 0.8) of shown | exact per 100 requests |',
    '|---|---|---|---|---|---|'];
  for (const p of curve) {
    const mark = p.threshold === chosen ? ' **(default)**' : '';
    const exactPer100 = Number.isFinite(p.em) ? (100 * p.shown * p.em).toFixed(1) : '0.0';
    lines.push(`| ${p.threshold.toFixed(2)}${mark} | ${pct(p.shown)} | ${pct(p.em)} | ${num(p.es)} | ${pct(p.near)} | ${exactPer100} |`);
  }
  return lines.join('\n');
}

/** A small dependency-free line plot: threshold on x, shown share / exact match / edit similarity on y (0..1). */
export function svgPlot(curve: CurvePoint[], chosen: number, title: string): string {
  const W = 720, H = 400, L = 56, R = 240, T = 40, B = 48;
  const xMax = THRESHOLDS[THRESHOLDS.length - 1];
  const x = (t: number): number => L + (t / xMax) * (W - L - R);
  const y = (v: number): number => T + (1 - v) * (H - T - B);
  const series: [string, string, (p: CurvePoint) => number][] = [
    ['shown (share of requests)', '#1f77b4', (p) => p.shown],
    ['edit similarity of shown', '#2ca02c', (p) => p.es],
    ['exact match of shown', '#d62728', (p) => p.em],
    ['right or nearly right (ES ≥ 0.8)', '#ff7f0e', (p) => p.near],
  ];
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${L}" y="22" font-size="14">${title}</text>`];
  for (let v = 0; v <= 1.0001; v += 0.2) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  for (let t = 0; t <= xMax + 1e-9; t += 0.1) out.push(`<text x="${x(t)}" y="${H - B + 18}" text-anchor="middle">${t.toFixed(1)}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">minimum confidence (probability of the least likely token)</text>`);
  out.push(`<line x1="${x(chosen)}" x2="${x(chosen)}" y1="${T}" y2="${H - B}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${x(chosen) + 4}" y="${T + 12}" fill="#555">default ${chosen}</text>`);
  series.forEach(([name, color, f], i) => {
    const pts = curve.filter((p) => Number.isFinite(f(p))).map((p) => `${x(p.threshold).toFixed(1)},${y(f(p)).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const pt of pts) out.push(`<circle cx="${pt.split(',')[0]}" cy="${pt.split(',')[1]}" r="3" fill="${color}"/>`);
    out.push(`<line x1="${W - R + 12}" x2="${W - R + 32}" y1="${T + 20 + 20 * i}" y2="${T + 20 + 20 * i}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - R + 36}" y="${T + 24 + 20 * i}">${name}</text>`);
  });
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`, `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`, '</svg>');
  return out.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, svg: { type: 'string' }, predictions: { type: 'string' },
    threads: { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' },
  } });
  const usage = 'usage: node out/bench/gate.js (--model DIR --data FIM.jsonl [--limit N] [--threads N] | --predictions BENCH_PREDICTIONS.jsonl) [--svg OUT.svg]\n'
    + 'The confidence gate on held-out FIM rows: share shown and exact match / edit similarity of the shown, per threshold.';
  if (values.help) { console.log(usage); return 0; }
  if (!values.predictions && (!values.model || !values.data)) { console.error(usage); return 2; }
  const { preds, model, source } = values.predictions ? readPredictions(values.predictions) : await predict(values.model!, values.data!, values);
  const curve = gateCurve(preds);
  const about = `${model ? `model ${model}, ` : ''}${preds.length} held-out lines`;
  console.log(`${about} (${source})\n`);
  console.log(markdownTable(curve, DEFAULT_MIN_CONFIDENCE));
  const share = curve.find((p) => p.threshold === DEFAULT_MIN_CONFIDENCE)?.shown;
  if (share !== undefined && preds.every((p) => p.mean_logprob !== undefined)) {
    const byMin = atShare(preds, (p) => p.min_logprob ?? -Infinity, share);
    const byMean = atShare(preds, (p) => p.mean_logprob ?? -Infinity, share);
    console.log(`\nAt the default's share shown (${pct(share)}), ranked by the least likely token's log-probability: exact match ${pct(byMin.em)}, `
      + `edit similarity ${num(byMin.es)}; by the mean log-probability instead: ${pct(byMean.em)}, ${num(byMean.es)}.`);
  }
  if (values.svg) {
    writeFileSync(values.svg, svgPlot(curve, DEFAULT_MIN_CONFIDENCE, `Confidence gate, ${about}`));
    console.log(`\nplot: ${values.svg}`);
  }
  return 0;
}

type Prediction = { completion: string; reference: string; confidence: number | null; mean_logprob?: number | null; min_logprob?: number | null };

/** Predictions of a `tinyfim bench --predictions` run (FIM rows). */
function readPredictions(file: string): { preds: Prediction[]; model: string; source: string } {
  const preds = readText(file).split('\n').flatMap((l, i) => {
    if (!l.trim()) return [];
    try {
      return [JSON.parse(l) as Prediction];
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
  });
  if (!preds.every((p) => typeof p.completion === 'string' && typeof p.reference === 'string' && 'confidence' in p)) {
    throw new Error(`${file}: expected FIM predictions with "completion", "reference" and "confidence" (tinyfim bench --predictions)`);
  }
  return { preds, model: '', source: path.basename(file) };
}

/** Runs `tinyfim bench`'s loop on the rows. */
async function predict(modelDir: string, data: string, o: { limit?: string; threads?: string }): Promise<{ preds: Prediction[]; model: string; source: string }> {
  const rows = readRows(data, o.limit ? Number(o.limit) : Number.MAX_SAFE_INTEGER);
  const engine = await Engine.load(path.resolve(modelDir), { threads: Number(o.threads ?? 1) });
  try {
    const preds: Record<string, unknown>[] = [];
    await runBench(engine, rows, {}, preds);
    return { preds: preds as Prediction[], model: engine.manifest.name, source: path.basename(data) };
  } finally {
    await engine.dispose();
  }
}

if (require.main === module) runMain(main);
