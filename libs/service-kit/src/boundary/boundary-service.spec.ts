import { BoundaryServiceClient, GetBoundaryFiguresResponse } from '@pagemesh/proto';
import { ClientPool } from '../client-pool';
import { promisifyUnary } from '../promisify-unary';
import { parseServiceConfig } from '../service-config';
import { startService, type RunningService } from '../start-service';
import {
  ECHO_PROTO,
  EchoClient,
  echoDefinition,
  echoImplementation,
  type EchoStub,
} from '../testing/echo-service';
import { listServicesByReflection } from '../testing/reflection-client';
import { boundaryFiguresFromWire, boundaryFiguresSince, fetchBoundaryFigures } from './boundary-client';
import { boundaryFiguresToWire } from './boundary-service';
import { CallerFigures, outgoingCallsOf } from './outgoing-calls';

function startEcho(name: string, outgoingCalls?: CallerFigures): Promise<RunningService> {
  return startService({
    name,
    outgoingCalls,
    protoFiles: [ECHO_PROTO],
    services: [{ definition: echoDefinition, implementation: echoImplementation }],
    config: { ...parseServiceConfig(name, { argv: [], env: {} }), logLevel: 'silent' },
  });
}

const settle = <T>(p: Promise<T>) => p.catch(() => undefined);

/** Reads a stream to its end (or its error). */
function drain(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.on('end', resolve);
    stream.on('error', () => resolve());
  });
}

describe('the boundary figures of pooled clients', () => {
  it('counts and times unary, server-streaming and batch-stream calls, failed ones too', async () => {
    await using echo = await startEcho('echo');
    using pool = new ClientPool({ caller: 'front' });
    const client = pool.client(echo.address, EchoClient) as unknown as EchoStub;
    const unary = promisifyUnary(client, 'Echo');
    await unary({ text: 'a' });
    await unary({ text: 'b' });
    await settle(unary({ text: '' })); // INVALID_ARGUMENT: it still crossed the boundary
    await drain(client.EchoStream({ text: 'x', count: 5 }));

    // a bidi stream is a stream of batches: one call per answer
    const chat = client.EchoChat();
    const answers: unknown[] = [];
    const three = new Promise<void>((resolve) =>
      chat.on('data', (r) => {
        answers.push(r);
        if (answers.length === 3) resolve();
      }),
    );
    for (const text of ['1', '2', '3']) chat.write({ text, count: 0 });
    await three;
    chat.end();
    await drain(chat);

    const rows = outgoingCallsOf('front').figures();
    expect(rows.map((r) => [r.caller, r.callee, r.method, r.calls, r.items])).toEqual([
      ['front', 'echo', 'Echo', 3, 3],
      ['front', 'echo', 'EchoChat', 3, 3],
      ['front', 'echo', 'EchoStream', 1, 1],
    ]);
    for (const r of rows) {
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
      expect(r.latency.count).toBe(r.calls);
    }
  });

  it('records a pool under the caller it is given, else the process default', () => {
    using named = new ClientPool({ caller: 'vma-manager' });
    using anonymous = new ClientPool();
    expect(named.caller).toBe('vma-manager');
    expect(anonymous.caller).toBe('');
  });
});

describe('BoundaryService, served by every started service', () => {
  it("answers the service's own outgoing calls, and is listed by reflection", async () => {
    await using below = await startEcho('below');
    await using relay = await startEcho('relay');
    // what the service named relay calls, as its clients would record it
    using relayPool = new ClientPool({ caller: 'relay' });
    const echo = promisifyUnary(relayPool.client(below.address, EchoClient) as unknown as EchoStub, 'Echo');
    for (const text of ['a', 'b', 'c', 'd']) await echo({ text });

    using orchestrator = new ClientPool({ caller: 'orchestrator-test' });
    const relayBoundary = orchestrator.client(relay.address, BoundaryServiceClient);
    const before = await fetchBoundaryFigures(relayBoundary);
    expect(before.map((r) => [r.caller, r.callee, r.method, r.calls, r.items])).toEqual([
      ['relay', 'echo', 'Echo', 4, 4],
    ]);
    expect(before[0].latency.count).toBe(4);
    // the service below called nobody
    expect(await fetchBoundaryFigures(orchestrator.client(below.address, BoundaryServiceClient))).toEqual([]);

    await echo({ text: 'e' });
    const since = boundaryFiguresSince(await fetchBoundaryFigures(relayBoundary), before);
    expect(since.map((r) => [r.caller, r.callee, r.method, r.calls, r.items])).toEqual([
      ['relay', 'echo', 'Echo', 1, 1],
    ]);
    expect(since[0].p50Ms).toBe(since[0].p99Ms);

    expect(await listServicesByReflection(relay.address)).toEqual(
      expect.arrayContaining(['pagemesh.v1.BoundaryService']),
    );
  });

  it('answers the table it is given: two instances of one service in a process keep theirs apart', async () => {
    await using below = await startEcho('below');
    const tables = [new CallerFigures('relay'), new CallerFigures('relay')];
    await using first = await startEcho('relay', tables[0]);
    await using second = await startEcho('relay', tables[1]);
    using firstPool = new ClientPool({ outgoingCalls: tables[0] });
    expect(firstPool.caller).toBe('relay');
    await promisifyUnary(
      firstPool.client(below.address, EchoClient) as unknown as EchoStub,
      'Echo',
    )({
      text: 'a',
    });
    using orchestrator = new ClientPool({ caller: 'orchestrator-test' });
    const rows = async (s: RunningService) =>
      (await fetchBoundaryFigures(orchestrator.client(s.address, BoundaryServiceClient))).map((r) => r.calls);
    expect(await rows(first)).toEqual([1]);
    expect(await rows(second)).toEqual([]);
  });

  it('round-trips its rows over the wire and refuses a histogram of another scale', () => {
    const c = outgoingCallsOf('wire-test');
    c.method('/pagemesh.v1.MmuService/MapPages').record(3, 0.4);
    const rows = c.figures();
    const wire = GetBoundaryFiguresResponse.decode(
      GetBoundaryFiguresResponse.encode(boundaryFiguresToWire(rows)).finish(),
    );
    expect(boundaryFiguresFromWire(wire)).toEqual(rows);
    expect(() => boundaryFiguresFromWire({ ...wire, latencyBucketsPerOctave: 8 })).toThrow(
      /8 buckets per octave: this kit reads base 0.001 ms, 16 per octave/,
    );
  });
});
