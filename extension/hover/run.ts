// "Run and compare": run a snippet with the user's Python under the trainer's own line tracer
// (linetrace.py, shipped in dist/) and read back its trace JSON. Never throws: every failure
// (no interpreter, bad JSON, timeout, cancel) comes back as a RunResult with `error` set.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunOptions {
  /** The interpreter (setting tinyfim.hover.pythonPath). */
  pythonPath: string;
  /** Path of linetrace.py. */
  tracerPath: string;
  timeoutSeconds: number;
  signal?: AbortSignal;
  cwd?: string;
  /** Extra time after the tracer's own timeout before the whole process group is killed. */
  graceMs?: number;
  /** Most bytes of tracer stdout (the JSON) accepted before the run is stopped. */
  maxOutputBytes?: number;
}

export interface RunResult {
  /** The tracer produced a trace (the snippet itself may still have raised: see error). */
  ok: boolean;
  output: string;
  lineCount: number | null;
  states: Array<[string, string]>;
  /** null, the snippet's error ("ZeroDivisionError: division by zero"), or why the run failed. */
  error: string | null;
  timedOut: boolean;
  /** The process (group) was killed by us: hard timeout, cancel or too much output. */
  killed: boolean;
  ms: number;
  pid: number | undefined;
  python: string;
}

// The tracer's own step limit stops loops long before a human-scale timeout; here the timeout decides.
const MAX_STEPS = 1_000_000_000;

function killTree(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  try {
    if (process.platform === 'win32') {
      spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' }).on('error', () => {});
    } else {
      process.kill(-pid, 'SIGKILL'); // detached: the child leads its own process group
    }
  } catch {
    // Already gone.
  }
}

function parseTrace(text: string): Pick<RunResult, 'output' | 'lineCount' | 'states' | 'error'> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text.trim().split('\n').pop() ?? '');
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.output !== 'string' || typeof r.line_count !== 'number') return undefined;
  const states = Array.isArray(r.states)
    ? r.states.filter((s): s is [string, string] => Array.isArray(s) && s.length === 2 && s.every((x) => typeof x === 'string'))
    : [];
  return { output: r.output, lineCount: r.line_count, states, error: typeof r.error === 'string' ? r.error : null };
}

/** Runs `code` (stdin: the code, then closed; the snippet itself sees an empty stdin). */
export function runSnippet(code: string, opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const graceMs = opts.graceMs ?? 1500;
  const maxBytes = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  const base = { python: opts.pythonPath, output: '', lineCount: null, states: [], timedOut: false, killed: false };
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(opts.pythonPath, [opts.tracerPath, '--timeout', String(opts.timeoutSeconds), '--max-steps', String(MAX_STEPS)], {
        cwd: opts.cwd,
        detached: process.platform !== 'win32',
        windowsHide: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' },
      });
    } catch (err) {
      resolve({ ...base, ok: false, error: `could not start ${opts.pythonPath}: ${(err as Error).message}`, ms: 0, pid: undefined });
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let why: 'timeout' | 'cancelled' | 'too much output' | undefined;
    let settled = false;
    const stop = (reason: typeof why) => {
      if (why === undefined) why = reason;
      killTree(child);
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutSeconds * 1000 + graceMs);
    const onAbort = () => stop('cancelled');
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.signal?.aborted) onAbort();

    const finish = (result: Omit<RunResult, 'ms' | 'pid' | 'python'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, ms: Date.now() - started, pid: child.pid, python: opts.pythonPath });
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) stop('too much output');
      else chunks.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const message = err.code === 'ENOENT'
        ? `Python interpreter not found: "${opts.pythonPath}" (setting tinyfim.hover.pythonPath)`
        : `could not run ${opts.pythonPath}: ${err.message}`;
      finish({ ...base, ok: false, error: message });
    });
    // Grandchildren the snippet started may hold the output pipe open: end them as soon as the tracer exits.
    child.on('exit', () => { if (process.platform !== 'win32') killTree(child); });
    child.on('close', (exitCode, signal) => {
      if (why === 'timeout') {
        finish({ ...base, ok: false, timedOut: true, killed: true, error: `timed out after ${opts.timeoutSeconds} s: process killed` });
        return;
      }
      if (why !== undefined) {
        finish({ ...base, ok: false, killed: true, error: why === 'cancelled' ? 'cancelled: process killed' : 'too much output: process killed' });
        return;
      }
      const trace = parseTrace(Buffer.concat(chunks).toString('utf8'));
      if (!trace) {
        const detail = stderr.trim().split('\n').slice(-3).join('\n') || `exit code ${exitCode ?? signal}`;
        finish({ ...base, ok: false, error: `${opts.pythonPath} did not return a trace: ${detail}` });
        return;
      }
      finish({ ...base, ...trace, ok: true, timedOut: trace.error?.startsWith('timeout') ?? false });
    });
    child.stdin?.on('error', () => {}); // EPIPE when the interpreter exits before reading everything
    child.stdin?.end(code, 'utf8');
  });
}

/** The actual answer of a trace task from a run, in the task's answer format (DESIGN.md), if it has one. */
export function actualAnswer(task: string, run: RunResult): string | undefined {
  if (!run.ok) return undefined;
  if (task === 'output') return run.output;
  if (task === 'line_count') return run.lineCount === null ? undefined : String(run.lineCount);
  if (task === 'states') return run.states.map(([k, v]) => `${k}?${v}`).join(';');
  return undefined;
}

/** Whether a predicted answer matches the actual one: output exactly (line endings normalized), others trimmed. */
export function answersMatch(task: string, predicted: string, actual: string): boolean {
  if (task === 'output') return predicted.replace(/\r\n/g, '\n') === actual.replace(/\r\n/g, '\n');
  return predicted.trim() === actual.trim();
}
