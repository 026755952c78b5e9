// Post-processing: a pipeline of small pure filters over (context, completion text) in Tabby's style.
// Each filter returns the new text, or undefined to drop the completion. The result of `postprocess` is the
// text that replaces `replaceRange(ctx)` (the cursor, plus auto-closed closers when the line ends with them).
import { Scanner, closedBy, openAtEnd, CLOSE_OF, type Open } from './brackets';
import {
  blockOpener, columns, leadingWhitespace, makeIndent, type CompletionContext,
} from './context';

export type Filter = (ctx: CompletionContext, text: string) => string | undefined;

const isBlank = (line: string): boolean => line.trim() === '';

/** Model output uses '\n'; stray '\r' (CRLF training data) is removed. */
export const normalizeNewlines: Filter = (_ctx, text) => text.replace(/\r\n?/g, '\n');

/** Single-line mode keeps the first line only. */
export const firstLineOnly: Filter = (ctx, text) => (ctx.mode === 'single' ? text.split('\n')[0] : text);

/** On a blank line the completion starts where the cursor is: no leading blank lines. */
export const skipLeadingBlankLines: Filter = (ctx, text) =>
  isBlank(ctx.linePrefix) ? text.replace(/^([ \t]*\n)+/, '') : text;

/** Small models loop: stop at a line that repeats the line before it (or, for the first line, the line above
 *  the cursor). */
export const stopAtRepeatedLine: Filter = (ctx, text) => {
  const lines = text.split('\n');
  let prev = ctx.linePrefix.trim() === '' ? ctx.prevLine.trim() : '';
  for (let j = 0; j < lines.length; j++) {
    const full = (j === 0 ? ctx.linePrefix + lines[0] : lines[j]).trim();
    if (full !== '' && full === prev && full.length >= 4) return lines.slice(0, j).join('\n');
    if (full !== '') prev = full;
  }
  return text;
};

/** Where a looping line should end (a small model's in-line loop: `k=None, k=None, k=None, ...`): after the
 *  first copy of a unit of 2-24 characters with at least two different visible characters, repeated back to back
 *  at least 3 times over at least 16 characters; -1 when the line does not loop. Runs of one character
 *  (`# -----`) are not loops. The first copy is kept rather than the loop dropped: it scored best on held-out
 *  lines (the model card's "Evaluation" has the figures). */
export function loopCut(line: string): number {
  for (let i = 0; i + 6 <= line.length; i++) {
    for (let len = 2; len <= 24 && i + 3 * len <= line.length; len++) {
      if (line.charCodeAt(i) !== line.charCodeAt(i + len)) continue; // cheap reject: this runs at every token
      const unit = line.slice(i, i + len);
      let k = 1;
      while (line.startsWith(unit, i + k * len)) k++;
      if (k < 3 || k * len < 16 || new Set(unit.replace(/\s/g, '')).size < 2) continue;
      // the first copy up to where a token ends in it (`b=None` of `b=None, k=None, k=None`, not `b=None, k`)
      for (let c = i + len; c > i; c--) if (TOKEN_END.test(line[c - 1]) && SEPARATOR.test(line[c])) return c;
      return i + len;
    }
  }
  return -1;
}

const TOKEN_END = /[\w)\]}'"]/;
const SEPARATOR = /[\s,;:./]/;

/** A loop is never worth showing in full: the completion ends after the first copy of the looping unit. */
export const stopAtLoop: Filter = (_ctx, text) => {
  const lines = text.split('\n');
  for (let j = 0; j < lines.length; j++) {
    const cut = loopCut(lines[j]);
    if (cut !== -1) return [...lines.slice(0, j), lines[j].slice(0, cut)].join('\n');
  }
  return text;
};

/** Multi-line completions stay inside the block that holds the cursor: stop at the first line indented less
 *  than the block (or, after a block opener, at a body line that is not indented). */
export const limitScope: Filter = (ctx, text) => {
  if (ctx.mode !== 'multi') return text;
  const tab = ctx.indent.tabSize;
  const lines = text.split('\n');
  let scope: number | undefined;
  if (isBlank(ctx.linePrefix)) scope = columns(leadingWhitespace(ctx.linePrefix + lines[0]), tab);
  const openerCols = columns(leadingWhitespace(ctx.linePrefix), tab);
  const opens = !isBlank(ctx.linePrefix) && blockOpener(ctx.languageId).test(ctx.linePrefix + lines[0]);
  for (let j = 1; j < lines.length; j++) {
    if (isBlank(lines[j])) continue;
    const cols = columns(leadingWhitespace(lines[j]), tab);
    if (scope === undefined) {
      if (opens && cols <= openerCols) return lines.slice(0, j).join('\n');
      scope = opens ? cols : Math.min(cols, openerCols);
    } else if (cols < scope) {
      return lines.slice(0, j).join('\n');
    }
  }
  return text;
};

/** Stop where the completion rewrites the lines below the cursor (the most common duplication). */
export const dropDuplicateLinesBelow: Filter = (ctx, text) => {
  const below = ctx.nextLines.filter((l) => !isBlank(l)).slice(0, 3).map((l) => l.trim());
  if (below.length === 0) return text;
  const lines = text.split('\n');
  for (let j = 0; j < lines.length; j++) {
    const full = (j === 0 ? ctx.linePrefix + lines[0] + (ctx.closers ? '' : ctx.lineSuffix) : lines[j]).trim();
    if (full === '') continue;
    if (full === below[0] || (full.length >= 10 && below.includes(full))) return lines.slice(0, j).join('\n');
  }
  return text;
};

/** Multi-line completions have at most ctx.maxLines lines (a leading line break does not count). */
export const capLines: Filter = (ctx, text) => {
  const lines = text.split('\n');
  const cap = ctx.maxLines + (lines[0] === '' ? 1 : 0);
  return lines.length > cap ? lines.slice(0, cap).join('\n') : text;
};

/** Mid-line: stop where the completion starts repeating the text after the cursor (whole or begun). */
export const stopAtSuffixOverlap: Filter = (ctx, text) => {
  const rest = ctx.lineSuffix.trim();
  if (ctx.closers || rest === '') return text;
  const line = text.split('\n')[0];
  for (let i = 0; i < line.length; i++) {
    const tail = line.slice(i).trimStart();
    if (tail.startsWith(rest)) return line.slice(0, i);
    if (tail.length >= 3 && tail.length === line.length - i && rest.startsWith(tail.trimEnd())) return line.slice(0, i);
  }
  return text;
};

function closeText(open: Open): string {
  return CLOSE_OF[open.ch] ?? open.ch;
}

/** Brackets and quotes balanced against the code around the cursor:
 *  - the completion stops at a closer that has nothing to close, or that closes a bracket/string which the text
 *    after the cursor already closes (the duplicated `)` of auto-closing);
 *  - when the line ends with auto-closed closers (replaced by the range), what the completion opened is closed,
 *    then the closers it did not type itself are re-added verbatim (so `f"{║}"` keeps its `}`). */
export const balanceBrackets: Filter = (ctx, text) => {
  const lang = ctx.languageId;
  const open = openAtEnd(ctx.prefix, lang);
  const closers = ctx.closers;
  const byClosers = closers ? closedBy(closers, open, lang) : 0;
  const high = open.length - byClosers; // entries at index >= high: closed by the replaced closers
  const low = high - closedBy(ctx.suffix.slice(closers.length), open.slice(0, high), lang);
  const s = new Scanner(lang, open);
  let out = '';
  let docClosed = 0;
  for (let i = 0; i < text.length;) {
    const depth = s.stack.length - 1;
    const { event, used } = s.step(text, i, true);
    if (event.kind === 'unmatched') break;
    if (event.kind === 'close' && !event.open.own) {
      if (depth >= low && depth < high) break; // the text after the cursor closes this one
      docClosed++;
    }
    out += text.slice(i, i + used);
    i += used;
  }
  if (!closers) return out;
  let tail = '';
  if (!s.commenting) {
    while (s.top?.own) tail += closeText(s.stack.pop()!);
  }
  // Skip the closers the completion already typed: the first `docClosed` closing events of the closers.
  let cut = 0;
  const cs = new Scanner(lang, open);
  for (let i = 0, m = docClosed; i < closers.length && m > 0;) {
    const { event, used } = cs.step(closers, i, true);
    i += used;
    if (event.kind === 'close' && !event.open.own) {
      m--;
      cut = i;
    }
  }
  let rest = closers.slice(cut);
  const body = out.trimEnd() + tail;
  if (/^\s*[:;,]\s*$/.test(rest) && body.endsWith(rest.trim())) rest = '';
  if (!tail && !rest) return out;
  return body + rest;
};

/** Indentation in the editor's style: tabs or spaces, and the editor's indent size; the first line of a
 *  completion on a blank line is not indented past what the line above allows. */
export const formatIndentation: Filter = (ctx, text) => {
  const tab = ctx.indent.tabSize;
  const lines = text.split('\n');
  const blankLine = isBlank(ctx.linePrefix);
  const base = columns(leadingWhitespace(blankLine ? ctx.linePrefix + lines[0] : ctx.linePrefix), tab);
  // The completion's own indent step: gcd of its offsets from the base.
  let step = 0;
  for (let j = 1; j < lines.length; j++) {
    if (isBlank(lines[j])) continue;
    const rel = columns(leadingWhitespace(lines[j]), tab) - base;
    if (rel > 0) step = gcd(step, rel);
  }
  if (![2, 3, 4, 8].includes(step)) step = tab;
  const styled = (ws: string): boolean => (ctx.indent.insertSpaces ? !ws.includes('\t') : !ws.includes(' '));
  for (let j = 1; j < lines.length; j++) {
    if (isBlank(lines[j])) continue;
    const ws = leadingWhitespace(lines[j]);
    if (styled(ws) && step === tab) continue;
    const cols = columns(ws, tab);
    const rel = cols - base;
    const target = rel > 0 ? base + Math.round((rel / step) * tab) : cols;
    lines[j] = makeIndent(target, ctx.indent) + lines[j].slice(ws.length);
  }
  if (blankLine && lines.length > 0) {
    const ws0 = leadingWhitespace(lines[0]);
    if (ws0 !== '') {
      const have = columns(ctx.linePrefix, tab);
      const prevWs = leadingWhitespace(ctx.prevLine);
      const most = columns(prevWs, tab) + (blockOpener(ctx.languageId).test(ctx.prevLine) ? tab : 0);
      const want = Math.max(0, Math.min(columns(ctx.linePrefix + ws0, tab), most) - have);
      const fixed = styled(ws0) && want === columns(ctx.linePrefix + ws0, tab) - have ? ws0 : makeIndent(want, ctx.indent);
      lines[0] = fixed + lines[0].slice(ws0.length);
    }
  }
  return lines.join('\n');
};

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** No trailing whitespace on any line, no trailing blank lines. */
export const trimTrailingWhitespace: Filter = (_ctx, text) =>
  text.split('\n').map((l) => l.trimEnd()).join('\n').replace(/\n+$/, '');

/** Nothing to show: empty, whitespace only (invisible ghost text), or just the closers already there. */
export const dropEmpty: Filter = (ctx, text) => {
  if (text.trim() === '') return undefined;
  if (ctx.closers && text.trim() === ctx.closers.trim()) return undefined;
  return text;
};

/** Back to the document's end of line. */
export const toDocumentEol: Filter = (ctx, text) => (ctx.eol === '\n' ? text : text.replace(/\n/g, ctx.eol));

export const PIPELINE: readonly [string, Filter][] = [
  ['normalizeNewlines', normalizeNewlines],
  ['firstLineOnly', firstLineOnly],
  ['skipLeadingBlankLines', skipLeadingBlankLines],
  ['stopAtRepeatedLine', stopAtRepeatedLine],
  ['stopAtLoop', stopAtLoop],
  ['limitScope', limitScope],
  ['dropDuplicateLinesBelow', dropDuplicateLinesBelow],
  ['capLines', capLines],
  ['stopAtSuffixOverlap', stopAtSuffixOverlap],
  ['balanceBrackets', balanceBrackets],
  ['formatIndentation', formatIndentation],
  ['trimTrailingWhitespace', trimTrailingWhitespace],
  ['dropEmpty', dropEmpty],
  ['toDocumentEol', toDocumentEol],
];

/** The filters that cut whole lines, where the cut at a line depends only on that line and the lines before it. */
const LINE_CUTS: readonly Filter[] = [stopAtRepeatedLine, limitScope, dropDuplicateLinesBelow, capLines];

/** While decoding: true once the text holds a cut that post-processing makes whatever the model writes next
 *  (a loop; in multi-line mode a settled line cut). Decoding stops there and the same text shows sooner: a
 *  model that loops or writes past the block would otherwise run to its token limit. */
export function cutIsFinal(ctx: CompletionContext, text: string): boolean {
  if (text.split('\n').some((line) => loopCut(line) !== -1)) return true;
  if (ctx.mode !== 'multi') return false;
  const nl = text.lastIndexOf('\n');
  if (nl < 0) return false;
  const done = skipLeadingBlankLines(ctx, normalizeNewlines(ctx, text.slice(0, nl))!)!;
  let t = done;
  for (const cut of LINE_CUTS) t = cut(ctx, t)!;
  return t.length < done.length;
}

/** Runs every filter in order. Returns the text replacing replaceRange(ctx), or undefined to show nothing.
 *  Stable signature: the CLI's `bench`/`complete` verbs call it too. */
export function postprocess(ctx: CompletionContext, text: string): string | undefined {
  let t: string | undefined = text;
  for (const [, filter] of PIPELINE) {
    t = filter(ctx, t);
    if (t === undefined) return undefined;
  }
  return t;
}
