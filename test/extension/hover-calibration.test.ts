// Calibration of trace-prediction confidence (extension/hover/calibration.ts): the fitted curve, the mapping,
// the reliability table and which calibration files are accepted.
import * as assert from 'node:assert/strict';
import {
  applyCurve, calibrationError, fitCurve, judge, parseCalibration, reliability, type Sample,
} from '../../extension/hover/calibration';

/** Samples right with chance `rate(p)`, from a seeded generator (the same samples every run). */
function samples(ps: number[], rate: (p: number) => number, seed = 1): Sample[] {
  let x = seed;
  const random = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  return ps.map((p) => ({ p, correct: random() < rate(p) }));
}

/** `n` samples at `p` of which exactly `right` are right. */
const exact = (n: number, p: number, right: number): Sample[] => Array.from({ length: n }, (_, i) => ({ p, correct: i < right }));

describe('trace confidence calibration', () => {
  it('fits a non-decreasing curve that pools bins where the share right goes down', () => {
    // Overconfident model: p = 0.9 is right 30% of the time, p = 0.2 is right 60% of the time (pooled with it).
    const data = [...exact(100, 0.2, 60), ...exact(100, 0.9, 30), ...exact(100, 0.99, 90)];
    const curve = fitCurve(data, 3);
    for (let i = 1; i < curve.length; i++) {
      assert.ok(curve[i][0] >= curve[i - 1][0]);
      assert.ok(curve[i][1] >= curve[i - 1][1], `non-decreasing: ${JSON.stringify(curve)}`);
    }
    assert.equal(curve.length, 2);
    assert.ok(Math.abs(curve[0][0] - 0.55) < 1e-9 && Math.abs(curve[0][1] - 0.45) < 1e-9, JSON.stringify(curve));
    assert.ok(Math.abs(curve[1][0] - 0.99) < 1e-9 && curve[1][1] === 0.9, JSON.stringify(curve));
  });

  it('maps linearly between points and flat outside them', () => {
    const curve: Array<[number, number]> = [[0.2, 0.1], [0.6, 0.5], [0.9, 0.7]];
    assert.equal(applyCurve(curve, 0), 0.1);
    assert.equal(applyCurve(curve, 0.2), 0.1);
    assert.ok(Math.abs(applyCurve(curve, 0.4) - 0.3) < 1e-12);
    assert.ok(Math.abs(applyCurve(curve, 0.75) - 0.6) < 1e-12);
    assert.equal(applyCurve(curve, 1), 0.7);
    assert.equal(applyCurve([], 0.42), 0.42);
  });

  it('calibrating on one half brings the other half\'s confidence close to its accuracy', () => {
    // The true rate is p squared: raw probabilities overstate it everywhere but at 0 and 1.
    const ps = Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 2000) / 2000);
    const all = samples(ps, (p) => p * p);
    const fit = all.filter((_, i) => i % 2 === 0);
    const test = all.filter((_, i) => i % 2 === 1);
    const before = calibrationError(reliability(test));
    const curve = fitCurve(fit, 20);
    const after = calibrationError(reliability(test.map((s) => ({ ...s, p: applyCurve(curve, s.p) }))));
    assert.ok(before > 0.1, `raw error ${before}`);
    assert.ok(after < before / 3, `calibrated error ${after} vs raw ${before}`);
  });

  it('builds a reliability table with counts, mean confidence and accuracy per bin', () => {
    const rows = reliability([{ p: 0.05, correct: false }, { p: 0.15, correct: true }, { p: 0.95, correct: true }, { p: 1, correct: false }]);
    assert.deepEqual(rows.map((r) => [r.lo, r.hi, r.count, r.accuracy]), [[0, 0.1, 1, 0], [0.1, 0.2, 1, 1], [0.9, 1, 2, 0.5]]);
    assert.ok(Math.abs(rows[2].confidence - 0.975) < 1e-12);
  });

  it('accepts only a calibration for the same model.onnx, with points in 0..1', () => {
    const good = { format: 'tinyfim-calibration-v1', model: { name: 'm', sha256: 'abc' }, data: { source: 's', fit: 1, test: 1 }, tasks: { output: [[0.1, 0.05]] } };
    assert.ok(parseCalibration(good, 'abc').calibration);
    assert.match(parseCalibration(good, 'def').problem ?? '', /another model\.onnx/);
    assert.match(parseCalibration({ ...good, format: 'x' }, 'abc').problem ?? '', /format/);
    assert.match(parseCalibration({ ...good, tasks: { output: [[0.1, 2]] } }, 'abc').problem ?? '', /0\.\.1/);
    assert.match(parseCalibration(null, 'abc').problem ?? '', /not a JSON object/);
  });

  it('judges: the calibrated confidence decides "not sure", and tasks without a curve keep the raw one', () => {
    const cal = { format: 'tinyfim-calibration-v1' as const, model: { name: 'm', sha256: 'a' }, data: { source: 's', fit: 1, test: 1 },
      tasks: { line_count: [[0, 0.1], [1, 0.4]] as Array<[number, number]> } };
    const line = { task: 'line_count', answer: '9', probability: 0.92, ms: 3, stopReason: 'eos' };
    const judged = judge(line, cal, 0.5);
    assert.equal(judged.sure, false);
    assert.ok(Math.abs(judged.confidence - 0.376) < 1e-9);
    assert.equal(judged.calibrated, true);
    const output = judge({ ...line, task: 'output', answer: '1\n' }, cal, 0.5);
    assert.deepEqual([output.sure, output.calibrated, output.confidence], [true, false, 0.92]);
  });
});
