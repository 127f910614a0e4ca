import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  bootInprocStack,
  builtinWorkload,
  comparableReport,
  replayWorkload,
  type BoundaryFigures,
  type Workload,
} from '@pagemesh/replay';
import {
  boundaryFiguresSince,
  calleeName,
  ClientPool,
  outgoingCallsOf,
  type RunningService,
} from '@pagemesh/service-kit';
import { grpcStackFactory } from './grpc-stack';
import { fetchInnerCalls, toBoundaryFigures } from './inner-boundaries';
import { remoteStackFactory } from './remote-stack';
import { serveMachineOverGrpc, type ServedOverGrpc } from './testing/services-over-grpc';

const workload = (name: string): Workload => {
  const w = builtinWorkload(name);
  if (!w) throw new Error(`no built-in workload ${name}`);
  return w;
};

const inner = (rows: readonly BoundaryFigures[]) =>
  rows.filter((r) => !r.boundary.startsWith('orchestrator→'));
const key = (boundary: string, method: string) => `${boundary} ${method}`;

/** Unary calls each service handled, per method, from its own grpc_server_handled_total. */
async function handledUnary(services: ServedOverGrpc['services']): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of Object.values(services) as RunningService[]) {
    const metric = await s.metricsRegistry.getSingleMetric('grpc_server_handled_total')?.get();
    for (const { labels, value } of metric?.values ?? []) {
      if (labels['grpc_type'] !== 'unary' || labels['grpc_service'] === 'pagemesh.v1.BoundaryService')
        continue;
      const k = key(calleeName(String(labels['grpc_service'])), String(labels['grpc_method']));
      out.set(k, (out.get(k) ?? 0) + value);
    }
  }
  return out;
}

describe('the boundaries below the orchestrator, over gRPC', () => {
  jest.setTimeout(60_000);

  it('demand-paging on services that call each other over gRPC: the RPCs that crossed each boundary, as the callees handled them', async () => {
    const w = workload('demand-paging');
    let served: ServedOverGrpc | undefined;
    const orchestratorBefore = outgoingCallsOf('orchestrator').figures();
    const report = await replayWorkload(
      w,
      grpcStackFactory(async () => {
        served = await serveMachineOverGrpc(w.machine);
        return { addresses: { ...served.addresses, orchestrator: '127.0.0.1:1' }, stop: served.stop };
      }),
      {},
    );
    expect(report.failures).toEqual([]);
    // every call going down over gRPC changes none of the answers
    expect(comparableReport(report)).toEqual(comparableReport(await replayWorkload(w, bootInprocStack, {})));

    const rows = inner(report.boundaries);
    const boundaries = new Set(rows.map((r) => r.boundary));
    for (const b of ['vma-manager→mmu', 'vma-manager→page-allocator', 'mmu→page-allocator'])
      expect(boundaries).toContain(b);
    for (const r of rows) {
      expect(r.calls).toBeGreaterThan(0);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
      expect(r.p50Ms).toBeGreaterThan(0);
    }
    // the page faults went down as MapPages/MapPageBatch calls and page allocations on the stream
    expect(
      rows.find((r) => r.boundary === 'vma-manager→page-allocator' && r.method === 'StreamPageOps')?.items,
    ).toBeGreaterThan(0);

    // What the callers counted of each unary RPC is what the callees handled (the orchestrator's
    // own RPCs, recorded by its pool, included).
    if (!served) throw new Error('no services were started');
    const called = new Map<string, number>();
    const orchestrator = boundaryFiguresSince(outgoingCallsOf('orchestrator').figures(), orchestratorBefore);
    for (const r of [...rows, ...toBoundaryFigures(orchestrator)]) {
      const k = key(r.boundary.split('→')[1], r.method);
      called.set(k, (called.get(k) ?? 0) + r.calls);
    }
    const handled = await handledUnary(served.services);
    expect(handled.size).toBeGreaterThan(0);
    for (const [k, n] of handled) expect([k, called.get(k) ?? 0]).toEqual([k, n]);
  });

  it('a reused remote stack reports what its workload called: two runs add up to the figures since boot', async () => {
    const w = workload('demand-paging');
    await using served = await serveMachineOverGrpc(w.machine);
    const first = inner((await replayWorkload(w, remoteStackFactory(served.addresses), {})).boundaries);
    const second = inner(
      (await replayWorkload(w, remoteStackFactory(served.addresses, { reuse: true }), {})).boundaries,
    );
    expect(second.length).toBeGreaterThan(0);
    const pool = new ClientPool({ caller: 'orchestrator' });
    const sinceBoot = toBoundaryFigures(await fetchInnerCalls(served.addresses, pool));
    pool.close();
    const sum = new Map<string, number>();
    for (const r of [...first, ...second])
      sum.set(key(r.boundary, r.method), (sum.get(key(r.boundary, r.method)) ?? 0) + r.calls);
    expect(new Map(sinceBoot.map((r) => [key(r.boundary, r.method), r.calls]))).toEqual(sum);
    // the second run did not boot the machine: fewer page-table frames asked of the page allocator
    // the boot's calls (the mmu and the vma-manager reading the machine) are the first run's only
    const has = (rows: BoundaryFigures[], boundary: string, method: string) =>
      rows.some((r) => r.boundary === boundary && r.method === method);
    expect(has(first, 'mmu→page-allocator', 'GetMachine')).toBe(true);
    expect(has(second, 'mmu→page-allocator', 'GetMachine')).toBe(false);
    expect(has(second, 'vma-manager→mmu', 'MapPages')).toBe(true);
  });

  it('gives no rows for a service that does not serve BoundaryService (a build from before it)', async () => {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const a = `127.0.0.1:${port}`;
    const pool = new ClientPool({ caller: 'orchestrator' });
    try {
      const addresses = { 'vma-manager': a, 'device-drivers': a, mmu: a, 'page-allocator': a };
      expect(await fetchInnerCalls(addresses, pool)).toEqual([]);
    } finally {
      pool.close();
      server.forceShutdown();
    }
  });
});
