// Which constructs of a snippet lie outside the tinypy subset the trace tasks were trained on:
// variable assignments of ints, + - * / arithmetic, comparisons, and/or/not, if/elif/else,
// for-in-range, while, print. Pure: a small Python tokenizer, no parser; it names what it sees.

interface Token { kind: 'name' | 'number' | 'string' | 'op'; text: string; lineStart: boolean }

const OPERATORS = [
  '**=', '//=', '>>=', '<<=', '...', '->', ':=', '**', '//', '>>', '<<', '<=', '>=', '==', '!=',
  '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=',
];
const STRING_START = /^(?:[rRbBuUfF]{0,2})("""|'''|"|')/;

/** Tokens of `code`; comments and whitespace are dropped. Unterminated strings end at the end of the text. */
export function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let lineStart = true;
  let depth = 0;
  const push = (kind: Token['kind'], text: string) => {
    tokens.push({ kind, text, lineStart });
    lineStart = false;
  };
  while (i < code.length) {
    const c = code[i];
    if (c === '\n') {
      if (depth === 0) lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') { i++; continue; }
    if (c === '\\' && code[i + 1] === '\n') { i += 2; continue; }
    if (c === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    const str = STRING_START.exec(code.slice(i, i + 5));
    if (str) {
      const quote = str[1];
      let j = i + str[0].length;
      while (j < code.length && !code.startsWith(quote, j)) {
        if (quote.length === 1 && code[j] === '\n') break;
        j += code[j] === '\\' ? 2 : 1;
      }
      j = Math.min(code.length, j + quote.length);
      push('string', code.slice(i, j));
      i = j;
      continue;
    }
    if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < code.length && /[A-Za-z0-9_\u0080-\uffff]/.test(code[j])) j++;
      push('name', code.slice(i, j));
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(code[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < code.length && /[0-9A-Za-z_.]/.test(code[j])) {
        // Exponent signs: 1e-5.
        if (/[eE]/.test(code[j]) && /[+-]/.test(code[j + 1] ?? '') && !/^0[xXbBoO]/.test(code.slice(i, j))) j++;
        j++;
      }
      push('number', code.slice(i, j));
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => code.startsWith(o, i)) ?? c;
    if (op === '(' || op === '[' || op === '{') depth++;
    if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1);
    push('op', op);
    i += op.length;
  }
  return tokens;
}

const KEYWORD_CONSTRUCTS: Record<string, string> = {
  def: 'function definitions', return: 'function definitions', yield: 'function definitions',
  global: 'function definitions', nonlocal: 'function definitions', async: 'async code', await: 'async code',
  lambda: 'lambdas', class: 'classes', import: 'imports', from: 'imports',
  try: 'exceptions', except: 'exceptions', finally: 'exceptions', raise: 'exceptions', assert: 'assert',
  with: 'with statements', break: 'break/continue', continue: 'break/continue', pass: 'pass', del: 'del',
  True: 'True/False/None', False: 'True/False/None', None: 'True/False/None', is: 'identity tests (is)',
};
const KEYWORDS = new Set([
  ...Object.keys(KEYWORD_CONSTRUCTS), 'if', 'elif', 'else', 'for', 'while', 'in', 'and', 'or', 'not',
]);
const ALLOWED_OPS = new Set(['+', '-', '*', '/', '<', '>', '<=', '>=', '==', '!=', '=', '(', ')', ':', ',']);

function opConstruct(op: string): string {
  if (op === '[' || op === ']') return 'lists or subscripts';
  if (op === '{' || op === '}') return 'dicts or sets';
  if (op.length >= 2 && op.endsWith('=') && !['<=', '>=', '==', '!='].includes(op)) {
    return op === ':=' ? 'assignment expressions (:=)' : 'augmented assignments (+= …)';
  }
  if (op === ';') return 'several statements on one line';
  if (op === '.') return 'attribute access';
  if (op === '->' || op === '...') return 'function definitions';
  return 'operators other than + - * / and comparisons';
}

/**
 * The constructs of `code` outside the tinypy subset, named for people ("imports", "strings", ...),
 * each once, in order of first appearance. Empty: the snippet looks like the training programs.
 */
export function outsideSubset(code: string): string[] {
  const found: string[] = [];
  const note = (what: string) => { if (!found.includes(what)) found.push(what); };
  const tokens = tokenize(code);
  // Open parentheses: which call each belongs to ('print', 'range' or '' for grouping/other).
  const parens: string[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    const prev = tokens[k - 1];
    const next = tokens[k + 1];
    if (t.kind === 'string') { note('strings'); continue; }
    if (t.kind === 'number') {
      if (!/^[0-9]+$/.test(t.text)) note('numbers other than decimal integers');
      continue;
    }
    if (t.kind === 'name') {
      if (t.text in KEYWORD_CONSTRUCTS) note(KEYWORD_CONSTRUCTS[t.text]);
      if ((t.text === 'if' || t.text === 'else') && !t.lineStart) note('conditional expressions');
      if (t.text === 'for') {
        if (!t.lineStart) note('comprehensions');
        else if (!(tokens[k + 1]?.kind === 'name' && tokens[k + 2]?.text === 'in' && tokens[k + 3]?.text === 'range'
          && tokens[k + 4]?.text === '(')) note('for loops over anything but range()');
      }
      if (t.text === 'in' && !tokens.slice(Math.max(0, k - 2), k).some((p) => p.text === 'for' && p.lineStart)) {
        note('membership tests (in)');
      }
      const defined = prev?.text === 'def' || prev?.text === 'class';
      if (next?.text === '(' && !defined && !KEYWORDS.has(t.text) && t.text !== 'print' && t.text !== 'range') {
        note('calls other than print/range');
      }
      if (prev?.text === '.' && next?.text === '(') note('calls other than print/range');
      continue;
    }
    // Operators.
    if (t.text === '@' && t.lineStart) { note('decorators'); continue; }
    if (t.text === '(') {
      const callee = prev?.kind === 'name' && (prev.text === 'print' || prev.text === 'range') ? prev.text : '';
      if (prev && (prev.text === ')' || prev.text === ']' || prev.kind === 'string')) note('calls other than print/range');
      parens.push(callee);
      continue;
    }
    if (t.text === ')') { parens.pop(); continue; }
    if (t.text === ',') {
      const inside = parens[parens.length - 1];
      if (inside === 'print') note('print with several arguments');
      else if (inside !== 'range') note('tuples');
      continue;
    }
    if (!ALLOWED_OPS.has(t.text)) note(opConstruct(t.text));
  }
  return found;
}
