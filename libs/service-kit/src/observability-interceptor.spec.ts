import { Writable } from 'node:stream';
import { ClientPool } from './client-pool';
import { createServiceLogger } from './logger';
import { promisifyUnary } from './promisify-unary';
import { parseServiceConfig } from './service-config';
import { startService } from './start-service';
import { checkHealth } from './health-client';
import {
  ECHO_PROTO,
  EchoClient,
  echoDefinition,
  echoImplementation,
  type EchoStub,
} from './testing/echo-service';

type Line = Record<string, unknown>;

function captureLogger(level: 'info' | 'debug') {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, logger: createServiceLogger('echo', { level, destination }) };
}

async function startEcho(logger: ReturnType<typeof createServiceLogger>) {
  return startService({
    name: 'echo',
    protoFiles: [ECHO_PROTO],
    services: [{ definition: echoDefinition, implementation: echoImplementation }],
    config: { ...parseServiceConfig('echo', { argv: [], env: {} }), metricsPort: null },
    logger,
  });
}

describe('observability interceptor', () => {
  it('logs "<name> listening on <address>" and one line per call with method, code, duration and peer', async () => {
    const { lines, logger } = captureLogger('info');
    using pool = new ClientPool();
    {
      await using service = await startEcho(logger);
      expect(lines.map((l) => l['msg'])).toContain(`echo listening on ${service.address}`);
      const echo = promisifyUnary(pool.client(service.address, EchoClient) as unknown as EchoStub, 'Echo');
      await echo({ text: 'hi' });
      await echo({ text: '' }).catch(() => undefined);
      await echo({ text: 'boom' }).catch(() => undefined);
      await checkHealth(service.address); // a probe: logged at debug only
    }
    const calls = lines.filter((l) => l['rpc'] !== undefined && l['grpcCode'] !== undefined);
    expect(calls.map((l) => [l['rpc'], l['grpcCode'], l['level']])).toEqual([
      ['/pagemesh.testing.v1.EchoService/Echo', 'OK', 30],
      ['/pagemesh.testing.v1.EchoService/Echo', 'INVALID_ARGUMENT', 40],
      ['/pagemesh.testing.v1.EchoService/Echo', 'INTERNAL', 50],
    ]);
    for (const call of calls) {
      expect(call).toMatchObject({
        service: 'echo',
        durationMs: expect.any(Number),
        peer: expect.stringMatching(/127\.0\.0\.1:\d+/),
      });
    }
    expect(calls[1]).toMatchObject({ details: expect.stringContaining('text') });
    // The unexpected error is logged once more with its stack, for whoever debugs it.
    const bug = lines.find((l) => typeof l['err'] === 'object');
    expect(bug).toMatchObject({ rpc: '/pagemesh.testing.v1.EchoService/Echo', err: { type: 'TypeError' } });
  });

  it('logs health probes at debug', async () => {
    const { lines, logger } = captureLogger('debug');
    {
      await using service = await startEcho(logger);
      await checkHealth(service.address);
    }
    expect(lines.find((l) => l['rpc'] === '/grpc.health.v1.Health/Check')).toMatchObject({
      grpcCode: 'OK',
      level: 20,
    });
  });
});
