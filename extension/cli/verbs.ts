// The CLI's verbs. Each lives in its own module under extension/cli/.
import type { Verb } from './args';
import { benchVerb } from './bench';
import { calibrateVerb } from './calibrate';
import { completeVerb } from './complete';
import { latencyVerb } from './latency';
import { traceVerb } from './trace';

export const verbs: Record<string, Verb> = {
  complete: completeVerb,
  trace: traceVerb,
  bench: benchVerb,
  latency: latencyVerb,
  calibrate: calibrateVerb,
};
