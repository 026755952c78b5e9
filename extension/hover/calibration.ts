// Calibrated confidence for trace predictions. The model's own number is the probability of its greedy answer,
// which says little about how often such answers are right (92% on wrong line counts happens). A calibration
// file, fitted on held-out tinypy programs by `tinyfim calibrate`, maps that number to the observed share of
// right answers (binned isotonic regression), per task. The hover shows the mapped number and says "not sure"
// below a threshold. Pure: no vscode, no file system.
import type { Prediction } from './card';

export const CALIBRATION_FILE = 'calibration.json';
export const CALIBRATION_FORMAT = 'tinyfim-calibration-v1';
/** Default of tinyfim.hover.minConfidence: below this a prediction is "not sure" and its answer is hidden. */
export const DEFAULT_MIN_CONFIDENCE = 0.5;

/** (raw probability, share right) points with increasing raw probability; linear in between, flat outside. */
export type CalibrationCurve = Array<[number, number]>;

export interface Calibration {
  format: typeof CALIBRATION_FORMAT;
  /** The model it was fitted for: sha256 of its model.onnx (a retrained model needs its own fit). */
  model: { name: string; sha256: string };
  /** Where the programs came from and how many were used to fit and to test. */
  data: { source: string; fit: number; test: number };
  tasks: Record<string, CalibrationCurve>;
}

export interface Sample { p: number; correct: boolean }

/**
 * Fits a non-decreasing curve: samples sorted by p, cut into `bins` bins of equal count, then adjacent bins whose
 * share right goes down are pooled (pool-adjacent-violators) until it never does. Each pooled bin gives one
 * point: its mean p and its share right.
 */
export function fitCurve(samples: Sample[], bins = 20): CalibrationCurve {
  if (samples.length === 0) return [];
  const sorted = [...samples].sort((a, b) => a.p - b.p);
  const n = Math.max(1, Math.min(bins, sorted.length));
  interface Block { n: number; sumP: number; right: number }
  const blocks: Block[] = [];
  for (let b = 0; b < n; b++) {
    const part = sorted.slice(Math.floor((b * sorted.length) / n), Math.floor(((b + 1) * sorted.length) / n));
    if (part.length === 0) continue;
    const block = { n: part.length, sumP: part.reduce((s, x) => s + x.p, 0), right: part.filter((x) => x.correct).length };
    blocks.push(block);
    // Pool while the previous block is right more often than this one.
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1];
      const prev = blocks[blocks.length - 2];
      if (prev.right / prev.n <= last.right / last.n) break;
      blocks.splice(blocks.length - 2, 2, { n: prev.n + last.n, sumP: prev.sumP + last.sumP, right: prev.right + last.right });
    }
  }
  return blocks.map((b) => [b.sumP / b.n, b.right / b.n]);
}

/** The calibrated confidence of raw probability `p` on `curve`. */
export function applyCurve(curve: CalibrationCurve, p: number): number {
  if (curve.length === 0) return p;
  if (p <= curve[0][0]) return curve[0][1];
  for (let i = 1; i < curve.length; i++) {
    const [x1, y1] = curve[i];
    if (p <= x1) {
      const [x0, y0] = curve[i - 1];
      return x1 === x0 ? y1 : y0 + ((p - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return curve[curve.length - 1][1];
}

export interface ReliabilityRow { lo: number; hi: number; count: number; confidence: number; accuracy: number }

/** Reliability table: samples grouped by confidence into [lo, hi) bins (the last bin includes 1). */
export function reliability(samples: Sample[], edges = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]): ReliabilityRow[] {
  const rows: ReliabilityRow[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const lo = edges[i];
    const hi = edges[i + 1];
    const last = i + 2 === edges.length;
    const inBin = samples.filter((s) => s.p >= lo && (s.p < hi || (last && s.p <= hi)));
    if (inBin.length === 0) continue;
    rows.push({
      lo, hi, count: inBin.length,
      confidence: inBin.reduce((s, x) => s + x.p, 0) / inBin.length,
      accuracy: inBin.filter((x) => x.correct).length / inBin.length,
    });
  }
  return rows;
}

/** Expected calibration error: the count-weighted mean gap between confidence and accuracy over the rows. */
export function calibrationError(rows: ReliabilityRow[]): number {
  const total = rows.reduce((s, r) => s + r.count, 0);
  return total === 0 ? 0 : rows.reduce((s, r) => s + (r.count / total) * Math.abs(r.confidence - r.accuracy), 0);
}

/** A calibration file's content, if it is one and fits the model (sha256 of model.onnx); else why not. */
export function parseCalibration(raw: unknown, modelSha256: string | undefined): { calibration?: Calibration; problem?: string } {
  if (typeof raw !== 'object' || raw === null) return { problem: 'not a JSON object' };
  const c = raw as Partial<Calibration>;
  if (c.format !== CALIBRATION_FORMAT) return { problem: `format is not ${CALIBRATION_FORMAT}` };
  if (!c.model || typeof c.model.sha256 !== 'string') return { problem: 'no model.sha256' };
  if (modelSha256 && c.model.sha256 !== modelSha256) return { problem: 'it was fitted for another model.onnx (run `tinyfim calibrate` again)' };
  const tasks = c.tasks ?? {};
  for (const [task, curve] of Object.entries(tasks)) {
    const ok = Array.isArray(curve) && curve.every((pt) => Array.isArray(pt) && pt.length === 2 && pt.every((v) => typeof v === 'number' && v >= 0 && v <= 1));
    if (!ok) return { problem: `task ${task}: points must be [probability, share right] pairs in 0..1` };
  }
  return { calibration: c as Calibration };
}

/** A prediction as the hover shows it: its confidence, whether that is calibrated, and whether it is shown. */
export interface JudgedPrediction extends Prediction {
  confidence: number;
  calibrated: boolean;
  /** false: "not sure", the answer is hidden. */
  sure: boolean;
  /** Why it is not sure, in a few words. */
  doubt?: string;
}

/** Whether an answer is usable at all for its task (a line count must be a number). */
export function wellFormed(task: string, answer: string): boolean {
  return task !== 'line_count' || /^\s*\d+\s*$/.test(answer);
}

export function judge(p: Prediction, calibration: Calibration | undefined, minConfidence: number): JudgedPrediction {
  const curve = calibration?.tasks[p.task];
  const confidence = curve ? applyCurve(curve, p.probability) : p.probability;
  const calibrated = curve !== undefined;
  if (!wellFormed(p.task, p.answer)) return { ...p, confidence: 0, calibrated, sure: false, doubt: 'not a number' };
  // An answer cut by the clock or the token limit is unfinished, whatever its probability.
  if (p.stopReason === 'deadline' || p.stopReason === 'max_tokens') return { ...p, confidence, calibrated, sure: false, doubt: 'cut' };
  if (confidence < minConfidence) return { ...p, confidence, calibrated, sure: false, doubt: 'below the threshold' };
  return { ...p, confidence, calibrated, sure: true };
}
