import { DeviceDrivers, inprocDriverPorts } from '@pagemesh/device-drivers';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { bootMachine } from '@pagemesh/page-allocator';
import { parseBuddyinfo } from '../engine/proc-text';
import { inprocDeviceDriversPort } from './device-drivers-port';
import { inprocMmuPort } from './mmu-port';
import { inprocPageAllocatorView } from './page-allocator-port';

async function machine() {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 << 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 2 });
  const dd = await DeviceDrivers.create(inprocDriverPorts(pa, mmu));
  return { pa, mmu, dd };
}

describe('in-process ports below the vma-manager', () => {
  it('mmu: a user access to an unmapped page stops the batch with the x86 error code', async () => {
    const { mmu } = await machine();
    const port = inprocMmuPort(mmu);
    const asid = await mmu.createAddressSpace();
    await port.switchTo(1, asid);
    expect(await port.accessBatch(1, [{ va: 0x7e0000000000, op: 'read', length: 4 }])).toEqual({
      done: [],
      fault: { kind: 'page-fault', address: 0x7e0000000000, errorCode: 0x4 },
    });
    expect(
      await port.accessBatch(1, [{ va: 0x7e0000001000, op: 'write', data: Uint8Array.of(1) }]),
    ).toMatchObject({
      fault: { errorCode: 0x6 },
    });
    // a user access to the kernel half is a protection fault on a present page
    expect(await port.accessBatch(1, [{ va: 0x888000000000, op: 'read' }])).toMatchObject({
      fault: { kind: 'page-fault', errorCode: 0x5 },
    });
    expect((await port.tlbStats()).map((s) => s.cpu)).toEqual([0, 1]);
    expect(await port.pageTablePages()).toBeGreaterThan(0);
  });

  it('page allocator: buddyinfo, meminfo, frames and a memory map that covers every PFN', async () => {
    const { pa } = await machine();
    const port = inprocPageAllocatorView(pa);
    const zones = parseBuddyinfo(await port.buddyinfo()).map((z) => z.zone);
    expect(zones).toEqual(['DMA', 'DMA32']);
    expect(await port.meminfo()).toMatch(/^MemTotal:/);
    const map = await port.memoryMap();
    expect(map.totalPfns).toBe(16384);
    expect(map.runs.reduce((n, r) => n + r.count, 0)).toBe(16384);
    // at boot: the low reserved range and the kernel image, free memory, init_mm's page tables
    expect(new Set(map.runs.map((r) => r.state))).toEqual(new Set(['reserved', 'free', 'page-table']));
    expect(map.zones.map((z) => z.name)).toEqual(['DMA', 'DMA32']);
    const c = await port.counters();
    expect(c.totalPages).toBe(16384);
    expect(Object.keys(c.pagesAllocatedByZone)).toEqual(['DMA', 'DMA32']);
    const [frame] = await port.frames([0]);
    expect(frame).toMatchObject({ pfn: 0, state: 'reserved', zone: 'DMA' });
  });

  it('device drivers: modules and device nodes, errors as values', async () => {
    const { dd } = await machine();
    const port = inprocDeviceDriversPort(dd);
    expect(await port.loadModule('kmmap')).toEqual({ ret: 0 });
    expect(await port.mknod('/dev/mymmap', 42, 0)).toEqual({ ret: 0 });
    expect(await port.mknod('/dev/mymmap', 42, 0)).toEqual({ errno: 'EEXIST' });
    expect(await port.unlink('/dev/mymmap')).toEqual({ ret: 0 });
    // an unknown module is a request the service cannot take: a rejection, not an errno
    await expect(port.loadModule('nope')).rejects.toThrow('no such module');
    expect(await port.unloadModule('kmmap')).toEqual({ ret: 0 });
  });
});
