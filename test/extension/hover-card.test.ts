// The hover card's markdown (extension/hover/card.ts): golden cards and escaping of user and model text.
import * as assert from 'node:assert/strict';
import { judge } from '../../extension/hover/calibration';
import {
  buildCard, codeBlock, codeSpan, escapeMarkdown, firstLineNote, outsideNote, predictionText, runSummary, type CardInput, type Prediction,
} from '../../extension/hover/card';
import type { RunResult } from '../../extension/hover/run';

const PREDICTIONS: Prediction[] = [
  { task: 'output', answer: '6\n9\n', probability: 0.8734, ms: 41.6, stopReason: 'eos' },
  { task: 'line_count', answer: '7', probability: 0.5, ms: 8.2, stopReason: 'eos' },
];
const BASE: CardInput = {
  startLine: 2, endLine: 4, source: 'group', truncated: false,
  predictions: PREDICTIONS, failures: [], commandArg: { id: 'abc' },
};
const RUN: RunResult = {
  ok: true, output: '6\n9\n', lineCount: 6, states: [], error: null, timedOut: false, killed: false, ms: 35, pid: 1, python: 'python3',
};
const ARG = '%5B%7B%22id%22%3A%22abc%22%7D%5D'; // encodeURIComponent('[{"id":"abc"}]')
const RUN_LINK = (run: string) => `[$(play) ${run}](command:tinyfim.runAndCompare?${ARG} "Runs this snippet with your Python interpreter and compares")`;
const LINKS = (run: string) => `${RUN_LINK(run)} · [$(copy) Copy](command:tinyfim.copyPrediction?${ARG} "Copies the prediction")`;
const HEADER = '$(beaker) **TinyFIM trace prediction** · statements, lines 3–5 · predicted, not run\n';
/** A curve that maps the model's 0.87 to 0.6 and its 0.5 to 0.2. */
const CALIBRATION = {
  format: 'tinyfim-calibration-v1' as const, model: { name: 'test', sha256: 'x' }, data: { source: 'test', fit: 2, test: 0 },
  tasks: { output: [[0.5, 0.2], [0.87, 0.6]] as Array<[number, number]>, line_count: [[0.5, 0.2], [0.87, 0.6]] as Array<[number, number]> },
};

describe('hover card', () => {
  it('renders predictions with confidence and command links (golden)', () => {
    assert.equal(buildCard(BASE), [
      HEADER,
      '**Predicted output** · confidence 87%\n\n```text\n6\n9\n```\n',
      '**Executed lines:** `7` · confidence 50%\n',
      LINKS('Run and compare'),
    ].join('\n'));
  });

  it('renders the run next to the prediction with ✓/✗ (golden)', () => {
    assert.equal(buildCard({ ...BASE, run: RUN }), [
      HEADER,
      '**Predicted output** · confidence 87%\n\n```text\n6\n9\n```\n\n**Actual output** ✓\n\n```text\n6\n9\n```\n',
      '**Executed lines:** `7` · confidence 50% — actual `6` ✗\n',
      '$(terminal) Ran with `python3` in 35 ms\n',
      LINKS('Run again'),
    ].join('\n'));
    assert.equal(runSummary(PREDICTIONS, RUN), 'Output ✓ · Executed lines ✗ (predicted 7, actual 6)');
  });

  it('hides a prediction below the threshold as "not sure", with the calibrated confidence (golden)', () => {
    const judged = PREDICTIONS.map((p) => judge(p, CALIBRATION, 0.5));
    assert.deepEqual(judged.map((p) => [p.sure, Math.round(p.confidence * 100)]), [[true, 60], [false, 20]]);
    assert.equal(buildCard({ ...BASE, predictions: judged }), [
      HEADER,
      '**Predicted output** · confidence 60%\n\n```text\n6\n9\n```\n',
      '**Executed lines:** *not sure* (confidence 20%)\n',
      LINKS('Run and compare'),
    ].join('\n'));
    // After a run the actual value is there, with no ✓/✗ for the answer the card did not show.
    const ran = buildCard({ ...BASE, predictions: judged, run: RUN });
    assert.match(ran, /\*\*Executed lines:\*\* \*not sure\* \(confidence 20%\) — actual `6`\n/);
    assert.equal(runSummary(judged, RUN), 'Output ✓ · Executed lines: not sure, actual 6');
    // Nothing sure: no answer to copy, no Copy link.
    const none = PREDICTIONS.map((p) => judge(p, CALIBRATION, 0.9));
    const card = buildCard({ ...BASE, predictions: none });
    assert.ok(!card.includes('copyPrediction') && !card.includes('```'), card);
    assert.equal(predictionText(none), '');
    assert.equal(runSummary(none, { ...RUN, output: '1\n2\n' }), 'Output: not sure, actual 1 / 2 · Executed lines: not sure, actual 6');
  });

  it('never shows an unfinished or malformed answer, and says the confidence is not calibrated without a curve', () => {
    const cut = judge({ ...PREDICTIONS[1], answer: '1', stopReason: 'deadline', probability: 0.99 }, CALIBRATION, 0.5);
    assert.equal(cut.sure, false);
    assert.match(buildCard({ ...BASE, predictions: [cut] }), /\*not sure\* \(cut at the time budget\)/);
    const words = judge({ ...PREDICTIONS[1], answer: 'def parse_', probability: 0.99 }, CALIBRATION, 0.5);
    assert.equal(words.sure, false);
    assert.match(buildCard({ ...BASE, predictions: [words] }), /\*not sure\* \(the answer is not a number\)/);
    const raw = judge(PREDICTIONS[0], undefined, 0.5);
    assert.equal(raw.calibrated, false);
    assert.match(buildCard({ ...BASE, predictions: [raw] }), /model probability 87% \(not calibrated\)/);
  });

  it('names an empty predicted answer in the run summary instead of leaving a gap', () => {
    const summary = runSummary([{ ...PREDICTIONS[1], answer: '' }], { ...RUN, lineCount: 7 });
    assert.equal(summary, 'Executed lines ✗ (predicted nothing, actual 7)');
    assert.ok(!/predicted ,/.test(summary));
  });

  it('offers workspace trust instead of the run in Restricted Mode', () => {
    const card = buildCard({ ...BASE, runnable: false });
    assert.ok(!card.includes('command:tinyfim.runAndCompare'));
    assert.match(card, /needs a trusted folder \(Restricted Mode\).*\(command:workbench\.trust\.manage /);
  });

  it('one-line notes: outside the subset, off the selection\'s first line', () => {
    const outside = outsideNote(['imports', 'calls other than print/range']);
    assert.equal(outside.split('\n').length, 1);
    assert.match(outside, /no trace prediction: the selection uses imports, calls other than print\/range;/);
    assert.ok(!/confidence|Predicted/.test(outside));
    assert.match(firstLineNote(6), /hover line 7, the selection's first line/);
  });

  it('shows a truncation note and failures', () => {
    const card = buildCard({
      ...BASE, truncated: true,
      predictions: [PREDICTIONS[0]], failures: [{ task: 'line_count', message: 'time budget of 3000 ms spent' }],
    });
    assert.match(card, /cut to 3 lines \(setting tinyfim\.hover\.maxLines\)/);
    assert.match(card, /\*\*Executed lines:\*\* \*no prediction \(time budget of 3000 ms spent\)\*/);
  });

  it('shows an empty predicted output, and no links without a command argument', () => {
    const card = buildCard({ ...BASE, commandArg: undefined, predictions: [{ ...PREDICTIONS[0], answer: '' }] });
    assert.match(card, /\*\(prints nothing\)\*/);
    assert.ok(!card.includes('command:'));
  });

  it('reports errors and timeouts of a run instead of comparing', () => {
    const raised = buildCard({ ...BASE, run: { ...RUN, output: '6\n', lineCount: 3, error: 'ZeroDivisionError: division by zero' } });
    assert.match(raised, /The snippet raised/);
    assert.match(raised, /```text\nZeroDivisionError: division by zero\n```/);
    assert.match(raised, /\*\*Actual output\*\* ✗/);

    const timedOut: RunResult = { ...RUN, ok: false, output: '', lineCount: null, timedOut: true, killed: true, ms: 5200, error: 'timed out after 5 s: process killed' };
    const card = buildCard({ ...BASE, run: timedOut });
    assert.match(card, /\$\(clock\) \*\*Run timed out\*\*: process killed \(ran 5\.2 s with `python3`\)/);
    assert.ok(!card.includes('✓') && !card.includes('✗'));
    assert.equal(runSummary(PREDICTIONS, timedOut), 'Timed out after 5.2 s (process killed).');

    const failed = buildCard({ ...BASE, run: { ...RUN, ok: false, output: '', lineCount: null, error: 'Python interpreter not found: "py"' } });
    assert.match(failed, /\$\(error\) \*\*Run failed\*\*\n\n```text\nPython interpreter not found: "py"\n```/);
  });

  it('fences model and user text so it cannot close the block, link or run a command', () => {
    const evil = 'x\n```\n[click](command:workbench.action.terminal.new) $(alert) <img src=x>\n````';
    const card = buildCard({ ...BASE, predictions: [{ ...PREDICTIONS[0], answer: evil }], run: { ...RUN, output: evil } });
    // Both blocks use a fence longer than any backtick run inside.
    assert.equal(card.split('`````text\n' + evil.replace(/\n$/, '') + '\n`````').length, 3);
    const span = codeSpan('a`b``c');
    assert.equal(span, '```a`b``c```');
    assert.equal(codeSpan('`x'), '`` `x ``');
    assert.equal(codeSpan('1\n2'), '`1⏎2`');
    assert.equal(escapeMarkdown('[a](command:x) $(bug) *b* <i>'), '\\[a\\]\\(command:x\\) \\$\\(bug\\) \\*b\\* \\<i\\>');
  });

  it('truncates long outputs', () => {
    const long = Array.from({ length: 100 }, (_, i) => `${i}`).join('\n');
    const block = codeBlock(long);
    assert.ok(block.includes('\n11\n```'));
    assert.ok(!block.includes('\n12\n'));
    assert.match(block, /… 88 more line\(s\)/);
  });

  it('copies the predicted output, or the other answers', () => {
    assert.equal(predictionText(PREDICTIONS), '6\n9\n');
    assert.equal(predictionText([PREDICTIONS[1]]), 'Executed lines: 7');
  });
});
