// When a hover shows a trace prediction at all. The model only learned tinypy programs (integer arithmetic,
// if/while, for-range, print), so on other code its "prediction" is noise: ordinary code gets no TinyFIM hover
// (other hover providers keep the space), a selection asks explicitly and gets one line saying why not.
// The editor puts the hover card above the hovered line when there is room, so the card answers on the
// snippet's first line: there it leaves the snippet it describes in view. Pure: lines and positions only.
import { selectSnippet, type Pos, type Sel, type Snippet } from './snippet';
import { outsideSubset } from './subset';

export type HoverTarget =
  /** Predict for this snippet. */
  | { kind: 'predict'; snippet: Snippet }
  /** A selection outside the tinypy subset: say so in one line, predict nothing. */
  | { kind: 'outside'; snippet: Snippet; constructs: string[] }
  /** A selection longer than maxLines. */
  | { kind: 'too-long'; lines: number; maxLines: number }
  /** Inside a selection but not on its first line: point there (0-based line). */
  | { kind: 'first-line'; line: number };

const PRINTS = /(^|[^\w.])print\s*\(/m;

function firstCodeLine(lines: string[], from: number, to: number): number {
  for (let i = from; i <= to; i++) if ((lines[i] ?? '').trim() !== '') return i;
  return from;
}

function inside(sel: Sel, pos: Pos): boolean {
  const empty = sel.start.line === sel.end.line && sel.start.character === sel.end.character;
  const afterStart = sel.start.line < pos.line || (sel.start.line === pos.line && sel.start.character <= pos.character);
  const beforeEnd = pos.line < sel.end.line || (pos.line === sel.end.line && pos.character <= sel.end.character);
  return !empty && afterStart && beforeEnd;
}

/**
 * What the hover at `pos` shows: undefined (nothing from TinyFIM), a prediction, or a one-line note.
 * Without a selection: only on the first line of a contiguous group of top-level statements that fits the
 * tinypy subset and prints something (a lone `X = 1` predicts nothing worth a card).
 */
export function hoverTarget(lines: string[], pos: Pos, opts: { maxLines: number; selection?: Sel }): HoverTarget | undefined {
  const { maxLines, selection } = opts;
  if (selection && inside(selection, pos)) {
    const lastLine = selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line - 1 : selection.end.line;
    const first = firstCodeLine(lines, selection.start.line, lastLine);
    if (pos.line !== first) return { kind: 'first-line', line: first };
    const snippet = selectSnippet(lines, pos, { maxLines, selection });
    if (!snippet) {
      const count = lastLine - selection.start.line + 1;
      return count > maxLines ? { kind: 'too-long', lines: count, maxLines } : undefined;
    }
    const constructs = outsideSubset(snippet.text);
    return constructs.length > 0 ? { kind: 'outside', snippet, constructs } : { kind: 'predict', snippet };
  }
  const snippet = selectSnippet(lines, pos, { maxLines });
  if (!snippet || snippet.source !== 'group' || pos.line !== snippet.startLine) return undefined;
  if (!PRINTS.test(snippet.text) || outsideSubset(snippet.text).length > 0) return undefined;
  return { kind: 'predict', snippet };
}

/** The program as the model is asked about it: without comment lines and blank lines, which the training programs
 *  never have and which run no code (the output and the executed-line count stay the same). */
export function programForModel(code: string): string {
  return code.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trim().startsWith('#')).join('\n');
}
