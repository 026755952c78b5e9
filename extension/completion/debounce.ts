// Adaptive debounce: wait about one typing interval while the user types fast (the next key would cancel the
// request anyway), the base delay otherwise, half of it after a pause, and nothing on a manual trigger.
export type TriggerKind = 'automatic' | 'invoke';

/** VS Code itself waits this long after a keystroke before asking inline providers. */
export const EDITOR_DEBOUNCE_MS = 50;

export class Debouncer {
  private last = -Infinity;
  private avg: number | undefined;

  constructor(public baseMs: number) {}

  /** The delay for a request arriving at `now` (ms); also learns the typing rhythm from automatic requests.
   *  Fast typing (keys < 300 ms apart): about one key interval, so requests the next key cancels are not
   *  started; slow typing: the base delay; the first key after a pause: half the base. */
  delay(now: number, trigger: TriggerKind): number {
    if (trigger === 'invoke' || this.baseMs <= 0) return 0;
    const gap = now - this.last;
    this.last = now;
    if (gap >= 1000 || (this.avg !== undefined && gap > 3 * this.avg)) return Math.round(this.baseMs / 2);
    this.avg = this.avg === undefined ? gap : 0.7 * this.avg + 0.3 * gap;
    if (this.avg >= 300) return this.baseMs;
    const want = 1.2 * this.avg - EDITOR_DEBOUNCE_MS;
    return Math.round(Math.min(Math.max(want, this.baseMs), Math.max(4 * this.baseMs, 250)));
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (never leaves a promise hanging). */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
