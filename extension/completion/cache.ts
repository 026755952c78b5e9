// Typing-through cache: when the user types what the ghost text shows, the rest is served with no model call.
// An entry remembers the text around the cursor when the suggestion was made; a later request hits when its
// prefix is the old prefix plus a start of the suggestion, and the text after the replaced range is unchanged.
import { type CompletionContext } from './context';

/** Characters of text kept on each side of the cursor to recognise the same place (plus the lengths). */
const WINDOW = 1024;

interface Entry {
  docId: string;
  prefixLen: number;
  prefixTail: string;
  /** The suffix after the replaced closers: its length and its head. */
  restLen: number;
  restHead: string;
  /** The suggestion with '\n' line ends, and its id (for acceptance statistics). */
  text: string;
  id: number;
  at: number;
}

export interface CacheHit {
  /** What replaces replaceRange(ctx) now: the part of the suggestion not typed yet ('' when all typed). */
  text: string;
  id: number;
  typed: number;
}

export class TypingCache {
  private entries: Entry[] = [];

  constructor(private readonly capacity = 32, private readonly ttlMs = 5 * 60_000) {}

  get size(): number { return this.entries.length; }

  add(docId: string, ctx: CompletionContext, text: string, id: number, now = Date.now()): void {
    const rest = ctx.suffix.slice(ctx.closers.length);
    this.entries.push({
      docId, prefixLen: ctx.prefix.length, prefixTail: ctx.prefix.slice(-WINDOW),
      restLen: rest.length, restHead: rest.slice(0, WINDOW), text: text.replace(/\r\n/g, '\n'), id, at: now,
    });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** The newest entry this context types through, if any. */
  lookup(docId: string, ctx: CompletionContext, now = Date.now()): CacheHit | undefined {
    this.entries = this.entries.filter((e) => now - e.at <= this.ttlMs);
    const rest = ctx.suffix.slice(ctx.closers.length);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.docId !== docId || ctx.prefix.length < e.prefixLen || rest.length !== e.restLen) continue;
      const typed = ctx.prefix.slice(e.prefixLen);
      if (typed.length > e.text.length || !e.text.startsWith(typed)) continue;
      if (ctx.prefix.slice(e.prefixLen - e.prefixTail.length, e.prefixLen) !== e.prefixTail) continue;
      if (rest.slice(0, WINDOW) !== e.restHead) continue;
      const remainder = e.text.slice(typed.length);
      return { text: ctx.eol === '\n' ? remainder : remainder.replace(/\n/g, ctx.eol), id: e.id, typed: typed.length };
    }
    return undefined;
  }

  /** Forgets a document's entries (closed) or everything. */
  clear(docId?: string): void {
    this.entries = docId === undefined ? [] : this.entries.filter((e) => e.docId !== docId);
  }
}
