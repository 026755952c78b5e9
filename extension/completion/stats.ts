// Local acceptance statistics: counted on this machine, stored in the extension's global state, never sent.
export interface StatsStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export interface StatsData {
  shown: number;
  accepted: number;
  acceptedChars: number;
  /** Accept next word / next line (the rest of the suggestion may still be accepted or dismissed later). */
  partial: number;
  partialChars: number;
  cacheHits: number;
  modelCalls: number;
  empty: number;
  /** Automatic suggestions not shown for low confidence (tinyfim.completions.minConfidence). */
  hidden: number;
  since: string;
}

const KEY = 'tinyfim.stats.v1';

const emptyData = (now: Date): StatsData => ({
  shown: 0, accepted: 0, acceptedChars: 0, partial: 0, partialChars: 0, cacheHits: 0, modelCalls: 0, empty: 0, hidden: 0,
  since: now.toISOString(),
});

/**
 * The characters of `inserted` that came from the suggestion `shown` by a partial accept: the inserted text must
 * be the start of what is left of the suggestion after `taken` characters were already accepted from it.
 * 0 when it is not (the edit came from another provider, or from typing).
 */
export function partialChars(shown: string, taken: number, inserted: string): number {
  if (inserted === '' || taken < 0) return 0;
  return shown.startsWith(inserted, taken) ? inserted.length : 0;
}

const LATENCIES = 200;

export class Stats {
  data: StatsData;
  /** Recent model-call latencies (ms), this session only. */
  readonly latencies: number[] = [];
  private dirty = 0;

  constructor(private readonly store?: StatsStore, now = new Date()) {
    const saved = store?.get<Partial<StatsData>>(KEY);
    this.data = { ...emptyData(now), ...saved };
  }

  shown(): void { this.data.shown++; this.touch(); }
  empty(): void { this.data.empty++; this.touch(); }
  hidden(): void { this.data.hidden++; this.touch(); }
  cacheHit(): void { this.data.cacheHits++; this.touch(); }

  modelCall(ms: number): void {
    this.data.modelCalls++;
    this.latencies.push(ms);
    if (this.latencies.length > LATENCIES) this.latencies.shift();
    this.touch();
  }

  accepted(chars: number): void {
    this.data.accepted++;
    this.data.acceptedChars += chars;
    this.touch(true);
  }

  partiallyAccepted(chars: number): void {
    this.data.partial++;
    this.data.partialChars += chars;
    this.touch(true);
  }

  get acceptRate(): number | undefined {
    return this.data.shown ? this.data.accepted / this.data.shown : undefined;
  }

  /** p-th percentile (nearest rank) of recent latencies. */
  latency(p: number): number | undefined {
    if (!this.latencies.length) return undefined;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  }

  summary(): string[] {
    const d = this.data;
    const rate = this.acceptRate;
    const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${Math.round(v)} ms`);
    return [
      `Suggestions shown: ${d.shown}, accepted: ${d.accepted}${rate === undefined ? '' : ` (${(rate * 100).toFixed(1)}%)`}, ${d.acceptedChars} characters accepted`,
      `Partly accepted (next word / next line): ${d.partial}, ${d.partialChars} characters`,
      `Model calls: ${d.modelCalls}, typing-through cache hits: ${d.cacheHits}, empty results: ${d.empty}, hidden for low confidence: ${d.hidden}`,
      `Latency of recent model calls: p50 ${ms(this.latency(50))}, p95 ${ms(this.latency(95))}`,
      `Counting since ${d.since.slice(0, 10)}. These numbers stay on this machine.`,
    ];
  }

  async reset(now = new Date()): Promise<void> {
    this.data = emptyData(now);
    this.latencies.length = 0;
    await this.flush();
  }

  private touch(now = false): void {
    if (++this.dirty >= 20 || now) void this.flush();
  }

  async flush(): Promise<void> {
    this.dirty = 0;
    await this.store?.update(KEY, { ...this.data });
  }
}
