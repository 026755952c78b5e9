// Byte-level BPE tokenizer reading the trainer's tokenizer.json.
// Encoding uses @huggingface/tokenizers with the added (special) tokens removed from its view, so user text
// that contains e.g. "<|endoftext|>" is encoded as ordinary bytes (DESIGN.md); prompts insert special ids
// explicitly. Decoding is our own byte-level inverse (exactly HF's ByteLevel decoder + lossy UTF-8), which
// also lets the decoder hold back an incomplete UTF-8 character at the end of a stream.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelLoadError } from './errors';

/** GPT-2's reversible byte <-> printable-unicode table used by ByteLevel pre-tokenizers. */
function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i])]));
}

const CHAR_TO_BYTE: Map<string, number> = new Map([...bytesToUnicode()].map(([b, c]) => [c, b]));

interface AddedTokenJson { id: number; content: string; special?: boolean }

export class Tokenizer {
  private readonly hf: HfTokenizer;
  /** Token id -> its bytes (empty for special tokens, which decode to nothing). */
  private readonly idBytes: Uint8Array[] = [];
  readonly specialIds = new Map<string, number>();
  readonly vocabSize: number;
  private readonly memo = new Map<string, number[]>();
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });

  constructor(json: unknown, path?: string) {
    const bad = (m: string): never => { throw new ModelLoadError('tokenizer_error', `tokenizer.json: ${m}`, path); };
    if (typeof json !== 'object' || json === null) bad('not a JSON object');
    const j = json as Record<string, unknown>;
    const model = j.model as Record<string, unknown> | undefined;
    if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object' || model.vocab === null) bad('model must be a BPE model with a vocab');
    const decoder = j.decoder as Record<string, unknown> | null | undefined;
    if (!decoder || decoder.type !== 'ByteLevel') bad(`decoder must be ByteLevel (byte-level BPE), got ${JSON.stringify(decoder?.type ?? null)}`);
    if (j.normalizer !== null && j.normalizer !== undefined) bad('a normalizer is not supported (the trainer writes none)');
    const added = (Array.isArray(j.added_tokens) ? j.added_tokens : []) as AddedTokenJson[];
    let hf: HfTokenizer | null = null;
    try {
      hf = new HfTokenizer({ ...j, added_tokens: [] }, {});
    } catch (err) {
      bad(`cannot be read (${(err as Error).message})`);
    }
    this.hf = hf!;
    const vocab = model!.vocab as Record<string, number>;
    let maxId = -1;
    for (const [tok, id] of Object.entries(vocab)) {
      const bytes: number[] = [];
      for (const ch of tok) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) { bytes.length = 0; break; } // not a byte-level token (e.g. a special token in the vocab)
        bytes.push(b);
      }
      this.idBytes[id] = Uint8Array.from(bytes);
      maxId = Math.max(maxId, id);
    }
    for (const t of added) {
      this.idBytes[t.id] = new Uint8Array(0);
      this.specialIds.set(t.content, t.id);
      maxId = Math.max(maxId, t.id);
    }
    this.vocabSize = maxId + 1;
  }

  /** Ids of ordinary text (special-token text is NOT special here). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    const hit = this.memo.get(text);
    if (hit) return hit;
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    // A tiny memo: the editor re-encodes the same suffix (and often prefix head) on every keystroke.
    if (this.memo.size >= 8) this.memo.delete(this.memo.keys().next().value as string);
    this.memo.set(text, ids);
    return ids;
  }

  /** The bytes a sequence of ids stands for (special tokens contribute nothing). */
  bytes(ids: readonly number[]): Uint8Array {
    let n = 0;
    for (const id of ids) n += this.idBytes[id]?.length ?? 0;
    const out = new Uint8Array(n);
    let k = 0;
    for (const id of ids) {
      const b = this.idBytes[id];
      if (b) { out.set(b, k); k += b.length; }
    }
    return out;
  }

  /** Text of ids, like Python `tokenizer.decode(ids)` (skips special tokens, invalid UTF-8 -> U+FFFD). */
  decode(ids: readonly number[]): string {
    return this.utf8.decode(this.bytes(ids));
  }

  /** Like decode, but an incomplete UTF-8 sequence at the very end is left out (for text still growing).
   *  `skipBytes`: leave out that many leading bytes too (token healing re-writes bytes the prompt already has). */
  decodeStable(ids: readonly number[], skipBytes = 0): string {
    const b = this.bytes(ids);
    if (skipBytes >= b.length) return '';
    return this.utf8.decode(b.subarray(skipBytes, b.length - incompleteTail(b)));
  }

  /** The bytes of one token (empty for special tokens). */
  tokenBytes(id: number): Uint8Array {
    return this.idBytes[id] ?? new Uint8Array(0);
  }

  special(token: string): number {
    const id = this.specialIds.get(token);
    if (id === undefined) throw new ModelLoadError('tokenizer_error', `tokenizer.json lacks the special token ${token}`);
    return id;
  }

  isSpecial(id: number): boolean {
    const b = this.idBytes[id];
    return b !== undefined && b.length === 0;
  }
}

/** Number of bytes at the end of `b` that start a UTF-8 character but do not finish it. */
export function incompleteTail(b: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back];
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}
