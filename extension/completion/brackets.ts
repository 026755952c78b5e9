// A small bracket-and-quote scanner (strings, escapes, triple quotes, line comments), enough to balance a
// completion against the code around it without a parser.

export interface Open {
  /** '(', '[', '{', or the quote that opened a string: ' " ` ''' """ */
  ch: string;
  /** Opened by the completion itself (not by the document). */
  own: boolean;
}

export const OPEN_OF: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
export const CLOSE_OF: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

export function lineComment(languageId: string): string {
  return ['python', 'shellscript', 'ruby', 'perl', 'r', 'yaml', 'toml', 'makefile'].includes(languageId) ? '#' : '//';
}

function quoteChars(languageId: string): string {
  return languageId === 'python' ? `'"` : `'"\``;
}

/** One scanning event, for callers that act on each character (the balance filter). */
export type Event =
  | { kind: 'char' }
  | { kind: 'open'; open: Open }
  | { kind: 'close'; open: Open }
  /** A closing bracket with nothing (or a different bracket) open. */
  | { kind: 'unmatched' }
  /** A one-line string left unterminated at a line end (dropped from the stack). */
  | { kind: 'abandon'; open: Open };

export class Scanner {
  readonly stack: Open[];
  private inComment = false;
  private readonly comment: string;
  private readonly quotes: string;

  constructor(languageId: string, stack: Open[] = []) {
    this.stack = stack.map((o) => ({ ...o }));
    this.comment = lineComment(languageId);
    this.quotes = quoteChars(languageId);
  }

  get top(): Open | undefined { return this.stack[this.stack.length - 1]; }

  /** Consumes text[i] (and possibly the following characters of a triple quote); returns the event and
   *  how many characters it used. `own` marks what the completion opens. */
  step(text: string, i: number, own: boolean): { event: Event; used: number } {
    const c = text[i];
    const top = this.top;
    if (this.inComment) {
      if (c === '\n') this.inComment = false;
      return { event: { kind: 'char' }, used: 1 };
    }
    if (top && this.quotes.includes(top.ch[0])) {
      if (c === '\\') return { event: { kind: 'char' }, used: Math.min(2, text.length - i) };
      if (top.ch.length === 3 ? text.startsWith(top.ch, i) : c === top.ch) {
        return { event: { kind: 'close', open: this.stack.pop()! }, used: top.ch.length };
      }
      if (c === '\n' && top.ch.length === 1 && top.ch !== '`') {
        return { event: { kind: 'abandon', open: this.stack.pop()! }, used: 1 };
      }
      return { event: { kind: 'char' }, used: 1 };
    }
    if (text.startsWith(this.comment, i)) {
      this.inComment = true;
      return { event: { kind: 'char' }, used: 1 };
    }
    if (this.quotes.includes(c)) {
      const triple = c !== '`' && text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      const open = { ch: triple, own };
      this.stack.push(open);
      return { event: { kind: 'open', open }, used: triple.length };
    }
    if (c in CLOSE_OF) {
      const open = { ch: c, own };
      this.stack.push(open);
      return { event: { kind: 'open', open }, used: 1 };
    }
    if (c in OPEN_OF) {
      if (top && top.ch === OPEN_OF[c]) return { event: { kind: 'close', open: this.stack.pop()! }, used: 1 };
      return { event: { kind: 'unmatched' }, used: 1 };
    }
    return { event: { kind: 'char' }, used: 1 };
  }

  /** Scans a whole text, ignoring unmatched closers. */
  feed(text: string, own = false): this {
    for (let i = 0; i < text.length;) i += this.step(text, i, own).used;
    return this;
  }

  /** Whether the scanner is inside a line comment right now. */
  get commenting(): boolean { return this.inComment; }
}

/** The brackets and strings still open at the end of `prefix` (its last `maxLines` lines). */
export function openAtEnd(prefix: string, languageId: string, maxLines = 60): Open[] {
  let start = prefix.length;
  for (let n = 0; n < maxLines && start > 0; n++) start = prefix.lastIndexOf('\n', start - 2) + 1;
  return new Scanner(languageId).feed(prefix.slice(start)).stack;
}

/** How many of the entries open at the cursor (`open`, from the top) the text `after` closes. */
export function closedBy(after: string, open: Open[], languageId: string): number {
  const s = new Scanner(languageId, open);
  let closed = 0;
  for (let i = 0; i < after.length && closed < open.length;) {
    const { event, used } = s.step(after, i, true);
    i += used;
    if (event.kind === 'close' && !event.open.own) closed++;
    else if (event.kind === 'abandon' && !event.open.own) break; // unterminated string: nothing reliable after
  }
  return closed;
}
