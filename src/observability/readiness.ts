/**
 * Readiness: `/-/ready` answers 200 only while a configuration is loaded, the upstream
 * answered its buildinfo probe recently, and the process is not shutting down (503
 * `not_ready` otherwise). The probe runs in the background every
 * `server.ready_probe_interval`, so the endpoint itself costs nothing.
 */

/** What `/-/ready` reports. */
export type ReadyState = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** The process's readiness. */
export interface Readiness {
  /** The current state (cheap: no I/O). */
  state(): ReadyState;
  /** Marks the process as shutting down: readiness is 503 from now on. */
  shuttingDown(): void;
  /** Runs one probe now (after a reload) and resolves when it is recorded; never rejects. */
  probeNow(): Promise<void>;
  /** Stops the background probe. */
  stop(): void;
}

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  /** Probes the upstream (GET buildinfo through the current application); rejects on failure. */
  readonly probe: () => Promise<unknown>;
  /** Interval between probes, ms (`server.ready_probe_interval`). A success older than 3 intervals is stale. */
  readonly intervalMs: number;
  /** Clock, ms. Default Date.now. */
  readonly now?: () => number;
  /** Called when readiness changes (`ready`, or the reason it is not), for the log. */
  readonly onChange?: (state: ReadyState) => void;
}

/**
 * Starts the background probe (first probe at once) and returns the readiness.
 *
 * Rule: ready ⇔ not shutting down ∧ the last probe succeeded ∧ it succeeded less than
 * 3 × `intervalMs` ago (a probe that hangs past its interval makes readiness stale rather
 * than stuck at the last answer). Before the first probe has answered: 503.
 */
export function createReadiness(opts: ReadinessOptions): Readiness {
  const now = opts.now ?? Date.now;
  let stopping = false;
  let lastOk = false;
  let lastSuccessAt = -Infinity;
  let lastError = 'the upstream has not answered its buildinfo probe yet';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let reported: string | undefined;

  const compute = (): ReadyState => {
    if (stopping) return { ready: false, reason: 'shutting down' };
    if (!lastOk) return { ready: false, reason: lastError };
    if (now() - lastSuccessAt > 3 * opts.intervalMs) return { ready: false, reason: 'the upstream buildinfo probe has not answered recently' };
    return { ready: true };
  };
  const report = () => {
    const s = compute();
    const key = s.ready ? 'ready' : s.reason;
    if (key !== reported) {
      reported = key;
      opts.onChange?.(s);
    }
  };
  const probeOnce = (): Promise<void> => {
    running ??= (async () => {
      try {
        await opts.probe();
        lastOk = true;
        lastSuccessAt = now();
      } catch (err) {
        lastOk = false;
        lastError = `the upstream buildinfo probe failed: ${err instanceof Error ? err.message : String(err)}`;
      } finally {
        running = undefined;
        report();
      }
    })();
    return running;
  };
  const loop = () => {
    if (stopping) return;
    void probeOnce().then(() => {
      if (stopping) return;
      timer = setTimeout(loop, opts.intervalMs);
      timer.unref();
    });
  };
  loop();

  return {
    state: compute,
    shuttingDown() {
      stopping = true;
      if (timer) clearTimeout(timer);
      report();
    },
    probeNow: probeOnce,
    stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
    },
  };
}
