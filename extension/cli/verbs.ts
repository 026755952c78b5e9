// The CLI's verbs. Each lives in its own module under extension/cli/.
import type { Verb } from './main';

export const verbs: Record<string, Verb> = {};
