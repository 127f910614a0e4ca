import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { waitForServing } from '@pagemesh/service-kit';
import {
  DEFAULT_BASE_PORT,
  METRICS_PORT_OFFSET,
  SERVICES,
  type ServiceName,
  type ServiceSpec,
} from './service-table';

export interface LocalStackOptions {
  /** Directory holding the bundles (`apps/<name>/main.cjs`), normally dist/. */
  readonly distDir: string;
  /** Where each service's log goes (`<name>.log`). */
  readonly logDir: string;
  /** gRPC port of the first service; the others follow. 0 gives every service an ephemeral port. */
  readonly basePort?: number;
  readonly host?: string;
  /** Extra flags for one service, e.g. the machine for the page allocator. */
  readonly serviceArgs?: Partial<Record<ServiceName, readonly string[]>>;
  /**
   * Start only these services (each must call only services in the list): a benchmark of one
   * service needs no stack above it.
   */
  readonly only?: readonly ServiceName[];
  /** How long one service may take to report SERVING. */
  readonly readyTimeoutMs?: number;
  /** Told about each step, for progress output. */
  readonly onProgress?: (message: string) => void;
}

export interface StackMember {
  readonly name: ServiceName;
  readonly grpcService: string;
  readonly owns: string;
  readonly address: string;
  readonly metricsUrl: string | null;
  readonly pid: number;
  readonly logFile: string;
}

export interface RunningStack extends AsyncDisposable {
  readonly members: readonly StackMember[];
  readonly addresses: Record<ServiceName, string>;
  /** Stops every service, top of the DAG first; resolves when all have exited. */
  stop(): Promise<void>;
}

/** Thrown when a service of the stack does not come up; says which and why. */
export class StackStartError extends Error {
  constructor(
    readonly service: ServiceName,
    reason: string,
  ) {
    super(`${service} did not start: ${reason}`);
    this.name = 'StackStartError';
  }
}

const LISTENING = /listening on (\S+?):(\d+)\b/;
const METRICS = /metrics on (http:\/\/[^\s"]+\/metrics)/;
/** The metrics line follows the listening line at once; this long is waited for it at most. */
const METRICS_LINE_WAIT_MS = 500;
const STOP_GRACE_MS = 10_000;

interface Child {
  readonly spec: ServiceSpec;
  /** Whether the service serves /metrics (and so logs where). */
  readonly metrics: boolean;
  readonly process: ChildProcess;
  readonly log: WriteStream;
  exited: Promise<number | null>;
}

/**
 * Starts the five services as local processes on loopback, bottom of the DAG first, each told
 * the addresses of the services it calls, and waits until each reports SERVING.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<RunningStack> {
  const host = options.host ?? '127.0.0.1';
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  mkdirSync(options.logDir, { recursive: true });

  const children: Child[] = [];
  const members: StackMember[] = [];
  const addresses = {} as Record<ServiceName, string>;
  const killAll = () => children.forEach((c) => c.process.exitCode === null && c.process.kill('SIGKILL'));
  process.once('exit', killAll);

  const stop = async () => {
    process.removeListener('exit', killAll);
    for (const child of [...children].reverse()) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        options.onProgress?.(`stopping ${child.spec.name}`);
        child.process.kill('SIGTERM');
        const timer = setTimeout(() => child.process.kill('SIGKILL'), STOP_GRACE_MS);
        await child.exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => child.log.end(resolve));
    }
  };

  try {
    for (const spec of SERVICES.filter((s) => !options.only || options.only.includes(s.name))) {
      const missing = spec.calls.filter((dep) => !addresses[dep]);
      if (missing.length > 0)
        throw new StackStartError(spec.name, `it calls ${missing.join(', ')}, which is not started`);
      const port = basePort === 0 ? 0 : basePort + (spec.defaultPort - DEFAULT_BASE_PORT);
      const metricsPort = basePort === 0 ? 0 : port + METRICS_PORT_OFFSET;
      const args = [
        '--enable-source-maps',
        // Extra node flags for every service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to
        // profile them (NODE_OPTIONS refuses --cpu-prof).
        ...(process.env['PAGEMESH_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean),
        join(options.distDir, 'apps', spec.name, 'main.cjs'),
        `--host=${host}`,
        `--port=${port}`,
        `--metrics-port=${metricsPort}`,
        // The stack learns each address from the "listening on" line: keep info logs on
        // whatever the environment says (Jest sets NODE_ENV=test, which silences them).
        '--log-level=info',
        ...spec.calls.map((dep) => `--${dep}-address=${addresses[dep]}`),
        ...(options.serviceArgs?.[spec.name] ?? []),
      ];
      options.onProgress?.(`starting ${spec.name}`);
      const logFile = join(options.logDir, `${spec.name}.log`);
      const log = createWriteStream(logFile);
      const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const child: Child = {
        spec,
        metrics: !(options.serviceArgs?.[spec.name] ?? []).some((a) => /^--metrics-port=(-1|off)$/.test(a)),
        process: proc,
        log,
        exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))),
      };
      children.push(child);
      const { address, metricsUrl } = await awaitListening(child, readyTimeoutMs);
      addresses[spec.name] = address;
      try {
        await waitForServing(address, readyTimeoutMs, spec.grpcService);
      } catch (err) {
        throw new StackStartError(spec.name, err instanceof Error ? err.message : String(err));
      }
      members.push({
        name: spec.name,
        grpcService: spec.grpcService,
        owns: spec.owns,
        address,
        metricsUrl,
        pid: proc.pid ?? -1,
        logFile,
      });
      options.onProgress?.(`${spec.name} serving on ${address}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { members, addresses, stop, [Symbol.asyncDispose]: stop };
}

/** Follows the child's output until it says where it listens, and tees it into its log. */
function awaitListening(
  child: Child,
  timeoutMs: number,
): Promise<{ address: string; metricsUrl: string | null }> {
  return new Promise((resolve, reject) => {
    let address: string | null = null;
    let metricsUrl: string | null = null;
    let lastError = '';
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ address: address as string, metricsUrl });
    };
    const timer = setTimeout(
      () => finish(new StackStartError(child.spec.name, `no "listening" line within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const scan = (chunk: Buffer) => {
      child.log.write(chunk);
      const text = chunk.toString('utf8');
      const m = METRICS.exec(text);
      if (m) metricsUrl = m[1];
      const l = LISTENING.exec(text);
      if (l && !address) address = `${l[1]}:${l[2]}`;
      if (address && (metricsUrl || !child.metrics)) finish();
      else if (address) setTimeout(() => finish(), METRICS_LINE_WAIT_MS).unref();
    };
    child.process.stdout?.on('data', scan);
    child.process.stderr?.on('data', (chunk: Buffer) => {
      const lines = chunk.toString('utf8').trim().split('\n');
      lastError = lines[lines.length - 1] || lastError;
      scan(chunk);
    });
    child.process.once('exit', (code, signal) =>
      finish(new StackStartError(child.spec.name, lastError || `exited with ${signal ?? `code ${code}`}`)),
    );
  });
}
