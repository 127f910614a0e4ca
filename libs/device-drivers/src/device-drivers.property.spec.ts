import fc from 'fast-check';
import { PAGE_SIZE } from '@pagemesh/uapi';

import { MMAP_DEV, MY_MAJOR, MY_MINOR, NPAGES } from './drivers/lab-constants';
import { O_RDWR } from './file';
import { applyRemapRequests } from './remap';
import { bootLabMachine, deviceVma } from './testing/lab-machine';

/**
 * Random sequences of what a process does with a device (load, open, mmap, access, write, munmap,
 * close, unload), played against the real mmu and page allocator with a small model of the
 * vma-manager's side. After every step: live mappings reach exactly the driver's pages, unmapped
 * ones fault, the pages never gain a refcount or mapcount. At the end everything is torn down and
 * not one page may be missing.
 */

const BASE = 0x7f0000000000;
/** Each mapping gets its own slot of SLOT_PAGES pages, so mappings never overlap. */
const SLOT_PAGES = 32;
const SLOTS = 6;

type Cmd =
  | { op: 'load'; module: 'kmmap' | 'vmmap' | 'pages'; order: number; stride: number }
  | { op: 'unload' }
  | { op: 'open' }
  | { op: 'close'; pick: number }
  | { op: 'mmap'; pick: number; pages: number; shared: boolean; slot: number; pgoff: number }
  | { op: 'munmap'; pick: number }
  | { op: 'access'; pick: number; page: number; write: boolean; byte: number }
  | { op: 'stale'; pick: number; page: number }
  | { op: 'write'; pick: number; byte: number };

const loadCmd = fc.record({
  op: fc.constant('load' as const),
  module: fc.constantFrom('kmmap' as const, 'vmmap' as const, 'pages' as const),
  order: fc.integer({ min: 1, max: 5 }),
  stride: fc.constantFrom(1, 1, 2, 3),
});

/** Weighted towards the interesting part (mappings and accesses); teardown steps are rarer. */
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: loadCmd, weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('unload' as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('open' as const) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('close' as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant('mmap' as const),
      pick: fc.nat(),
      pages: fc.integer({ min: 1, max: 17 }),
      shared: fc.boolean(),
      slot: fc.integer({ min: 0, max: SLOTS - 1 }),
      pgoff: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constant('munmap' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('access' as const),
      pick: fc.nat(),
      page: fc.nat({ max: 19 }),
      write: fc.boolean(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('stale' as const),
      pick: fc.nat(),
      page: fc.nat({ max: 19 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      pick: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
    weight: 1,
  },
);

/** A sequence starts with a module loaded and the device open, then goes anywhere. */
const sequence: fc.Arbitrary<Cmd[]> = fc
  .tuple(loadCmd, fc.array(cmd, { minLength: 1, maxLength: 50 }))
  .map(([load, rest]) => [load, { op: 'open' as const }, ...rest]);

interface Mapping {
  readonly fileId: number;
  readonly slot: number;
  /** The PFN each page of the VMA maps, null where the driver left a hole. */
  readonly pfns: readonly (number | null)[];
  readonly shared: boolean;
  /**
   * The PTEs allow writes: a shared writable VMA, or vmmap's PAGE_SHARED, which it passes to
   * remap_pfn_range whatever the VMA's protection (a one-page private read-only mapping of vmmap
   * is writable through its PTE, as on Linux).
   */
  readonly writablePte: boolean;
}

async function play(cmds: readonly Cmd[]): Promise<void> {
  const { pa, mmu, dd } = await bootLabMachine('x86_64', 32 * 2 ** 20);
  const asid = await mmu.createAddressSpace();
  mmu.switchTo(0, asid);
  await dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
  const baseline = pa.nrFreePages + mmu.tablePages();
  let loaded: { module: string; pfns: readonly number[]; stride: number } | null = null;
  const everReserved = new Set<number>();
  const fds: number[] = [];
  const mappings: Mapping[] = [];
  const unmappedSlots = new Set<number>();
  const slotVa = (slot: number) => BASE + slot * SLOT_PAGES * PAGE_SIZE;
  const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
  const checkUnreferenced = (pfns: readonly number[]) => {
    for (const pfn of pfns) expect([pa.pageMapcount(pfn), pa.testPageFlag(pfn, 7)]).toEqual([0, true]);
  };

  for (const c of cmds) {
    switch (c.op) {
      case 'load': {
        const params: Record<string, string> =
          c.module === 'pages' ? { order: String(c.order), stride: String(c.stride) } : {};
        const r = await dd.loadModule(c.module, params);
        if (loaded) expect(r.errno).not.toBeNull();
        else {
          expect(r).toEqual({ errno: null });
          const mem = await dd.driverMemory(c.module);
          loaded = { module: c.module, pfns: mem?.pfns ?? [], stride: c.module === 'pages' ? c.stride : 1 };
          for (const p of loaded.pfns) everReserved.add(p);
        }
        break;
      }
      case 'unload': {
        const r = await dd.unloadModule(loaded?.module ?? 'kmmap');
        const pinned = dd.openFiles().length > 0;
        expect(r.errno).toBe(!loaded ? 'ENOENT' : pinned ? 'EAGAIN' : null);
        if (r.errno === null) loaded = null;
        break;
      }
      case 'open': {
        const r = await dd.open(MMAP_DEV, O_RDWR);
        if (!loaded) expect(r).toEqual({ errno: 'ENXIO' });
        else if ('file' in r) fds.push(r.file.id);
        else throw new Error(`open: ${r.errno}`);
        break;
      }
      case 'close': {
        const fd = pick(fds, c.pick);
        if (fd === undefined) break;
        fds.splice(fds.indexOf(fd), 1);
        const still = mappings.some((m) => m.fileId === fd) || fds.includes(fd);
        expect(await dd.fput(fd)).toEqual({ released: !still });
        break;
      }
      case 'mmap': {
        const fd = pick(fds, c.pick);
        if (fd === undefined || mappings.some((m) => m.slot === c.slot) || !loaded) break;
        const module = dd.fileInfo(fd).module;
        const pgoff = module === 'pages' ? c.pgoff : 0;
        const vma = deviceVma(mmu, {
          start: slotVa(c.slot),
          pages: c.pages,
          prot: { read: true, write: c.shared },
          shared: c.shared,
          fileWritable: true,
          pgoff,
        });
        const answer = await dd.mmap(fd, vma);
        const npages = loaded.pfns.length;
        const driverRefuses =
          module === 'pages' ? pgoff >= npages || c.pages > npages - pgoff : c.pages > NPAGES;
        if (driverRefuses) {
          expect(answer).toEqual({ errno: module === 'pages' ? 'EINVAL' : 'EIO' });
          break;
        }
        if (!('requests' in answer)) throw new Error(`mmap: ${answer.errno}`);
        const out = await applyRemapRequests(mmu, asid, vma, answer.requests);
        const perPage = module === 'vmmap' || loaded.stride > 1;
        const cowRefuses = perPage && !c.shared && c.pages > 1;
        if (cowRefuses) {
          expect(out.errno).toBe('EINVAL');
          const pm = await mmu.pagemap(asid, vma.vmStart, c.pages);
          expect(pm.some((e) => e.present)).toBe(false);
          break;
        }
        const expected = loaded.pfns
          .slice(pgoff, pgoff + c.pages)
          .map((pfn, i) => (i % (loaded as { stride: number }).stride === 0 ? pfn : null));
        expect(out).toMatchObject({ errno: null, mappedPages: expected.filter((p) => p !== null).length });
        await dd.getFile(fd); // vma->vm_file
        mappings.push({
          fileId: fd,
          slot: c.slot,
          pfns: expected,
          shared: c.shared,
          writablePte: c.shared || module === 'vmmap',
        });
        unmappedSlots.delete(c.slot);
        break;
      }
      case 'munmap': {
        const m = pick(mappings, c.pick);
        if (!m) break;
        mappings.splice(mappings.indexOf(m), 1);
        await mmu.unmapPages(asid, slotVa(m.slot), SLOT_PAGES);
        const released = !(mappings.some((x) => x.fileId === m.fileId) || fds.includes(m.fileId));
        expect(await dd.fput(m.fileId)).toEqual({ released });
        unmappedSlots.add(m.slot);
        break;
      }
      case 'access': {
        const m = pick(mappings, c.pick);
        if (!m) break;
        const va = slotVa(m.slot) + c.page * PAGE_SIZE + 16;
        const [r] = await mmu.accessBatch(
          c.write
            ? [{ cpu: 0, va, op: 'write', user: true, data: Uint8Array.of(c.byte) }]
            : [{ cpu: 0, va, op: 'read', user: true, length: 1 }],
        );
        const pfn = m.pfns[c.page];
        if (c.page >= m.pfns.length || pfn === null) {
          // beyond vm_end (SIGSEGV), or a hole the driver did not populate (SIGBUS): not present
          expect(r).toMatchObject({ kind: 'page-fault', address: va });
        } else if (c.write && !m.writablePte) {
          expect(r).toMatchObject({ kind: 'page-fault', errorCode: 0x7 }); // read-only COW PTE
        } else {
          expect(r.kind).toBe('ok');
          const phys = pa.readPhys(pfn * PAGE_SIZE + 16, 1);
          if (c.write) expect(phys[0]).toBe(c.byte);
          else expect(r.kind === 'ok' && r.data).toEqual(phys);
        }
        break;
      }
      case 'stale': {
        const slot = pick([...unmappedSlots], c.pick);
        if (slot === undefined) break;
        const va = slotVa(slot) + c.page * PAGE_SIZE;
        const [r] = await mmu.accessBatch([{ cpu: 0, va, op: 'read', user: true, length: 1 }]);
        expect(r).toMatchObject({ kind: 'page-fault', address: va, errorCode: 0x4 }); // not present after munmap
        break;
      }
      case 'write': {
        const fd = pick(fds, c.pick);
        if (fd === undefined) break;
        expect(await dd.write(fd, Uint8Array.of(c.byte), 1, 0)).toEqual({ written: 1 });
        const r = await dd.read(fd, 1, 0);
        expect(r).toEqual({ data: Uint8Array.of(c.byte) });
        break;
      }
    }
    if (loaded) checkUnreferenced(loaded.pfns);
    dd.checkInvariants();
  }

  // tear down: munmap everything, close every fd, unload, destroy the address space
  for (const m of mappings) {
    await mmu.unmapPages(asid, slotVa(m.slot), SLOT_PAGES);
    await dd.fput(m.fileId);
  }
  for (const fd of fds) await dd.fput(fd);
  expect(dd.openFiles()).toEqual([]);
  if (loaded) expect(await dd.unloadModule(loaded.module)).toEqual({ errno: null });
  for (const pfn of everReserved) expect([pa.isFree(pfn), pa.testPageFlag(pfn, 7)]).toEqual([true, false]);
  mmu.switchTo(0, 0);
  await mmu.destroyAddressSpace(asid);
  expect(pa.nrFreePages + mmu.tablePages()).toBe(baseline);
  pa.checkInvariants();
  mmu.checkInvariants();
}

describe('device-drivers property', () => {
  it('random open/mmap/access/munmap/close/unload sequences: no page leaks, no access after munmap', async () => {
    await fc.assert(
      fc.asyncProperty(sequence, (cmds) => play(cmds)),
      { numRuns: 200 },
    );
  });

  it('a fixed lab-like sequence', async () => {
    await play([
      { op: 'load', module: 'vmmap', order: 0, stride: 1 },
      { op: 'open' },
      { op: 'mmap', pick: 0, pages: 16, shared: true, slot: 1, pgoff: 0 },
      { op: 'access', pick: 0, page: 3, write: true, byte: 9 },
      { op: 'close', pick: 0 },
      { op: 'unload' },
      { op: 'munmap', pick: 0 },
      { op: 'stale', pick: 0, page: 3 },
      { op: 'unload' },
    ]);
  });
});
