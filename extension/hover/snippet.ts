// Which code a hover predicts for: the selection when the hover is inside it, otherwise the enclosing
// top-level def/class, otherwise the contiguous group of top-level statements around the hovered line.
// Pure: works on the document's lines (no vscode), so the rules are testable on plain text.

export interface Pos { line: number; character: number }
export interface Sel { start: Pos; end: Pos }

export interface Snippet {
  /** The program text: lines joined with '\n', no trailing newline. */
  text: string;
  /** First and last document line (0-based, inclusive). */
  startLine: number;
  endLine: number;
  source: 'selection' | 'definition' | 'group';
  /** The statement group was longer than maxLines and was cut to the statements nearest the hover. */
  truncated: boolean;
}

interface LineInfo {
  blank: boolean;
  comment: boolean;
  /** The line continues a logical line (open bracket, triple-quoted string, backslash). */
  continuation: boolean;
  indent: number;
}

/** Per physical line: blank/comment/continuation, tracking brackets and strings across lines. */
export function scanLines(lines: string[]): LineInfo[] {
  const infos: LineInfo[] = [];
  let depth = 0;
  let triple: string | null = null; // the open triple quote, if any
  let backslash = false;
  for (const line of lines) {
    const continuation = depth > 0 || triple !== null || backslash;
    const trimmed = line.trim();
    const indent = line.length - line.trimStart().length;
    infos.push({
      blank: trimmed === '' && !continuation,
      comment: trimmed.startsWith('#') && !continuation,
      continuation,
      indent,
    });
    backslash = false;
    let i = 0;
    while (i < line.length) {
      if (triple !== null) {
        const end = line.indexOf(triple, i);
        if (end < 0) break;
        triple = null;
        i = end + 3;
        continue;
      }
      const c = line[i];
      if (c === '#') break;
      if (c === '"' || c === "'") {
        if (line.startsWith(c.repeat(3), i)) {
          triple = c.repeat(3);
          i += 3;
          continue;
        }
        // Single-quoted strings end on the same line (an unterminated one ends at the line end).
        i++;
        while (i < line.length && line[i] !== c) i += line[i] === '\\' ? 2 : 1;
        i++;
        continue;
      }
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
      else if (c === '\\' && i === line.length - 1) backslash = true;
      i++;
    }
  }
  return infos;
}

const CLAUSE = /^(else|elif|except|finally)\b/;
const DEFINITION = /^(async\s+def|def|class)\b/;

interface Statement { start: number; end: number; definition: boolean }

/** Top-level statements with their indented bodies and clauses (else/elif/except/finally), decorators included. */
export function topLevelStatements(lines: string[]): Statement[] {
  const infos = scanLines(lines);
  const starts: number[] = [];
  let afterDecorator = false;
  for (let i = 0; i < lines.length; i++) {
    const info = infos[i];
    if (info.blank || info.comment || info.continuation || info.indent > 0) continue;
    const text = lines[i];
    const isClause = CLAUSE.test(text);
    if (!isClause && !afterDecorator) starts.push(i);
    afterDecorator = text.startsWith('@');
  }
  const statements: Statement[] = [];
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k];
    let end = (k + 1 < starts.length ? starts[k + 1] : lines.length) - 1;
    // Trailing blank lines and comments belong to no statement.
    while (end > start && (infos[end].blank || infos[end].comment)) end--;
    let first = start;
    while (lines[first].startsWith('@') && first < end) first++;
    statements.push({ start, end, definition: DEFINITION.test(lines[first]) });
  }
  return statements;
}

function before(a: Pos, b: Pos): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

/** Removes the leading whitespace that every non-blank line shares. */
export function dedent(lines: string[]): string[] {
  let common: string | null = null;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const lead = line.slice(0, line.length - line.trimStart().length);
    if (common === null) common = lead;
    else {
      let n = 0;
      while (n < common.length && n < lead.length && common[n] === lead[n]) n++;
      common = common.slice(0, n);
    }
  }
  const cut = common?.length ?? 0;
  return cut === 0 ? lines : lines.map((line) => (line.trim() === '' ? '' : line.slice(cut)));
}

function make(lines: string[], startLine: number, endLine: number, source: Snippet['source'], truncated: boolean): Snippet {
  return { text: lines.slice(startLine, endLine + 1).join('\n'), startLine, endLine, source, truncated };
}

/**
 * The snippet to predict for a hover at `pos`, or undefined when there is none (blank line or comment
 * between statements, a selection or definition longer than maxLines, whitespace only).
 */
export function selectSnippet(lines: string[], pos: Pos, opts: { maxLines: number; selection?: Sel }): Snippet | undefined {
  const { maxLines, selection } = opts;
  if (selection && !(selection.start.line === selection.end.line && selection.start.character === selection.end.character)
      && before(selection.start, pos) && before(pos, selection.end)) {
    let endLine = selection.end.line;
    // A selection of whole lines ends at column 0 of the next line: that line is not part of it.
    if (selection.end.character === 0 && endLine > selection.start.line) endLine--;
    const picked = lines.slice(selection.start.line, endLine + 1);
    if (picked.length === 0) return undefined;
    const last = picked.length - 1;
    if (endLine === selection.end.line) picked[last] = picked[last].slice(0, selection.end.character);
    picked[0] = picked[0].slice(selection.start.character);
    if (selection.start.character > 0 && picked.length > 1) {
      // A selection that starts mid-line: keep the first line's indentation relative to the rest.
      picked[0] = lines[selection.start.line].slice(0, selection.start.character).replace(/\S/g, ' ') + picked[0];
    }
    const body = dedent(picked);
    while (body.length > 0 && body[body.length - 1].trim() === '') body.pop();
    while (body.length > 0 && body[0].trim() === '') body.shift();
    if (body.length === 0 || body.length > maxLines) return undefined;
    return { text: body.join('\n'), startLine: selection.start.line, endLine, source: 'selection', truncated: false };
  }

  const statements = topLevelStatements(lines);
  const h = statements.findIndex((s) => s.start <= pos.line && pos.line <= s.end);
  if (h < 0) return undefined;
  const size = (a: number, b: number) => statements[b].end - statements[a].start + 1;
  if (size(h, h) > maxLines) return undefined;
  if (statements[h].definition) return make(lines, statements[h].start, statements[h].end, 'definition', false);

  // Contiguous = no blank line between one statement's last line and the next one's first line.
  const contiguous = (a: number, b: number) => {
    for (let i = statements[a].end + 1; i < statements[b].start; i++) if (lines[i].trim() === '') return false;
    return true;
  };
  let lo = h;
  let hi = h;
  while (lo > 0 && contiguous(lo - 1, lo)) lo--;
  while (hi + 1 < statements.length && contiguous(hi, hi + 1)) hi++;
  // Too long: keep the hovered statement, then as many earlier statements (they set up its variables),
  // then later ones, as fit.
  let a = h;
  let b = h;
  while (a > lo && size(a - 1, b) <= maxLines) a--;
  while (b < hi && size(a, b + 1) <= maxLines) b++;
  return make(lines, statements[a].start, statements[b].end, 'group', a !== lo || b !== hi);
}
