// The completion context: everything the decision logic and the post-processing filters read, built from plain
// text and a cursor offset (no vscode types, so tests build it from strings).

export interface IndentOptions {
  insertSpaces: boolean;
  tabSize: number;
}

/** 'single': complete the rest of the current line. 'multi': may add lines (blank line or start of a block). */
export type Mode = 'single' | 'multi';

export interface ContextOptions {
  indent?: IndentOptions;
  maxLines?: number;
  languageId?: string;
  /** Overrides the single/multi-line decision (tests, the CLI). */
  mode?: Mode;
}

export interface CompletionContext {
  /** Document text as given (any end of line) and the cursor offset in it. */
  text: string;
  offset: number;
  languageId: string;
  /** The document's end of line; the completion is returned with it. */
  eol: '\n' | '\r\n';
  /** Text before / after the cursor with '\n' line ends (what the model sees). */
  prefix: string;
  suffix: string;
  /** The current line before / after the cursor. */
  linePrefix: string;
  lineSuffix: string;
  /** When the rest of the line is only closing brackets/quotes (plus `:;,`): that text. The completion
   *  replaces it (range offset .. offset + closers.length) and re-adds it balanced. Otherwise ''. */
  closers: string;
  mode: Mode;
  maxLines: number;
  indent: IndentOptions;
  /** Nearest non-blank line above the current one ('' at the top of the file). */
  prevLine: string;
  /** Up to 20 lines after the current one. */
  nextLines: string[];
}

/** The rest of a line that an editor's auto-closing leaves behind (Copilot's mid-line rule, without `>`). */
export const CLOSERS_ONLY = /^\s*[)\]}"'`]*\s*[:;,]?\s*$/;

const BLOCK_OPENER: Record<string, RegExp> = {
  python: /:\s*(#.*)?$/,
  default: /[{([]\s*$|=>\s*$/,
};

export function blockOpener(languageId: string): RegExp {
  return BLOCK_OPENER[languageId] ?? BLOCK_OPENER.default;
}

/** Width in columns of leading whitespace `ws` (tabs count tabSize). */
export function columns(ws: string, tabSize: number): number {
  let n = 0;
  for (const c of ws) n += c === '\t' ? tabSize - (n % tabSize) : 1;
  return n;
}

export function leadingWhitespace(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/** One indentation step in the editor's style. */
export function indentUnit(indent: IndentOptions): string {
  return indent.insertSpaces ? ' '.repeat(indent.tabSize) : '\t';
}

/** Leading whitespace of `cols` columns in the editor's style. */
export function makeIndent(cols: number, indent: IndentOptions): string {
  if (indent.insertSpaces) return ' '.repeat(Math.max(0, cols));
  return '\t'.repeat(Math.floor(cols / indent.tabSize)) + ' '.repeat(Math.max(0, cols % indent.tabSize));
}

/** Single vs multi-line: single when text follows the cursor or the line is being written; multi on a blank
 *  line or right after a block opener (`def f():`, `{`). */
export function chooseMode(linePrefix: string, lineSuffix: string, languageId: string): Mode {
  if (lineSuffix.trim() !== '') return 'single';
  if (linePrefix.trim() === '') return 'multi';
  return blockOpener(languageId).test(linePrefix) ? 'multi' : 'single';
}

export function buildContext(text: string, offset: number, opts: ContextOptions = {}): CompletionContext {
  const languageId = opts.languageId ?? 'python';
  const indent = opts.indent ?? { insertSpaces: true, tabSize: 4 };
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let lineEnd = text.indexOf('\n', offset);
  if (lineEnd < 0) lineEnd = text.length;
  if (lineEnd > offset && text[lineEnd - 1] === '\r') lineEnd--;
  const linePrefix = text.slice(lineStart, offset);
  const lineSuffix = text.slice(offset, lineEnd);
  const closers = lineSuffix.trim() !== '' && CLOSERS_ONLY.test(lineSuffix) ? lineSuffix.trimEnd() : '';
  const prefix = text.slice(0, offset).replace(/\r\n/g, '\n');
  const suffix = text.slice(offset).replace(/\r\n/g, '\n');
  const above = prefix.slice(0, lineStart === 0 ? 0 : prefix.length - linePrefix.length - 1).split('\n');
  let prevLine = '';
  for (let i = above.length - 1, n = 0; i >= 0 && n < 200; i--, n++) {
    if (above[i].trim() !== '') { prevLine = above[i]; break; }
  }
  const nl = suffix.indexOf('\n');
  const nextLines = nl < 0 ? [] : suffix.slice(nl + 1, nl + 1 + 4000).split('\n').slice(0, 20);
  return {
    text, offset, languageId, eol, prefix, suffix, linePrefix, lineSuffix, closers,
    mode: opts.mode ?? chooseMode(linePrefix, lineSuffix, languageId),
    maxLines: Math.max(1, opts.maxLines ?? 8),
    indent, prevLine, nextLines,
  };
}

/** Offsets [start, end) in `ctx.text` that the completion replaces: the cursor, plus any auto-closed closers. */
export function replaceRange(ctx: CompletionContext): { start: number; end: number } {
  return { start: ctx.offset, end: ctx.offset + ctx.closers.length };
}
