import { calleeName, CallerFigures, itemsOf } from './outgoing-calls';

describe('outgoing calls', () => {
  it('names the callee after its gRPC service, as the services are named', () => {
    expect(calleeName('pagemesh.v1.MmuService')).toBe('mmu');
    expect(calleeName('pagemesh.v1.PageAllocatorService')).toBe('page-allocator');
    expect(calleeName('pagemesh.v1.VmaManagerService')).toBe('vma-manager');
    expect(calleeName('pagemesh.v1.DeviceDriversService')).toBe('device-drivers');
    expect(calleeName('grpc.health.v1.Health')).toBe('health');
  });

  it("counts a request's items as the length of its first repeated field, else 1", () => {
    expect(itemsOf({ batchId: 7n, ops: [1, 2, 3], more: [1] })).toBe(3);
    expect(itemsOf({ faults: [] })).toBe(0);
    expect(itemsOf({ pid: 1, data: Buffer.alloc(8) })).toBe(1);
    expect(itemsOf({})).toBe(1);
    expect(itemsOf(undefined)).toBe(1);
  });

  it('keeps one row per callee and method, sorted, and a row is a snapshot', () => {
    const c = new CallerFigures('vma-manager');
    c.method('/pagemesh.v1.PageAllocatorService/AllocPages').record(4, 0.5);
    c.method('/pagemesh.v1.MmuService/UnmapRanges').record(1, 0.25);
    c.method('/pagemesh.v1.MmuService/MapPages').record(16, 1);
    c.method('/pagemesh.v1.MmuService/MapPages').record(2, 3);
    const rows = c.figures();
    expect(rows.map((r) => [r.caller, r.callee, r.method, r.calls, r.items])).toEqual([
      ['vma-manager', 'mmu', 'MapPages', 2, 18],
      ['vma-manager', 'mmu', 'UnmapRanges', 1, 1],
      ['vma-manager', 'page-allocator', 'AllocPages', 1, 4],
    ]);
    expect(rows[0].p50Ms).toBeCloseTo(1, 1);
    expect(rows[0].p99Ms).toBeCloseTo(3, 0);
    c.method('/pagemesh.v1.MmuService/MapPages').record(1, 1);
    expect(rows[0].latency.count).toBe(2);
  });
});
