// Token healing. A prompt that ends at the cursor often ends inside what the model would have written as one token:
// `self.` then `get` (the tokenizer has `.get`), trailing indentation (8 spaces where training text has 7 + ` if`),
// `x = ` (training text has ` None`), `fin` of `final`. The engine takes back the prefix's last token(s) when a longer
// vocabulary entry extends them, and the first generated tokens must re-write the removed bytes (each one either
// starts with what is left of them or is a piece of it); the completion is what comes after those bytes.
import type { Tokenizer } from './tokenizer';

/** Bytes as a 'binary' string, one char (0..255) per byte: such strings compare and sort in byte order. */
export function binary(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** The vocabulary sorted by bytes (built once per tokenizer): which entries start with given bytes, which are a
 *  piece of them. */
export class VocabIndex {
  /** Token id -> its bytes as a binary string ('' for special tokens). */
  readonly texts: string[];
  private readonly sorted: string[];
  private readonly sortedIds: Int32Array;
  private readonly byText = new Map<string, number>();

  constructor(tok: Pick<Tokenizer, 'vocabSize' | 'tokenBytes'>) {
    this.texts = [];
    for (let id = 0; id < tok.vocabSize; id++) this.texts.push(binary(tok.tokenBytes(id)));
    const ids = this.texts.map((_, id) => id).filter((id) => this.texts[id] !== '');
    ids.sort((a, b) => (this.texts[a] < this.texts[b] ? -1 : this.texts[a] > this.texts[b] ? 1 : a - b));
    this.sortedIds = Int32Array.from(ids);
    this.sorted = ids.map((id) => this.texts[id]);
    for (const id of ids) if (!this.byText.has(this.texts[id])) this.byText.set(this.texts[id], id);
  }

  private lowerBound(s: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** [lo, hi) in sorted order: the entries that start with `s`. */
  private range(s: string): [number, number] {
    return [this.lowerBound(s), this.lowerBound(s + '\u0100')]; // \u0100 sorts after every byte
  }

  /** Whether some entry is longer than `s` and starts with it. */
  extendable(s: string): boolean {
    const [lo, hi] = this.range(s);
    let i = lo;
    while (i < hi && this.sorted[i] === s) i++; // the entry equal to `s` sorts first
    return i < hi;
  }

  /** Ids a step may choose while `rest` (non-empty) is still to be re-written: entries that start with `rest`,
   *  and entries that are a proper start of it (written in several tokens). */
  allowed(rest: string): number[] {
    const [lo, hi] = this.range(rest);
    const out: number[] = [];
    for (let i = lo; i < hi; i++) out.push(this.sortedIds[i]);
    for (let n = 1; n < rest.length; n++) {
      const id = this.byText.get(rest.slice(0, n));
      if (id !== undefined) out.push(id);
    }
    return out;
  }
}

export interface Healing {
  /** The prefix ids without the removed tokens. */
  ids: number[];
  /** The removed bytes (binary string); '' when nothing was removed. */
  removed: string;
  tokens: number;
}

/** At most this many tokens / bytes are taken back (a partial word, an operator, indentation). */
export const MAX_HEAL_TOKENS = 3;
export const MAX_HEAL_BYTES = 48;

/** Takes back the last tokens of `ids` (a prefix ending at the cursor) while a longer vocabulary entry starts with
 *  their bytes: `fin` + `a` goes back whole when `final` is an entry, `\n` + 8 spaces only as far as the spaces. */
export function healPrefix(ids: readonly number[], index: VocabIndex): Healing {
  let k = 0;
  let removed = '';
  for (let n = 1; n <= Math.min(MAX_HEAL_TOKENS, ids.length); n++) {
    const text = index.texts[ids[ids.length - n]] + removed;
    if (text.length > MAX_HEAL_BYTES || index.texts[ids[ids.length - n]] === '' || !index.extendable(text)) break;
    k = n;
    removed = text;
  }
  return { ids: ids.slice(0, ids.length - k), removed, tokens: k };
}

/** Logits with every id outside `allowed` at -Infinity (a copy of row `row`). */
export function maskLogits(logits: Float32Array, row: number, vocab: number, allowed: readonly number[]): Float32Array {
  const out = new Float32Array(vocab).fill(-Infinity);
  const off = row * vocab;
  for (const id of allowed) out[id] = logits[off + id];
  return out;
}
