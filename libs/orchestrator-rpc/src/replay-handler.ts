import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  ReplayTransport,
  WorkloadFormat,
  type ReplayRequest,
  type ReplayResponse,
  type ReplayResult,
} from '@pagemesh/proto';
import {
  BUILTIN_WORKLOADS,
  WorkloadError,
  bootInprocStack,
  builtinWorkload,
  loadOpsText,
  loadWorkloadText,
  replayWorkload,
  type RunReport,
  type StackFactory,
  type Workload,
} from '@pagemesh/replay';
import { DomainError } from '@pagemesh/service-kit';
import { RemoteStackError, remoteStackFactory, type RemoteAddresses } from './remote-stack';

/** How the orchestrator service replays. */
export interface ReplayServiceOptions {
  /** The services it was started with (its --*-address flags); null when started alone. */
  readonly stack: RemoteAddresses | null;
  /** Clock for the rate (ms); performance.now by default. */
  readonly now?: () => number;
}

/** The workload a request names or carries; what is wrong with it, as a domain error. */
export function requestedWorkload(req: ReplayRequest): Workload {
  const w = req.workload;
  if (!w || (w.$case === 'builtin' && w.value === ''))
    throw new DomainError('invalid-argument', 'no workload: name a built-in one or send its text', {
      field: 'workload',
      value: '',
    });
  if (w.$case === 'builtin') {
    const found = builtinWorkload(w.value);
    if (!found)
      throw new DomainError(
        'not-found',
        `builtin=${JSON.stringify(w.value)}: no such built-in workload (${BUILTIN_WORKLOADS.map((b) => b.name).join(', ')})`,
        { field: 'builtin', value: w.value },
      );
    return found;
  }
  const source = w.value.source || 'workload';
  try {
    return w.value.format === WorkloadFormat.WORKLOAD_FORMAT_OPS
      ? loadOpsText(w.value.text, source)
      : loadWorkloadText(w.value.text, source);
  } catch (e) {
    if (e instanceof WorkloadError)
      throw new DomainError('invalid-argument', e.message, { field: 'text', value: source });
    throw e;
  }
}

/** One line per failed expectation, as the CLI prints them: `where: what: detail`. */
export function failureLines(report: RunReport): string[] {
  return report.failures.map((f) => `${f.at}: ${f.what}: ${f.detail}`);
}

export function replayResult(report: RunReport): ReplayResult {
  return {
    reportJson: JSON.stringify(report),
    ok: report.ok,
    failures: failureLines(report),
    exitCode: report.ok ? 0 : 1,
    transport: report.transport,
  };
}

/**
 * The Replay handler: the workload replayed on the orchestrator's stack (one replay at a time:
 * two at once would share one machine) or in-process (each on its own machine), a progress event
 * each time another per cent of its operations is done, then the result.
 */
export function replayHandler(options: ReplayServiceOptions) {
  const now = options.now ?? (() => performance.now());
  /** The replays on the stack, one after the other. */
  let stackQueue: Promise<unknown> = Promise.resolve();

  const factoryFor = (req: ReplayRequest): StackFactory => {
    if (req.transport === ReplayTransport.REPLAY_TRANSPORT_INPROC) return bootInprocStack;
    if (!options.stack)
      throw new DomainError(
        'failed-precondition',
        'the orchestrator was started without the addresses of the services below it ' +
          '(--vma-manager-address, --device-drivers-address, --mmu-address, --page-allocator-address): ' +
          'ask for transport REPLAY_TRANSPORT_INPROC',
        { field: 'transport', value: 'REPLAY_TRANSPORT_UNSPECIFIED' },
      );
    return remoteStackFactory(options.stack, { reuse: req.reuseStack });
  };

  const run = async (call: ServerWritableStream<ReplayRequest, ReplayResponse>): Promise<void> => {
    const req = call.request;
    const workload = requestedWorkload(req);
    const factory = factoryFor(req);
    const started = now();
    let lastPercent = -1;
    let lastDone = 0;
    const progress = (done: number, total: number) => {
      const seconds = (now() - started) / 1000;
      call.write({
        event: {
          $case: 'progress',
          value: {
            opsDone: BigInt(done),
            opsTotal: BigInt(total),
            opsPerSecond: seconds > 0 ? done / seconds : 0,
          },
        },
      });
    };
    const replay = () =>
      replayWorkload(workload, factory, {
        seed: req.seed,
        onProgress: (done, total) => {
          lastDone = done;
          const percent = total > 0 ? Math.floor((done * 100) / total) : 100;
          if (percent === lastPercent || call.cancelled) return;
          lastPercent = percent;
          progress(done, total);
        },
      });
    let report: RunReport;
    try {
      if (factory === bootInprocStack) report = await replay();
      else {
        const turn = stackQueue.then(replay, replay);
        stackQueue = turn.catch(() => undefined);
        report = await turn;
      }
    } catch (e) {
      if (e instanceof RemoteStackError) throw new DomainError('failed-precondition', e.message);
      if (e instanceof DomainError) throw e;
      // a service refused or failed mid-replay: the run cannot go on
      throw new DomainError(
        'unavailable',
        `${workload.name}: the replay stopped: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (call.cancelled) return;
    // the engine's total is an estimate made before the run: the last event says what was done
    progress(lastDone, lastDone);
    call.write({ event: { $case: 'result', value: replayResult(report) } });
  };

  return run;
}
