// The hover's content with the real engine and a model trained on tinypy: the same path as the
// HoverProvider (snippet → predictions → card), minus the editor. A model trained for a minute predicts
// poorly, so these tests check structure, caching, cancelling and the budget, not the answers.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine } from '../../extension/engine';
import { buildCard } from '../../extension/hover/card';
import { hoverTarget } from '../../extension/hover/gate';
import { HoverState, LruCache, modelIdOf, predictionKey, predictTasks } from '../../extension/hover/predict';
import { runSnippet } from '../../extension/hover/run';
import { selectSnippet } from '../../extension/hover/snippet';
import { testModelDir } from './engineHelpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TRACER = path.join(ROOT, 'trainer', 'tinypy', 'linetrace.py');

const DOC = [
  'q = 3',
  'for q in range(6, 12, 3) :',
  '\tprint(q)',
  '',
  'import os',
  '',
  'def names(root):',
  '    return sorted(os.listdir(root))',
  '',
  'print(len(names(".")))',
].join('\n').split('\n');

async function card(engine: Engine, state: HoverState, line: number, budgetMs = 20_000) {
  const snippet = selectSnippet(DOC, { line, character: 1 }, { maxLines: 40 });
  assert.ok(snippet);
  const result = await predictTasks(engine, modelIdOf(engine), snippet.text, engine.tasks(), state.predictions, { budgetMs });
  const text = buildCard({ ...snippet, predictions: result.predictions, failures: result.failures, commandArg: { id: 'x' } });
  return { snippet, result, text };
}

describe('hover content with the real engine', function () {
  this.timeout(120_000);
  let engine: Engine;

  before(async () => {
    engine = await Engine.load(testModelDir());
  });
  after(async () => { await engine?.dispose(); });

  it('the model has both trace tasks', () => {
    assert.ok(engine.tasks().includes('output'));
    assert.ok(engine.tasks().includes('line_count'));
  });

  it('shows both predictions with their confidence for a tinypy program', async () => {
    const state = new HoverState();
    const { snippet, result, text } = await card(engine, state, 2);
    assert.equal(snippet.text, 'q = 3\nfor q in range(6, 12, 3) :\n\tprint(q)');
    assert.deepEqual(result.failures, []);
    assert.deepEqual(result.predictions.map((p) => p.task).sort(), ['line_count', 'output']);
    for (const p of result.predictions) {
      assert.ok(p.probability >= 0 && p.probability <= 1, `probability ${p.probability}`);
      assert.ok(p.ms >= 0);
    }
    assert.match(text, /\*\*Predicted output\*\* · confidence (\d+)%/);
    assert.match(text, /\*\*Executed lines:\*\* .* · confidence (\d+)%/);
    for (const m of text.matchAll(/confidence (\d+)%/g)) assert.ok(Number(m[1]) >= 0 && Number(m[1]) <= 100);
    assert.match(text, /command:tinyfim\.runAndCompare\?/);
    assert.match(text, /command:tinyfim\.copyPrediction\?/);
  });

  it('predicts nothing for other code, and names its constructs when it is selected', () => {
    assert.equal(hoverTarget(DOC, { line: 6, character: 1 }, { maxLines: 40 }), undefined);
    assert.equal(hoverTarget(DOC, { line: 9, character: 1 }, { maxLines: 40 }), undefined);
    const selection = { start: { line: 6, character: 0 }, end: { line: 8, character: 0 } };
    const target = hoverTarget(DOC, { line: 6, character: 2 }, { maxLines: 40, selection });
    assert.equal(target?.kind, 'outside');
    assert.deepEqual(target?.kind === 'outside' ? target.constructs : [],
      ['function definitions', 'calls other than print/range', 'attribute access']);
  });

  it('caches by model, task and snippet: the second hover asks the engine nothing', async () => {
    const state = new HoverState();
    const first = await card(engine, state, 0);
    const size = state.predictions.size;
    assert.equal(size, 2);
    const t0 = Date.now();
    const second = await card(engine, state, 1);
    assert.ok(Date.now() - t0 < 50);
    assert.equal(state.predictions.size, size);
    second.result.predictions.forEach((p, i) => assert.equal(p, first.result.predictions[i]));
    // Another model id is another cache entry.
    const other = await predictTasks(engine, 'another-model', first.snippet.text, ['line_count'], state.predictions, { budgetMs: 20_000 });
    assert.equal(other.predictions.length, 1);
    assert.equal(state.predictions.size, size + 1);
  });

  it('stops when the hover goes away', async () => {
    const controller = new AbortController();
    controller.abort();
    const state = new HoverState();
    const r = await predictTasks(engine, modelIdOf(engine), 'a = 1\nprint(a)', engine.tasks(), state.predictions, { budgetMs: 20_000, signal: controller.signal });
    assert.equal(r.cancelled, true);
    assert.equal(state.predictions.size, 0);

    const late = new AbortController();
    const pending = predictTasks(engine, modelIdOf(engine), 'b = 2\nprint(b * 3)', engine.tasks(), state.predictions, { budgetMs: 20_000, signal: late.signal });
    late.abort();
    assert.equal((await pending).cancelled, true);
    assert.equal(state.predictions.size, 0, 'a cancelled answer is not cached');
  });

  it('reports a spent time budget per task instead of predicting', async () => {
    const state = new HoverState();
    const r = await predictTasks(engine, modelIdOf(engine), 'c = 3\nprint(c)', engine.tasks(), state.predictions, { budgetMs: 0 });
    assert.equal(r.predictions.length, 0);
    assert.deepEqual(r.failures.map((f) => f.task), engine.tasks());
    assert.match(r.failures[0].message, /time budget/);
  });

  it('reports a snippet longer than the model\'s context instead of predicting', async () => {
    const program = 'a = 1\n'.repeat(engine.manifest.architecture.context_length) + 'print(a)';
    const r = await predictTasks(engine, modelIdOf(engine), program, ['line_count'], new HoverState().predictions, { budgetMs: 20_000 });
    assert.deepEqual(r.failures, [{ task: 'line_count', message: "the snippet does not fit the model's context" }]);
  });

  it('compares a prediction with a real run in the card', async () => {
    const { snippet, result } = await card(engine, new HoverState(), 0);
    const run = await runSnippet(snippet.text, { pythonPath: 'python3', tracerPath: TRACER, timeoutSeconds: 5 });
    assert.equal(run.output, '6\n9\n');
    assert.equal(run.lineCount, 6);
    const text = buildCard({ ...snippet, predictions: result.predictions, failures: [], run });
    assert.match(text, /\*\*Actual output\*\* [✓✗]\n\n```text\n6\n9\n```/);
    assert.match(text, /— actual `6` [✓✗]/);
  });
});

describe('hover prediction cache', () => {
  it('keys by model, task and snippet, and forgets the least recently used entries', () => {
    const keys = [predictionKey('m', 'output', 'a = 1'), predictionKey('m', 'line_count', 'a = 1'),
      predictionKey('n', 'output', 'a = 1'), predictionKey('m', 'output', 'a = 2'), predictionKey('m', 'outputa', ' = 1')];
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(predictionKey('m', 'output', 'a = 1'), keys[0]);
    const cache = new LruCache<number>(2);
    cache.set('x', 1);
    cache.set('y', 2);
    assert.equal(cache.get('x'), 1); // x is now the most recent
    cache.set('z', 3);
    assert.equal(cache.get('y'), undefined);
    assert.equal(cache.get('x'), 1);
    assert.equal(cache.get('z'), 3);
  });
});
