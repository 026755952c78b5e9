// The hover card's markdown (extension/hover/card.ts): golden cards and escaping of user and model text.
import * as assert from 'node:assert/strict';
import { buildCard, codeBlock, codeSpan, escapeMarkdown, predictionText, runSummary, type CardInput, type Prediction } from '../../extension/hover/card';
import type { RunResult } from '../../extension/hover/run';

const PREDICTIONS: Prediction[] = [
  { task: 'output', answer: '6\n9\n', probability: 0.8734, ms: 41.6, stopReason: 'eos' },
  { task: 'line_count', answer: '7', probability: 0.5, ms: 8.2, stopReason: 'eos' },
];
const BASE: CardInput = {
  startLine: 2, endLine: 4, source: 'group', truncated: false, modelName: 'test',
  predictions: PREDICTIONS, failures: [], outside: [], commandArg: { id: 'abc' },
};
const RUN: RunResult = {
  ok: true, output: '6\n9\n', lineCount: 6, states: [], error: null, timedOut: false, killed: false, ms: 35, pid: 1, python: 'python3',
};
const ARG = '%5B%7B%22id%22%3A%22abc%22%7D%5D'; // encodeURIComponent('[{"id":"abc"}]')
const LINKS = (run: string) => `[$(play) ${run}](command:tinyfim.runAndCompare?${ARG} "Runs this snippet with your Python interpreter and compares")`
  + ` · [$(copy) Copy prediction](command:tinyfim.copyPrediction?${ARG} "Copies the prediction")`;

describe('hover card', () => {
  it('renders predictions with confidence, latency and command links (golden)', () => {
    assert.equal(buildCard(BASE), [
      '$(beaker) **TinyFIM trace prediction** · statements, lines 3–5 · model `test`\n',
      '**Predicted output** · confidence 87% · 42 ms\n\n```text\n6\n9\n```\n',
      '**Executed lines:** `7` · confidence 50% · 8 ms\n',
      LINKS('Run and compare'),
    ].join('\n'));
  });

  it('renders the run next to the prediction with ✓/✗ (golden)', () => {
    assert.equal(buildCard({ ...BASE, run: RUN }), [
      '$(beaker) **TinyFIM trace prediction** · statements, lines 3–5 · model `test`\n',
      '**Predicted output** · confidence 87% · 42 ms\n\n```text\n6\n9\n```\n\n**Actual output** ✓\n\n```text\n6\n9\n```\n',
      '**Executed lines:** `7` · confidence 50% · 8 ms — actual `6` ✗\n',
      '$(terminal) Ran with `python3` in 35 ms\n',
      LINKS('Run again'),
    ].join('\n'));
    assert.equal(runSummary(PREDICTIONS, RUN), 'Output ✓ · Executed lines ✗ (predicted 7, actual 6)');
  });

  it('shows an out-of-distribution note, a truncation note and failures', () => {
    const card = buildCard({
      ...BASE, truncated: true, outside: ['imports', 'calls other than print/range'],
      predictions: [PREDICTIONS[0]], failures: [{ task: 'line_count', message: 'time budget of 3000 ms spent' }],
    });
    assert.match(card, /\$\(warning\) \*Outside the model's training programs \(tinypy\): imports, calls other than print\/range\. /);
    assert.match(card, /cut to 3 lines \(setting tinyfim\.hover\.maxLines\)/);
    assert.match(card, /\*\*Executed lines:\*\* \*no prediction \(time budget of 3000 ms spent\)\*/);
    assert.ok(!buildCard(BASE).includes('$(warning)'));
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
    assert.ok(block.includes('\n19\n```'));
    assert.ok(!block.includes('\n20\n'));
    assert.match(block, /… 80 more line\(s\)/);
  });

  it('copies the predicted output, or the other answers', () => {
    assert.equal(predictionText(PREDICTIONS), '6\n9\n');
    assert.equal(predictionText([PREDICTIONS[1]]), 'Executed lines: 7');
  });
});
