// Out-of-distribution detection (extension/hover/subset.ts): tinypy programs pass, everything else is named.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outsideSubset, tokenize } from '../../extension/hover/subset';
import { PYTHON, ROOT } from './engineHelpers';

// Programs in the shapes of every tinypy level (research/tinypy.md §1.2), with the generator's spacing quirks.
export const TINYPY_PROGRAMS = [
  'q = 3\nfor q in range(6, 12, 3) :\n\tprint(q)',
  'a = 5\nwhile a < 10 :\n\tprint(a)\n\ta = a + 2',
  'e = 9\nf = 2\nif  e != f :\n\tprint(e)\nelif e > 4 :\n\tprint(f)\nelse :\n\tprint(e - f)',
  'f = 4\ny = 1\nw = (f - 4)+(1 + y)\nprint(w * 3)',
  'b = 200\nc = 12\nif not ( b >= 7) and (c < b) or (not c == 3) :\n\tprint(b / c)',
  'h = 195\nwhile h >= 190 :\n\tprint(h)\n\th = h - 2',
  'x = 8\nfor u in range(255, 256) :\n\tprint(x)',
  'total = 0\nfor i in range(4) :\n\tif i > 1 :\n\t\ttotal = total + i\nprint(total)',
  'n = -3\nprint(n)',
];

describe('hover subset detection', () => {
  it('accepts tinypy programs', () => {
    for (const p of TINYPY_PROGRAMS) assert.deepEqual(outsideSubset(p), [], p);
  });

  it('accepts every program of the trainer\'s tinypy generator (all levels)', function () {
    this.timeout(60_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-subset-'));
    try {
      const file = path.join(dir, 'programs.txt');
      execFileSync(PYTHON, ['-m', 'trainer', 'tinypy', 'generate', '--level', 'ALL', '--count', '300', '--seed', '2', '--out', file, '--pure'],
        { cwd: ROOT, stdio: 'pipe' });
      const programs = readFileSync(file, 'utf8').split('\n\n').filter((p) => p.trim() !== '');
      assert.equal(programs.length, 300);
      for (const p of programs) assert.deepEqual(outsideSubset(p), [], p);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names each construct outside the subset once, in order of appearance', () => {
    const code = [
      'import os',
      'from math import sqrt',
      'def area(r):',
      '    return 3.14 * r ** 2',
      'print("area", area(2))',
      'print(os.getcwd())',
    ].join('\n');
    assert.deepEqual(outsideSubset(code), [
      'imports', 'function definitions', 'numbers other than decimal integers',
      'operators other than + - * / and comparisons', 'strings', 'print with several arguments',
      'calls other than print/range', 'attribute access',
    ]);
  });

  const cases: Array<[string, string]> = [
    ['class A:\n    pass', 'classes'],
    ['xs = [1, 2]', 'lists or subscripts'],
    ['d = {1: 2}', 'dicts or sets'],
    ["s = 'it''s'", 'strings'],
    ['s = f"{a}"', 'strings'],
    ['s = rb"x"', 'strings'],
    ['t = 1, 2', 'tuples'],
    ['a = 1\na += 2', 'augmented assignments (+= …)'],
    ['a = 7 % 3', 'operators other than + - * / and comparisons'],
    ['a = 7 // 3', 'operators other than + - * / and comparisons'],
    ['a = 1 << 3', 'operators other than + - * / and comparisons'],
    ['a = True', 'True/False/None'],
    ['a = None\nif a is None :\n\tprint(1)', 'identity tests (is)'],
    ['a = 3\nif a in range(5) :\n\tprint(a)', 'membership tests (in)'],
    ['for c in "abc" :\n\tprint(c)', 'for loops over anything but range()'],
    ['for i, j in range(3) :\n\tprint(i)', 'for loops over anything but range()'],
    ['a = len(x)', 'calls other than print/range'],
    ['a = (lambda: 1)()', 'lambdas'],
    ['a = 1 if b else 2', 'conditional expressions'],
    ['a = 0x1F', 'numbers other than decimal integers'],
    ['a = 1e-5', 'numbers other than decimal integers'],
    ['while 1 :\n\tbreak', 'break/continue'],
    ['try:\n    x = 1\nexcept ValueError:\n    pass', 'exceptions'],
    ['with open(f) as g:\n    pass', 'with statements'],
    ['@dec\ndef f():\n    pass', 'decorators'],
    ['a = 1; b = 2', 'several statements on one line'],
    ['if (n := 10) > 5:\n    print(n)', 'assignment expressions (:=)'],
    ['async def f():\n    await g()', 'async code'],
    ['del a', 'del'],
  ];
  for (const [code, construct] of cases) {
    it(`reports ${construct} in ${JSON.stringify(code)}`, () => {
      assert.ok(outsideSubset(code).includes(construct), `${JSON.stringify(outsideSubset(code))}`);
    });
  }

  it('ignores comments and keywords inside strings and comments', () => {
    assert.deepEqual(outsideSubset('a = 1  # import os; def f(): "x"\nprint(a)'), []);
    assert.deepEqual(outsideSubset('s = "import os"').filter((c) => c !== 'strings'), []);
    assert.deepEqual(outsideSubset('s = """\nimport os\ndef f():\n"""').filter((c) => c !== 'strings'), []);
  });

  it('tokenizes strings with prefixes and escapes, and numbers with exponents', () => {
    const kinds = tokenize('x = b"a\\"b" + 1e+5 - .5').map((t) => `${t.kind}:${t.text}`);
    assert.deepEqual(kinds, ['name:x', 'op:=', 'string:b"a\\"b"', 'op:+', 'number:1e+5', 'op:-', 'number:.5']);
  });
});
