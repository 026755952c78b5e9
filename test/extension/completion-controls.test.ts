// The pure parts of the completion controls: exclude globs, snooze, the per-language list and counting partial
// accepts.
import * as assert from 'node:assert/strict';
import { DEFAULT_EXCLUDE, excludedBy, globToRegExp } from '../../extension/completion/exclude';
import { Snooze, withLanguage, withoutLanguage } from '../../extension/completion/snooze';
import { partialChars, Stats } from '../../extension/completion/stats';

describe('tinyfim.completions.exclude globs', () => {
  it('the defaults catch env files, keys and secrets in any folder, and leave ordinary code alone', () => {
    const hit = (p: string) => excludedBy(p, DEFAULT_EXCLUDE)?.pattern;
    assert.equal(hit('.env'), '.env*');
    assert.equal(hit('app/.env.local'), '.env*');
    assert.equal(hit('certs/server.pem'), '*.pem');
    assert.equal(hit('deploy/id_rsa.key'), '*.key');
    assert.equal(hit('config/my_secrets.py'), '*secret*');
    assert.equal(hit('lib/AWS_Credentials.json'), '*credential*');
    for (const ok of ['main.py', 'src/environment.py', 'keys.py', 'docs/keyboard.md', 'app/envelope.py']) assert.equal(hit(ok), undefined, ok);
  });

  it('patterns with a slash match the path from the workspace folder; ** spans folders; {a,b} is either', () => {
    assert.ok(excludedBy('build/gen/x.py', ['build/**']));
    assert.ok(!excludedBy('src/build/x.py', ['build/**']));
    assert.ok(excludedBy('src/build/x.py', ['**/build/**']));
    assert.ok(excludedBy('a/b/c/vendor.py', ['**/*.{py,pyi}']));
    assert.ok(excludedBy('C:\\work\\proj\\.env', ['.env*']), 'Windows separators');
    assert.ok(!excludedBy('x.py', ['', '   ']), 'blank patterns match nothing');
  });

  it('* and ? stay inside one path segment; regex characters are literal', () => {
    assert.ok(!globToRegExp('a*b').test('a/b'));
    assert.ok(globToRegExp('a?c').test('abc') && !globToRegExp('a?c').test('a/c'));
    assert.ok(globToRegExp('f(1).py').test('f(1).py') && !globToRegExp('f(1).py').test('f1.py'));
    assert.ok(globToRegExp('*.PEM').test('server.pem'), 'case-insensitive');
  });
});

describe('snooze', () => {
  it('pauses until the time is up, counts minutes up, and can be cut short or replaced', () => {
    const s = new Snooze();
    const t0 = 1_000_000;
    assert.equal(s.active(t0), false);
    s.start(15, t0);
    assert.equal(s.active(t0 + 14 * 60_000), true);
    assert.equal(s.minutesLeft(t0 + 14 * 60_000 + 50_000), 1, 'ten seconds left still says 1 min');
    assert.equal(s.active(t0 + 15 * 60_000), false);
    assert.equal(s.minutesLeft(t0 + 16 * 60_000), 0);
    s.start(60, t0);
    s.start(5, t0);
    assert.equal(s.msLeft(t0), 5 * 60_000, 'a new snooze replaces a longer one');
    s.stop();
    assert.equal(s.active(t0), false);
    assert.equal(new Snooze(t0 + 1000).active(t0), true, 'restored from storage');
  });
});

describe('per-language toggle', () => {
  it('removes or adds one language; cannot carve a language out of "*"', () => {
    assert.deepEqual(withoutLanguage(['python', 'go'], 'python'), ['go']);
    assert.deepEqual(withLanguage(['go'], 'python'), ['go', 'python']);
    assert.deepEqual(withLanguage(['python'], 'python'), ['python']);
    assert.equal(withoutLanguage(['*'], 'python'), undefined);
  });
});

describe('partial accepts in the statistics', () => {
  it('counts what accept-next-word/-line inserted from the shown suggestion, in order', () => {
    const ghost = 'range(10):\n    total += i';
    assert.equal(partialChars(ghost, 0, 'range('), 6);
    assert.equal(partialChars(ghost, 6, '10):\n'), 5);
    assert.equal(partialChars(ghost, 0, '10'), 0, 'not the start of what is left');
    assert.equal(partialChars(ghost, 0, ''), 0);
    assert.equal(partialChars(ghost, 0, 'zip('), 0, 'another provider\'s text');
  });

  it('keeps partial accepts apart from full ones, in the summary and across a reset', async () => {
    const saved = new Map<string, unknown>();
    const store = { get: <T>(k: string) => saved.get(k) as T | undefined, update: async (k: string, v: unknown) => { saved.set(k, v); } };
    const stats = new Stats(store);
    stats.shown();
    stats.partiallyAccepted(6);
    stats.partiallyAccepted(5);
    stats.accepted(20);
    assert.deepEqual([stats.data.partial, stats.data.partialChars, stats.data.accepted], [2, 11, 1]);
    assert.ok(stats.summary().some((l) => l === 'Partly accepted (next word / next line): 2, 11 characters'));
    assert.equal(new Stats(store).data.partialChars, 11, 'persisted');
    await stats.reset();
    assert.equal(stats.data.partial, 0);
  });
});
