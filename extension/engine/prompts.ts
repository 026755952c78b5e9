// Prompt building from the manifest's templates: FIM (PSM / SPM) and trace tasks.
// Templates mix special tokens (`<|fim_prefix|>`), placeholders (`{prefix}`) and, rarely, literal text;
// specials become their ids directly, user text is always encoded as ordinary text.
import { PREFIX_SHARE } from './contract';
import { healPrefix, type VocabIndex } from './heal';
import type { ModelManifest } from './manifest';
import type { Tokenizer } from './tokenizer';

export type FimMode = 'psm' | 'spm';

type Part = { kind: 'special'; id: number } | { kind: 'slot'; name: string } | { kind: 'text'; text: string };

/** Splits a template into special tokens, `{slot}`s and literal text. */
export function parseTemplate(template: string, tok: Tokenizer): Part[] {
  const parts: Part[] = [];
  for (const piece of template.split(/(\{[a-z_]+\}|<\|[a-z_]+\|>)/)) {
    if (piece === '') continue;
    if (piece.startsWith('{') && piece.endsWith('}')) parts.push({ kind: 'slot', name: piece.slice(1, -1) });
    else if (piece.startsWith('<|') && tok.specialIds.has(piece)) parts.push({ kind: 'special', id: tok.special(piece) });
    else parts.push({ kind: 'text', text: piece });
  }
  return parts;
}

function render(parts: Part[], slots: Record<string, number[]>, tok: Tokenizer): number[] {
  const ids: number[] = [];
  for (const p of parts) {
    if (p.kind === 'special') ids.push(p.id);
    else if (p.kind === 'text') ids.push(...tok.encode(p.text));
    else ids.push(...(slots[p.name] ?? []));
  }
  return ids;
}

function fixedCost(parts: Part[], tok: Tokenizer): number {
  return render(parts, {}, tok).length;
}

/**
 * Keeps the END of `text` (whole lines) within `budget` tokens; the cursor line is cut token-wise only
 * if it alone is too long. Returns the kept text and its ids.
 */
export function keepTail(text: string, budget: number, tok: Tokenizer): { text: string; ids: number[] } {
  const ids = tok.encode(text);
  if (ids.length <= budget) return { text, ids };
  if (budget <= 0) return { text: '', ids: [] };
  const starts: number[] = []; // line starts (just after each '\n'), the candidate cut points
  for (let i = text.indexOf('\n'); i !== -1 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const enc = (k: number): number[] => (k < starts.length ? tok.encode(text.slice(starts[k])) : []);
  // First guess from the average token length, then walk line by line to the longest tail that fits.
  const guess = text.length - Math.floor(budget * (text.length / ids.length));
  let k = starts.findIndex((s) => s >= guess);
  if (k === -1) k = starts.length;
  let cur = enc(k);
  while (k < starts.length && cur.length > budget) { k++; cur = enc(k); }
  while (k > 0) {
    const more = enc(k - 1);
    if (more.length > budget) break;
    k--;
    cur = more;
  }
  if (k < starts.length) return { text: text.slice(starts[k]), ids: cur };
  // Not even the cursor line fits: keep its last `budget` tokens.
  const lastIds = tok.encode(starts.length ? text.slice(starts[starts.length - 1]) : text);
  const keep = lastIds.slice(lastIds.length - budget);
  return { text: tok.decode(keep), ids: keep };
}

/** Keeps the START of `text` (whole lines) within `budget` tokens. */
export function keepHead(text: string, budget: number, tok: Tokenizer): { text: string; ids: number[] } {
  const ids = tok.encode(text);
  if (ids.length <= budget) return { text, ids };
  if (budget <= 0) return { text: '', ids: [] };
  const ends: number[] = []; // positions just after each '\n'
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) ends.push(i + 1);
  const guess = Math.floor(budget * (text.length / ids.length));
  let k = ends.length - 1;
  while (k >= 0 && ends[k] > guess) k--;
  // Move forward while longer heads still fit, backward while this one does not.
  let cur = k >= 0 ? tok.encode(text.slice(0, ends[k])) : [];
  while (k >= 0 && cur.length > budget) { k--; cur = k >= 0 ? tok.encode(text.slice(0, ends[k])) : []; }
  while (k + 1 < ends.length) {
    const more = tok.encode(text.slice(0, ends[k + 1]));
    if (more.length > budget) break;
    k++;
    cur = more;
  }
  if (k >= 0) return { text: text.slice(0, ends[k]), ids: cur };
  // Not even the first line fits: keep its first `budget` tokens (a partial line is still useful context).
  const first = tok.encode(ends.length ? text.slice(0, ends[0]) : text).slice(0, budget);
  return { text: tok.decode(first), ids: first };
}

export interface FimPrompt {
  ids: number[];
  mode: FimMode;
  /** The parts of prefix and suffix that made it into the prompt (after trimming). */
  prefix: string;
  suffix: string;
  /** Token healing: the bytes (binary string, heal.ts) and number of tokens taken back from the prefix's end. */
  healed: string;
  healedTokens: number;
}

/**
 * Builds a FIM prompt within `budget` tokens. The prefix gets `prefixShare` of the space left after the template's
 * own tokens, the suffix the rest; a side that needs less lends the difference to the other.
 */
export function buildFimPrompt(
  manifest: ModelManifest, tok: Tokenizer, prefix: string, suffix: string,
  opts: { mode?: FimMode; budget: number; prefixShare?: number; heal?: VocabIndex },
): FimPrompt {
  const mode = opts.mode ?? manifest.prompts.fim.default_mode;
  const parts = parseTemplate(manifest.prompts.fim[mode], tok);
  const room = Math.max(0, opts.budget - fixedCost(parts, tok));
  const share = opts.prefixShare ?? manifest.prompts.fim.prefix_share ?? PREFIX_SHARE;
  const pAll = tok.encode(prefix);
  const sAll = tok.encode(suffix);
  let p = { text: prefix, ids: pAll };
  let s = { text: suffix, ids: sAll };
  if (pAll.length + sAll.length > room) {
    const sBudget = Math.min(sAll.length, Math.max(Math.floor(room * (1 - share)), room - pAll.length));
    s = keepHead(suffix, sBudget, tok);
    p = keepTail(prefix, room - s.ids.length, tok);
  }
  const h = opts.heal ? healPrefix(p.ids, opts.heal) : { ids: p.ids, removed: '', tokens: 0 };
  return {
    ids: render(parts, { prefix: h.ids, suffix: s.ids }, tok), mode, prefix: p.text, suffix: s.text,
    healed: h.removed, healedTokens: h.tokens,
  };
}

/** Trace prompt for `task`; null when the program does not fit in `budget` tokens (never silently cut code). */
export function buildTracePrompt(manifest: ModelManifest, tok: Tokenizer, task: string, program: string, budget: number): number[] | null {
  const t = manifest.prompts.tasks[task];
  if (!t) throw new Error(`unknown task '${task}' (this model has: ${Object.keys(manifest.prompts.tasks).join(', ') || 'none'})`);
  const ids = render(parseTemplate(t.template, tok), { program: tok.encode(program) }, tok);
  return ids.length <= budget ? ids : null;
}
