// Completion / trace metrics, pure functions. chrF and BLEU follow sacreBLEU 2.x exactly (defaults:
// chrF char order 6, word order 0, beta 2, whitespace removed; BLEU 13a tokenizer, 4-grams, 'exp' smoothing,
// effective order at sentence level), so numbers compare with papers. All scores are in [0, 1] here
// (sacreBLEU prints 0..100). The argument order is always (hypothesis, reference).

/** Python's str.split(): split on Unicode whitespace as Python defines it, drop empties. */
// eslint-disable-next-line no-control-regex -- Python counts \x1c-\x1f as whitespace
const PY_WS = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
export function pySplit(s: string): string[] {
  return s.split(PY_WS).filter((w) => w.length > 0);
}

export function exactMatch(hyp: string, ref: string): number {
  return hyp.trim() === ref.trim() ? 1 : 0;
}

/** Levenshtein distance over code points (or any token arrays). */
export function levenshtein<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** 1 - Levenshtein / max(len) over characters (code points); 1 for two empty strings. */
export function editSimilarity(hyp: string, ref: string): number {
  const a = Array.from(hyp);
  const b = Array.from(ref);
  const n = Math.max(a.length, b.length);
  return n === 0 ? 1 : 1 - levenshtein(a, b) / n;
}

/** Word error rate: word-level edit distance / number of reference words (whitespace split). */
export function wordErrorRate(hyp: string, ref: string): number {
  const h = pySplit(hyp);
  const r = pySplit(ref);
  if (r.length === 0) return h.length === 0 ? 0 : 1; // undefined in the textbook; count "anything vs nothing" as all wrong
  return levenshtein(h, r) / r.length;
}

/** Jaccard index of the sets of whitespace-split words; 1 when both are empty. */
export function wordSetIou(hyp: string, ref: string): number {
  const a = new Set(pySplit(hyp));
  const b = new Set(pySplit(ref));
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const w of a) if (b.has(w)) inter++;
  return inter / (a.size + b.size - inter);
}

function counts(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) m.set(it, (m.get(it) ?? 0) + 1);
  return m;
}

// ---------------------------------------------------------------- chrF (sacrebleu.metrics.chrf.CHRF)
const CHAR_ORDER = 6;
const BETA = 2;

/** Sufficient statistics of one segment: [hyp, ref, match] counts for n = 1..6. */
export function chrfStats(hyp: string, ref: string): number[] {
  const h = Array.from(pySplit(hyp).join(''));
  const r = Array.from(pySplit(ref).join(''));
  const stats: number[] = [];
  for (let n = 1; n <= CHAR_ORDER; n++) {
    const hg = counts(ngrams(h, n, ''));
    const rg = counts(ngrams(r, n, ''));
    let hypCount = 0;
    let match = 0;
    for (const [g, c] of hg) {
      hypCount += c;
      const rc = rg.get(g);
      if (rc !== undefined) match += Math.min(c, rc);
    }
    let refCount = 0;
    for (const c of rg.values()) refCount += c;
    stats.push(rg.size > 0 ? hypCount : 0, refCount, match);
  }
  return stats;
}

function ngrams(tokens: string[], n: number, sep: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(sep));
  return out;
}

/** chrF from (summed) statistics, in [0, 1]: sacreBLEU's effective-order average of P and R, then F-beta. */
export function chrfFromStats(stats: readonly number[]): number {
  const factor = BETA * BETA;
  let avgP = 0;
  let avgR = 0;
  let eff = 0;
  for (let i = 0; i < CHAR_ORDER; i++) {
    const [nHyp, nRef, nMatch] = stats.slice(3 * i, 3 * i + 3);
    if (nHyp > 0 && nRef > 0) {
      avgP += nMatch / nHyp;
      avgR += nMatch / nRef;
      eff++;
    }
  }
  if (eff === 0) return 0;
  avgP /= eff;
  avgR /= eff;
  if (avgP + avgR === 0) return 0;
  return ((1 + factor) * avgP * avgR) / (factor * avgP + avgR);
}

export function chrf(hyp: string, ref: string): number {
  return chrfFromStats(chrfStats(hyp, ref));
}

// ---------------------------------------------------------------- BLEU (sacrebleu.metrics.bleu.BLEU)
const MAX_ORDER = 4;

/** sacreBLEU's default '13a' tokenizer (mteval-v13a). */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  s = ` ${s} `;
  s = s.replace(/([{-~[-`\x20-&(-+:-@/])/gu, ' $1 ');
  s = s.replace(/([^0-9])([.,])/gu, '$1 $2 ');
  s = s.replace(/([.,])([^0-9])/gu, ' $1 $2');
  s = s.replace(/([0-9])(-)/gu, '$1 $2 ');
  return pySplit(s).join(' ');
}

/** [hypLen, refLen, correct1..4, total1..4] for one segment. */
export function bleuStats(hyp: string, ref: string): number[] {
  const h = pySplit(tokenize13a(hyp));
  const r = pySplit(tokenize13a(ref));
  const correct = [0, 0, 0, 0];
  const total = [0, 0, 0, 0];
  for (let n = 1; n <= MAX_ORDER; n++) {
    const hg = counts(ngrams(h, n, '\u0000'));
    const rg = counts(ngrams(r, n, '\u0000'));
    for (const [g, c] of hg) {
      total[n - 1] += c;
      const rc = rg.get(g);
      if (rc !== undefined) correct[n - 1] += Math.min(c, rc);
    }
  }
  return [h.length, r.length, ...correct, ...total];
}

/** BLEU in [0, 1] from (summed) statistics with 'exp' smoothing; effectiveOrder for sentence level. */
export function bleuFromStats(stats: readonly number[], effectiveOrder: boolean): number {
  const [sysLen, refLen] = stats;
  const correct = stats.slice(2, 2 + MAX_ORDER);
  const total = stats.slice(2 + MAX_ORDER, 2 + 2 * MAX_ORDER);
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  if (!correct.some((c) => c > 0)) return 0;
  const precisions = [0, 0, 0, 0];
  let smooth = 1;
  let effOrder = MAX_ORDER;
  for (let n = 1; n <= MAX_ORDER; n++) {
    if (total[n - 1] === 0) break;
    if (effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      smooth *= 2;
      precisions[n - 1] = 100 / (smooth * total[n - 1]);
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += precisions[i] === 0 ? -9999999999 : Math.log(precisions[i]);
  return (bp * Math.exp(logSum / effOrder)) / 100;
}

/** Sentence BLEU as `sacrebleu.sentence_bleu(hyp, [ref])`, scaled to [0, 1]. */
export function sentenceBleu(hyp: string, ref: string): number {
  return bleuFromStats(bleuStats(hyp, ref), true);
}

function sumStats(rows: readonly number[][]): number[] {
  const out = rows.length ? rows[0].map(() => 0) : [];
  for (const r of rows) r.forEach((v, i) => { out[i] += v; });
  return out;
}

/** Corpus BLEU as `sacrebleu.corpus_bleu(hyps, [refs])`, scaled to [0, 1]. */
export function corpusBleu(hyps: readonly string[], refs: readonly string[]): number {
  return hyps.length ? bleuFromStats(sumStats(hyps.map((h, i) => bleuStats(h, refs[i]))), false) : 0;
}

/** Corpus chrF as `sacrebleu.corpus_chrf(hyps, [refs])`, scaled to [0, 1]. */
export function corpusChrf(hyps: readonly string[], refs: readonly string[]): number {
  return hyps.length ? chrfFromStats(sumStats(hyps.map((h, i) => chrfStats(h, refs[i])))) : 0;
}

/** Nearest-rank percentile (p in 0..100) of unsorted numbers; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}
