import { connect } from 'node:net';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Gauge } from 'prom-client';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { ClientPool } from './client-pool';
import { checkHealth } from './health-client';
import { promisifyUnary } from './promisify-unary';
import { parseServiceConfig, type ServiceConfig } from './service-config';
import { startService, type RunningService } from './start-service';
import { formatStartupFailure, StartupError } from './startup-error';
import { listServicesByReflection } from './testing/reflection-client';
import { ERROR_FIELD_METADATA_KEY, ERROR_KIND_METADATA_KEY } from './status-table';
import {
  ECHO_PROTO,
  ECHO_SERVICE_NAME,
  EchoClient,
  echoDefinition,
  echoImplementation,
  releaseEchoGate,
  type EchoStub,
} from './testing/echo-service';

function testConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return { ...parseServiceConfig('echo', { argv: [], env: {} }), logLevel: 'silent', ...overrides };
}

function startEcho(overrides: Partial<ServiceConfig> = {}): Promise<RunningService> {
  return startService({
    name: 'echo',
    protoFiles: [ECHO_PROTO],
    services: [{ definition: echoDefinition, implementation: echoImplementation }],
    config: testConfig(overrides),
  });
}

function collect<T>(stream: ClientReadableStream<T> | ClientDuplexStream<unknown, T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on('data', (item: T) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('startService', () => {
  let pool: ClientPool;
  beforeEach(() => {
    pool = new ClientPool();
  });
  afterEach(() => pool.close());

  function echoClient(service: RunningService): EchoStub {
    return pool.client(service.address, EchoClient) as unknown as EchoStub;
  }

  it('binds 127.0.0.1 on an ephemeral port and answers health Check SERVING', async () => {
    await using service = await startEcho();
    expect(service.address).toBe(`127.0.0.1:${service.port}`);
    expect(service.port).toBeGreaterThan(0);
    expect(await checkHealth(service.address)).toBe('SERVING');
    expect(await checkHealth(service.address, ECHO_SERVICE_NAME)).toBe('SERVING');
    expect(await checkHealth(service.address, 'no.such.Service')).toBe('UNKNOWN');
  });

  it('streams health changes to Watch', async () => {
    await using service = await startEcho();
    const Health = (
      loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
        grpc: { health: { v1: { Health: ServiceClientConstructor } } };
      }
    ).grpc.health.v1.Health;
    const health = pool.client(service.address, Health) as InstanceType<typeof Health> & {
      Watch(req: { service: string }, opts: object): ClientReadableStream<{ status: string }>;
    };
    const watch = health.Watch({ service: ECHO_SERVICE_NAME }, { deadline: Infinity });
    const seen: string[] = [];
    const twoUpdates = new Promise<void>((resolve) =>
      watch.on('data', (update: { status: string }) => {
        seen.push(update.status);
        if (seen.length === 1) service.setServing(ECHO_SERVICE_NAME, 'NOT_SERVING');
        if (seen.length === 2) resolve();
      }),
    );
    watch.on('error', () => undefined);
    await twoUpdates;
    watch.cancel();
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    expect(await checkHealth(service.address)).toBe('SERVING');
  });

  it('lists its services through server reflection', async () => {
    await using service = await startEcho();
    expect(await listServicesByReflection(service.address)).toEqual(
      expect.arrayContaining([ECHO_SERVICE_NAME, 'grpc.health.v1.Health']),
    );
  });

  it('answers a good request', async () => {
    await using service = await startEcho();
    const echo = promisifyUnary(echoClient(service), 'Echo');
    expect(await echo({ text: 'hello' })).toEqual({ text: 'hello', index: 0 });
  });

  it('rejects a malformed request with INVALID_ARGUMENT naming the field', async () => {
    await using service = await startEcho();
    const err = await rejection(promisifyUnary(echoClient(service), 'Echo')({ text: '' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('text');
    expect(err.metadata.get(ERROR_KIND_METADATA_KEY)).toEqual(['invalid-argument']);
    expect(err.metadata.get(ERROR_FIELD_METADATA_KEY)).toEqual(['text']);
  });

  it('maps a duck-typed domain error rejected asynchronously to its status', async () => {
    await using service = await startEcho();
    const err = await rejection(promisifyUnary(echoClient(service), 'Echo')({ text: 'missing' }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('no such word: text "missing"');
  });

  it('turns an unexpected exception into INTERNAL without a stack, and keeps serving', async () => {
    await using service = await startEcho();
    const echo = promisifyUnary(echoClient(service), 'Echo');
    const err = await rejection(echo({ text: 'boom' }));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe('internal error: TypeError: kaboom');
    expect(await echo({ text: 'still here' })).toEqual({ text: 'still here', index: 0 });
  });

  it('maps errors thrown by server-streaming and bidi handlers', async () => {
    await using service = await startEcho();
    const client = echoClient(service);
    expect(await collect(client.EchoStream({ text: 'x', count: 3 }))).toEqual([
      { text: 'x', index: 0 },
      { text: 'x', index: 1 },
      { text: 'x', index: 2 },
    ]);
    const streamErr = await rejection(collect(client.EchoStream({ text: 'x', count: 0 })));
    expect(streamErr.code).toBe(status.INVALID_ARGUMENT);
    expect(streamErr.details).toContain('count');

    const chat = client.EchoChat();
    const replies = collect(chat);
    chat.write({ text: 'a', count: 0 });
    chat.write({ text: 'b', count: 0 });
    chat.end();
    expect((await replies).map((r) => r.text)).toEqual(['a', 'b']);

    const badChat = client.EchoChat();
    const badReplies = collect(badChat);
    badChat.write({ text: '', count: 0 });
    const chatErr = await rejection(badReplies);
    expect(chatErr.code).toBe(status.INVALID_ARGUMENT);
  });

  it('gives every pooled call a deadline', async () => {
    await using service = await startEcho();
    const shortPool = new ClientPool({ defaultDeadlineMs: 200 });
    try {
      const client = shortPool.client(service.address, EchoClient) as unknown as EchoStub;
      const err = await rejection(
        new Promise((resolve, reject) =>
          client.Echo({ text: 'hang' }, new Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r))),
        ),
      );
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      shortPool.close();
    }
  });

  it('gives a promisified call a deadline, and counts the expired call as DEADLINE_EXCEEDED', async () => {
    await using service = await startEcho();
    const client = new EchoClient(service.address, credentials.createInsecure()) as unknown as EchoStub;
    try {
      const err = await rejection(promisifyUnary(client, 'Echo', 200)({ text: 'hang' }));
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      client.close();
    }
    await waitUntil(async () =>
      /^grpc_server_handled_total\{[^}]*grpc_method="Echo"[^}]*grpc_code="DEADLINE_EXCEEDED"[^}]*\} 1$/m.test(
        await metricsText(service),
      ),
    );
  });

  it('exposes grpc_server_handled_total with service, method, type and code labels on /metrics', async () => {
    await using service = await startEcho();
    const echo = promisifyUnary(echoClient(service), 'Echo');
    await echo({ text: 'hello' });
    await rejection(echo({ text: '' }));
    const response = await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`);
    expect(response.status).toBe(200);
    const body = await response.text();
    const line = (code: string) =>
      body
        .split('\n')
        .find(
          (l) =>
            l.startsWith('grpc_server_handled_total{') &&
            l.includes(`grpc_service="${ECHO_SERVICE_NAME}"`) &&
            l.includes('grpc_method="Echo"') &&
            l.includes('grpc_type="unary"') &&
            l.includes(`grpc_code="${code}"`),
        );
    expect(line('OK')).toMatch(/ 1$/);
    expect(line('INVALID_ARGUMENT')).toMatch(/ 1$/);
    expect(body).toContain('grpc_server_started_total{');
    expect(body).toContain('grpc_server_handling_seconds_bucket{');
    expect(body).toContain('process_cpu_user_seconds_total');
    expect((await fetch(`http://127.0.0.1:${service.metricsPort}/other`)).status).toBe(404);

    new Gauge({ name: 'mm_free_pages', help: 'Free pages', registers: [service.metricsRegistry] }).set(42);
    expect(await metricsText(service)).toMatch(/^mm_free_pages 42$/m);
  });

  it('shows every method at zero before any call', async () => {
    await using service = await startEcho();
    const body = await metricsText(service);
    for (const method of ['Echo', 'EchoStream', 'EchoChat']) {
      expect(body).toMatch(
        new RegExp(`^grpc_server_started_total\\{[^}]*grpc_method="${method}"[^}]*\\} 0$`, 'm'),
      );
    }
    expect(body).toMatch(
      /^grpc_server_handled_total\{[^}]*grpc_type="bidi_stream"[^}]*grpc_code="OK"[^}]*\} 0$/m,
    );
  });

  it('serves no metrics when the metrics port is off', async () => {
    await using service = await startEcho({ metricsPort: null });
    expect(service.metricsPort).toBeNull();
  });

  it('shuts down: health goes NOT_SERVING for watchers, then the ports close', async () => {
    const service = await startEcho({ shutdownTimeoutMs: 300 });
    const Health = (
      loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
        grpc: { health: { v1: { Health: ServiceClientConstructor } } };
      }
    ).grpc.health.v1.Health;
    const health = new Health(service.address, credentials.createInsecure()) as InstanceType<
      typeof Health
    > & {
      Watch(req: { service: string }): ClientReadableStream<{ status: string }>;
    };
    const watch = health.Watch({ service: '' });
    watch.on('error', () => undefined);
    const seen: string[] = [];
    const notServing = new Promise<void>((resolve) =>
      watch.on('data', (u: { status: string }) => {
        seen.push(u.status);
        if (u.status === 'NOT_SERVING') resolve();
      }),
    );
    await new Promise<void>((resolve) => watch.once('data', () => resolve()));

    // The open Watch stream keeps tryShutdown waiting, so this also exercises the forced path.
    const stopped = service.shutdown();
    await notServing;
    await stopped;
    await service.shutdown(); // idempotent
    health.close();

    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    expect(await checkHealth(service.address, '', 500)).toBe('UNREACHABLE');
    await expect(portAcceptsConnections(service.port)).resolves.toBe(false);
    await expect(portAcceptsConnections(service.metricsPort ?? 0)).resolves.toBe(false);
  });

  it('lets a call in flight finish before it stops', async () => {
    const service = await startEcho();
    const echo = promisifyUnary(echoClient(service), 'Echo');
    const inFlight = echo({ text: 'gate' });
    // The call has reached the handler once the started counter shows it.
    await waitUntil(async () =>
      /^grpc_server_started_total\{[^}]*grpc_method="Echo"[^}]*\} 1$/m.test(await metricsText(service)),
    );
    let stopped = false;
    const stopping = service.shutdown().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    releaseEchoGate();
    await expect(inFlight).resolves.toEqual({ text: 'gate', index: 0 });
    await stopping;
    expect(stopped).toBe(true);
  });

  it('rejects with a one-line StartupError when the port is taken', async () => {
    await using first = await startEcho();
    const err = await startEcho({ port: first.port }).then(
      () => {
        throw new Error('expected startService to fail');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).message).toBe(
      `cannot listen on 127.0.0.1:${first.port}: address already in use`,
    );
    expect(formatStartupFailure('page-allocator', err)).toBe(
      `page-allocator: cannot listen on 127.0.0.1:${first.port}: address already in use`,
    );
  });

  it('rejects with a StartupError when the metrics port is taken', async () => {
    await using first = await startEcho();
    const err = await startEcho({ metricsPort: first.metricsPort }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).message).toMatch(
      /^cannot listen on 127\.0\.0\.1:\d+ \(metrics\): address already in use$/,
    );
  });

  it('rejects with a StartupError when a proto file does not load', async () => {
    const err = await startService({
      name: 'echo',
      protoFiles: ['/nonexistent/missing.proto'],
      services: [{ definition: echoDefinition, implementation: echoImplementation }],
      config: testConfig(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect(formatStartupFailure('echo', err)).toMatch(
      /^echo: cannot load proto files: .*missing\.proto[^\n]*$/,
    );
  });
});

async function metricsText(service: RunningService): Promise<string> {
  return (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
}

async function waitUntil(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
