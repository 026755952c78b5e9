// Snooze: automatic completions pause for a few minutes and come back by themselves (Alt+\ still asks).
// Pure: the clock is passed in, so the status bar, the provider gate and the tests agree on one rule.

export const SNOOZE_MINUTES = [5, 15, 60] as const;

export class Snooze {
  /** Epoch ms when the snooze ends; 0: not snoozed. */
  private until = 0;

  constructor(until = 0) { this.until = until; }

  /** Snoozes for `minutes` from `now` (a new snooze replaces the old one, shorter or longer). */
  start(minutes: number, now: number): number {
    this.until = now + Math.max(0, minutes) * 60_000;
    return this.until;
  }

  stop(): void { this.until = 0; }

  active(now: number): boolean { return this.until > now; }

  /** Whole minutes left, rounded up (a snooze with 10 s left still says 1 min); 0 when not snoozed. */
  minutesLeft(now: number): number {
    return this.active(now) ? Math.ceil((this.until - now) / 60_000) : 0;
  }

  /** Milliseconds until the snooze ends (for a wake-up timer); 0 when not snoozed. */
  msLeft(now: number): number { return Math.max(0, this.until - now); }

  get endsAt(): number { return this.until; }
}

/** The languages list without `languageId`, or undefined when the list cannot say "all but this one" ('*'). */
export function withoutLanguage(languages: readonly string[], languageId: string): string[] | undefined {
  if (languages.includes('*')) return undefined;
  return languages.filter((l) => l !== languageId);
}

export function withLanguage(languages: readonly string[], languageId: string): string[] {
  return languages.includes(languageId) || languages.includes('*') ? [...languages] : [...languages, languageId];
}
