import {
  X86_PF_INSTR,
  X86_PF_PROT,
  X86_PF_RSVD,
  X86_PF_USER,
  X86_PF_WRITE,
  accessCode,
  describePageFault,
  isPageFault,
  pageFaultCode,
  TRANSLATE_GP,
} from './access';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from './errors';
import { KERNEL_ASID, Mmu } from './mmu';
import { PROT_X86_64, _PAGE_ACCESSED, _PAGE_DIRTY, pgprot } from './paging/pte-bits';
import { NON_CANONICAL, accessAddress } from './paging/va48';
import type { TableStore } from './paging/table-store';
import { FakePageAllocatorPort } from './testing/fake-page-allocator-port';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const P = PROT_X86_64;
const USER_VA = 0x7f0000000000;

async function boot64(memBytes = 64 * MiB, options = {}) {
  const port = new FakePageAllocatorPort('x86_64', memBytes);
  const mmu = await Mmu.boot(port, options);
  return { port, mmu };
}

/**
 * Fault injection for the RSVD tests: only a corrupted table can hold reserved bits, and the mmu
 * never writes one, so the test sets them in the table store directly.
 */
function pokeEntry(mmu: Mmu, asid: number, va: number, level: number, orLo: number, orHi: number): void {
  const step = mmu.walk(asid, va).steps[level];
  const store = (mmu as unknown as { store: TableStore }).store;
  const off = store.offset(store.pfnToSlot[step.tablePfn], step.index);
  store.words[off] |= orLo;
  store.words[off + 1] |= orHi;
}

describe('boot: init_mm and the direct map', () => {
  it('maps all RAM at PAGE_OFFSET: 4 KiB pages below 2 MiB, then 2 MiB pages, a 4 KiB tail (x86_64)', async () => {
    const { mmu } = await boot64(64 * MiB + 8192);
    const t = mmu.walk(KERNEL_ASID, accessAddress(0xffff888000001000n));
    expect(t.present).toBe(true);
    expect(t.leafLevel).toBe('PTE');
    expect(t.physAddr).toBe(0x1000);
    expect(t.steps.map((s) => s.index)).toEqual([273, 0, 0, 1]);
    expect(t.steps[3].entry).toBe('0x8000000000001163');
    const big = mmu.walk(KERNEL_ASID, accessAddress(0xffff888001000000n));
    expect(big.leafLevel).toBe('PMD');
    expect(big.steps[2].entry).toBe('0x80000000010001e3');
    const tail = mmu.walk(KERNEL_ASID, mmu.pfnToVirt(64 * 256 + 1) as number);
    expect(tail.leafLevel).toBe('PTE');
    expect(tail.pfn).toBe(64 * 256 + 1);
    expect(mmu.directMapKb()).toEqual({ k4: 2048 + 8, large: 62 * 1024, g1: 0 });
    mmu.checkInvariants();
  });

  it('uses 1 GiB pages where a whole aligned GiB is RAM', async () => {
    const { mmu } = await boot64(2 * GiB + 2 * MiB);
    const t = mmu.walk(KERNEL_ASID, mmu.pfnToVirt(0x40000 + 5) as number);
    expect(t.leafLevel).toBe('PUD');
    expect(t.pfn).toBe(0x40005);
    expect(mmu.walk(KERNEL_ASID, mmu.pfnToVirt(0x80000) as number).leafLevel).toBe('PMD');
    expect(mmu.walk(KERNEL_ASID, mmu.pfnToVirt(0x200) as number).leafLevel).toBe('PMD'); // the first GiB: 2 MiB pages
  });

  it('shares the kernel half with every new address space', async () => {
    const { mmu } = await boot64();
    const asid = await mmu.createAddressSpace();
    const kva = mmu.pfnToVirt(10) as number;
    expect(mmu.walk(asid, kva).physAddr).toBe(10 * 4096);
    expect(mmu.walk(asid, kva).steps[0].entry).toBe(mmu.walk(KERNEL_ASID, kva).steps[0].entry);
  });
});

describe('map, walk, unmap', () => {
  it('builds a 4-level path with _PAGE_TABLE entries and the leaf PTE', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    const pfn = port.takePage();
    const va = accessAddress(0x00007f1234567000n);
    await mmu.mapPages(asid, va, [pfn], P.PAGE_SHARED);
    const t = mmu.walk(asid, va + 0xabc);
    expect(t.steps.map((s) => [s.level, s.index])).toEqual([
      ['PGD', 254],
      ['PUD', 72],
      ['PMD', 418],
      ['PTE', 359],
    ]);
    expect(t.steps.slice(0, 3).map((s) => s.lo & 0xfff)).toEqual([0x67, 0x67, 0x67]);
    expect(t.steps[3].lo).toBe(((pfn * 4096) | 0x27) >>> 0);
    expect(t.steps[3].hi).toBe(0x80000000);
    expect(t.physAddr).toBe(pfn * 4096 + 0xabc);
    expect(mmu.tablePages(asid)).toBe(4);
  });

  it('refuses bad requests and changes nothing', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    const pfn = port.takePage();
    const tables = mmu.tablePages();
    await expect(mmu.mapPages(99, USER_VA, [pfn], P.PAGE_SHARED)).rejects.toBeInstanceOf(NotFoundError);
    await expect(mmu.mapPages(asid, USER_VA + 1, [pfn], P.PAGE_SHARED)).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'va',
    });
    await expect(mmu.mapPages(asid, USER_VA, [port.info.maxPfn], P.PAGE_SHARED)).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'pfns',
    });
    await expect(mmu.mapPages(asid, USER_VA, [pfn], { lo: 0x27, hi: 0x1 })).rejects.toMatchObject({
      kind: 'invalid-argument',
      field: 'prot',
    });
    await expect(mmu.mapPages(asid, USER_VA, [pfn], { lo: 0x1027, hi: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(mmu.mapPages(asid, USER_VA, [pfn], { lo: 0x0, hi: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(mmu.mapPages(asid, 0x7ffffffff000, [pfn, pfn], P.PAGE_SHARED)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(mmu.tablePages()).toBe(tables);
    await mmu.mapPages(asid, USER_VA, [pfn], P.PAGE_SHARED);
    const before = mmu.walk(asid, USER_VA).steps[3].entry;
    await expect(mmu.mapPages(asid, USER_VA - 4096, [pfn, pfn], P.PAGE_READONLY)).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    expect(mmu.walk(asid, USER_VA - 4096).present).toBe(false);
    expect(mmu.walk(asid, USER_VA).steps[3].entry).toBe(before);
    const replaced = await mmu.mapPages(asid, USER_VA, [pfn + 1], P.PAGE_READONLY, { replace: true });
    expect(replaced).toEqual([expect.objectContaining({ va: USER_VA, pfn })]);
    expect(mmu.walk(asid, USER_VA).pfn).toBe(pfn + 1);
  });

  it('maps a scattered batch with one plan, all or nothing', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    const calls = port.portCalls;
    const pages = [
      { va: 0x400000, pfn: 10, prot: P.PAGE_READONLY_EXEC },
      { va: USER_VA, pfn: 11, prot: P.PAGE_SHARED },
      { va: 0x555555554000, pfn: 12, prot: P.PAGE_SHARED, special: true },
    ];
    await mmu.mapPageBatch(asid, pages);
    expect(port.portCalls).toBe(calls + 1); // one page-table allocation for the whole batch
    expect(pages.map((p) => mmu.walk(asid, p.va).pfn)).toEqual([10, 11, 12]);
    const tables = mmu.tablePages(asid);
    await expect(
      mmu.mapPageBatch(asid, [
        { va: 0x600000, pfn: 1, prot: P.PAGE_SHARED },
        { va: USER_VA, pfn: 2, prot: P.PAGE_SHARED },
      ]),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(
      mmu.mapPageBatch(asid, [
        { va: 0x600000, pfn: 1, prot: P.PAGE_SHARED },
        { va: 0x600000, pfn: 2, prot: P.PAGE_SHARED },
      ]),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(mmu.walk(asid, 0x600000).present).toBe(false);
    expect(mmu.tablePages(asid)).toBe(tables);
    const removed = await mmu.unmapPages(asid, 0x400000, 1);
    expect(removed[0]).toMatchObject({ writable: false, executable: true, special: false });
  });

  it('returns removed entries with their state and frees tables that became empty', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    const before = port.tablePfns.size;
    const va = USER_VA + 2 * MiB - 2 * 4096; // straddles two PTE tables
    await mmu.mapPages(asid, va, { first: 100, count: 4 }, pgprot(0x7, true), { special: true }); // A clear
    expect(port.tablePfns.size).toBe(before + 4); // PUD, PMD, 2 PTE tables
    mmu.switchTo(0, asid);
    expect(isPageFault(mmu.translate(0, va + 4096, accessCode('write', true)))).toBe(false);
    const removed = await mmu.unmapPages(asid, va, 3);
    expect(removed.map((r) => [r.pfn, r.special, r.accessed, r.dirty])).toEqual([
      [100, true, false, false],
      [101, true, true, true],
      [102, true, false, false],
    ]);
    expect(port.tablePfns.size).toBe(before + 3); // the first PTE table is empty and gone
    await mmu.unmapPages(asid, va + 3 * 4096, 1);
    expect(port.tablePfns.size).toBe(before); // all the way up to the PGD
    expect(mmu.tablePages(asid)).toBe(1);
    mmu.checkInvariants();
  });

  it('destroy frees every table the address space owns', async () => {
    const { mmu, port } = await boot64();
    const before = port.tablePfns.size;
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, 0x400000, { first: 200, count: 3 }, P.PAGE_SHARED);
    await mmu.mapPages(asid, USER_VA, { first: 300, count: 1 }, P.PAGE_READONLY);
    mmu.switchTo(1, asid);
    await expect(mmu.destroyAddressSpace(asid)).rejects.toBeInstanceOf(FailedPreconditionError);
    mmu.switchTo(1, KERNEL_ASID);
    const r = await mmu.destroyAddressSpace(asid);
    expect(r.freedTablePages).toBe(7);
    expect(r.unmapped.map((u) => [u.va, u.pfn])).toEqual([
      [0x400000, 200],
      [0x401000, 201],
      [0x402000, 202],
      [USER_VA, 300],
    ]);
    expect(port.tablePfns.size).toBe(before);
    expect(mmu.hasAddressSpace(asid)).toBe(false);
    mmu.checkInvariants();
  });

  it('changes protection keeping PFN, A and D (pte_modify)', async () => {
    const { mmu } = await boot64();
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, { first: 50, count: 2 }, P.PAGE_SHARED);
    mmu.switchTo(0, asid);
    mmu.translate(0, USER_VA, accessCode('write', true));
    expect(await mmu.protectPages(asid, USER_VA, 2, P.PAGE_READONLY_EXEC)).toBe(2);
    const e = mmu.walk(asid, USER_VA).steps[3];
    expect(e.lo & 0xfff).toBe(0x25 | _PAGE_DIRTY);
    expect(e.hi).toBe(0);
    expect(mmu.walk(asid, USER_VA).pfn).toBe(50);
  });
});

describe('page faults (arch/x86/include/asm/trap_pf.h)', () => {
  async function setup() {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, [port.takePage()], P.PAGE_READONLY); // r--, NX
    await mmu.mapPages(asid, USER_VA + 4096, [port.takePage()], P.PAGE_READONLY_EXEC); // r-x
    await mmu.mapPages(asid, USER_VA + 8192, [port.takePage()], P.PAGE_NONE);
    mmu.switchTo(0, asid);
    return { mmu, asid };
  }
  const code = (r: number) => (isPageFault(r) ? pageFaultCode(r) : null);

  it.each([
    ['user read, not present', 0x10000, 'read', true, 0x4],
    ['user write, not present', 0x10000, 'write', true, 0x6],
    ['user fetch, not present', 0x10000, 'fetch', true, 0x14],
    ['kernel read, not present', 0x10000, 'read', false, 0x0],
    ['kernel write, not present', 0x10000, 'write', false, 0x2],
    ['user write to read-only', USER_VA, 'write', true, 0x7],
    ['kernel write to read-only (CR0.WP)', USER_VA, 'write', false, 0x3],
    ['user fetch from NX', USER_VA, 'fetch', true, 0x15],
    ['user read of PROT_NONE (P clear)', USER_VA + 8192, 'read', true, 0x4],
  ] as const)('%s -> 0x%s', async (_name, va, op, user, expected) => {
    const { mmu } = await setup();
    expect(code(mmu.translate(0, va, accessCode(op, user)))).toBe(expected);
  });

  it('user access to a supervisor page is a protection fault (0x5, 0x7)', async () => {
    const { mmu } = await setup();
    const kva = mmu.pfnToVirt(100) as number;
    expect(code(mmu.translate(0, kva, accessCode('read', true)))).toBe(0x5);
    expect(code(mmu.translate(0, kva, accessCode('write', true)))).toBe(0x7);
    expect(mmu.translate(0, kva + 12, accessCode('read', false))).toBe(100 * 4096 + 12);
    expect(code(mmu.translate(0, kva, accessCode('fetch', false)))).toBe(X86_PF_PROT | X86_PF_INSTR);
  });

  it('allows what the entry allows', async () => {
    const { mmu } = await setup();
    expect(isPageFault(mmu.translate(0, USER_VA + 4096, accessCode('fetch', true)))).toBe(false);
    expect(isPageFault(mmu.translate(0, USER_VA, accessCode('read', true)))).toBe(false);
  });

  it('reports reserved bits (RSVD) from the walk: PFN bits above MAXPHYADDR, PS in a PGD entry', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, [port.takePage()], P.PAGE_SHARED);
    await mmu.mapPages(asid, 0x400000, [port.takePage()], P.PAGE_SHARED);
    mmu.switchTo(0, asid);
    pokeEntry(mmu, asid, USER_VA, 3, 0, 1 << 18); // PFN bit 50: above MAXPHYADDR (46)
    expect(code(mmu.translate(0, USER_VA, accessCode('read', true)))).toBe(
      X86_PF_USER | X86_PF_PROT | X86_PF_RSVD,
    );
    pokeEntry(mmu, asid, 0x400000, 0, 0x80, 0); // PS is reserved in a PML4 entry
    expect(code(mmu.translate(0, 0x400000, accessCode('write', false)))).toBe(
      X86_PF_WRITE | X86_PF_PROT | X86_PF_RSVD,
    );
  });

  it('treats a non-canonical address as #GP, not #PF', async () => {
    const { mmu } = await setup();
    expect(mmu.translate(0, NON_CANONICAL, accessCode('read', true))).toBe(TRANSLATE_GP);
    const [r] = await mmu.accessBatch([
      { cpu: 0, va: accessAddress(0x0000900000000000n), op: 'read', user: true, length: 1 },
    ]);
    expect(r).toEqual({ kind: 'general-protection' });
  });

  it('formats the oops lines', () => {
    expect(describePageFault(X86_PF_USER | X86_PF_WRITE | X86_PF_PROT)).toBe(
      '#PF: user write access in user mode\n#PF: error_code(0x0007) - permissions violation',
    );
  });
});

describe('accessed and dirty bits, accesses with data', () => {
  it('sets A on every level and D on the leaf only on write', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, [port.takePage()], pgprot(0x7, true)); // P|RW|US, A clear
    mmu.switchTo(0, asid);
    expect(mmu.walk(asid, USER_VA).steps[3].lo & (_PAGE_ACCESSED | _PAGE_DIRTY)).toBe(0);
    mmu.translate(0, USER_VA, accessCode('read', true));
    expect(mmu.walk(asid, USER_VA).steps[3].lo & (_PAGE_ACCESSED | _PAGE_DIRTY)).toBe(_PAGE_ACCESSED);
    // a write through a clean TLB entry walks again to set D
    mmu.translate(0, USER_VA, accessCode('write', true));
    expect(mmu.walk(asid, USER_VA).steps[3].lo & _PAGE_DIRTY).toBe(_PAGE_DIRTY);
    expect(mmu.tlbStats(0)).toMatchObject({ misses: 1, permissionMisses: 1 });
  });

  it('moves data, crosses pages and stops a CPU at its first fault', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, [port.takePage(), port.takePage()], P.PAGE_SHARED);
    mmu.switchTo(0, asid);
    mmu.switchTo(1, asid);
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    const results = await mmu.accessBatch([
      { cpu: 0, va: USER_VA + 4050, op: 'write', user: true, data: bytes },
      { cpu: 0, va: USER_VA + 4050, op: 'read', user: true, length: 100 },
      { cpu: 1, va: USER_VA + 3 * 4096, op: 'read', user: true, length: 4 },
      { cpu: 1, va: USER_VA, op: 'read', user: true, length: 4 },
      { cpu: 0, va: USER_VA + 2 * 4096 - 2, op: 'write', user: true, data: new Uint8Array(4) },
      { cpu: 0, va: USER_VA, op: 'read', user: true, length: 1 },
    ]);
    expect(results[0]).toEqual({ kind: 'ok' });
    expect(results[1]).toEqual({ kind: 'ok', data: bytes });
    expect(results[2]).toEqual({ kind: 'page-fault', address: USER_VA + 3 * 4096, errorCode: 0x4 });
    expect(results[3]).toEqual({ kind: 'skipped' });
    expect(results[4]).toEqual({ kind: 'page-fault', address: USER_VA + 2 * 4096, errorCode: 0x6 });
    expect(results[5]).toEqual({ kind: 'skipped' });
    // the faulting write moved nothing
    const [r] = await mmu.accessBatch([
      { cpu: 1, va: USER_VA + 2 * 4096 - 2, op: 'read', user: true, length: 2 },
    ]);
    expect(r).toEqual({ kind: 'ok', data: new Uint8Array(2) });
  });

  it('reads kmalloc-style memory through the direct map as the kernel', async () => {
    const { mmu, port } = await boot64();
    const pfn = port.takePage();
    port.writePhys(pfn * 4096 + 8, Uint8Array.of(1, 2, 3));
    const [r] = await mmu.accessBatch([
      { cpu: 2, va: (mmu.pfnToVirt(pfn) as number) + 8, op: 'read', user: false, length: 3 },
    ]);
    expect(r).toEqual({ kind: 'ok', data: Uint8Array.of(1, 2, 3) });
  });
});

describe('TLB', () => {
  it('hits after a miss, is flushed on CR3 switch without PCID, kept with PCID', async () => {
    for (const pcid of [false, true]) {
      const { mmu, port } = await boot64(64 * MiB, { pcid });
      const a = await mmu.createAddressSpace();
      const b = await mmu.createAddressSpace();
      await mmu.mapPages(a, USER_VA, [port.takePage()], P.PAGE_SHARED);
      await mmu.mapPages(b, USER_VA, [port.takePage()], P.PAGE_SHARED);
      mmu.switchTo(0, a);
      const pa = mmu.translate(0, USER_VA, accessCode('read', true));
      mmu.translate(0, USER_VA, accessCode('read', true));
      expect(mmu.tlbStats(0)).toMatchObject({ hits: 1, misses: 1 });
      mmu.switchTo(0, b);
      expect(mmu.translate(0, USER_VA, accessCode('read', true))).not.toBe(pa);
      mmu.switchTo(0, a);
      expect(mmu.translate(0, USER_VA, accessCode('read', true))).toBe(pa);
      expect(mmu.tlbStats(0).misses).toBe(pcid ? 2 : 3);
      mmu.checkInvariants();
    }
  });

  it('keeps global kernel entries across CR3 switches; INVLPG drops them', async () => {
    const { mmu } = await boot64();
    const a = await mmu.createAddressSpace();
    const kva = mmu.pfnToVirt(7) as number;
    mmu.translate(0, kva, 0);
    mmu.switchTo(0, a);
    mmu.translate(0, kva, 0);
    expect(mmu.tlbStats(0)).toMatchObject({ hits: 1, misses: 1 });
    mmu.invlpg(0, kva);
    mmu.translate(0, kva, 0);
    expect(mmu.tlbStats(0).misses).toBe(2);
  });

  it('shoots down every CPU running the address space when a mapping is removed or weakened', async () => {
    const { mmu, port } = await boot64(64 * MiB, { cpus: 3 });
    const a = await mmu.createAddressSpace();
    await mmu.mapPages(a, USER_VA, [port.takePage()], P.PAGE_SHARED);
    mmu.switchTo(0, a);
    mmu.switchTo(1, a);
    for (const cpu of [0, 1]) mmu.translate(cpu, USER_VA, accessCode('write', true));
    await mmu.protectPages(a, USER_VA, 1, P.PAGE_READONLY);
    for (const cpu of [0, 1]) {
      expect(pageFaultCode(mmu.translate(cpu, USER_VA, accessCode('write', true)))).toBe(0x7);
      expect(mmu.tlbStats(cpu).shootdowns).toBe(1);
    }
    expect(mmu.tlbStats(2).shootdowns).toBe(0);
    await mmu.unmapPages(a, USER_VA, 1);
    expect(pageFaultCode(mmu.translate(1, USER_VA, accessCode('read', true)))).toBe(0x4);
    mmu.checkInvariants();
  });

  it('honours a configured geometry and evicts LRU', async () => {
    const { mmu } = await boot64(64 * MiB, { tlb: { small: { entries: 2, ways: 2 } } });
    const a = await mmu.createAddressSpace();
    await mmu.mapPages(a, USER_VA, { first: 10, count: 3 }, P.PAGE_SHARED);
    mmu.switchTo(0, a);
    for (const i of [0, 1, 2, 0]) mmu.translate(0, USER_VA + i * 4096, 4);
    expect(mmu.tlbStats(0)).toMatchObject({ misses: 4, hits: 0, valid: 2 });
    await expect(
      Mmu.boot(new FakePageAllocatorPort('x86_64', 64 * MiB), { tlb: { small: { entries: 6, ways: 4 } } }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('page-table frames seen through the direct map', () => {
  it('reads the entries a table page holds, as the kernel would through __va(cr3)', async () => {
    const { mmu, port } = await boot64();
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, [port.takePage()], P.PAGE_SHARED);
    const step = mmu.walk(asid, USER_VA).steps[0]; // the PGD entry
    const kva = (mmu.pfnToVirt(step.tablePfn) as number) + step.index * 8;
    const [r] = await mmu.accessBatch([{ cpu: 0, va: kva, op: 'read', user: false, length: 8 }]);
    const data = (r as { data: Uint8Array }).data;
    const view = new DataView(data.buffer, data.byteOffset, 8);
    expect(view.getUint32(0, true)).toBe(step.lo);
    expect(view.getUint32(4, true)).toBe(step.hi);
  });
});

describe('kernel page-table operations', () => {
  it('shoots down a kernel mapping on CPUs running any address space', async () => {
    const { mmu, port } = await boot64(64 * MiB, { cpus: 2 });
    const a = await mmu.createAddressSpace();
    mmu.switchTo(1, a);
    const kva = mmu.profile.vmallocEnd - 16 * 4096; // an ioremap-like kernel mapping
    await mmu.mapPages(KERNEL_ASID, kva, [port.takePage()], P.PAGE_KERNEL);
    expect(isPageFault(mmu.translate(1, kva, accessCode('write', false)))).toBe(false);
    await mmu.protectPages(KERNEL_ASID, kva, 1, P.PAGE_KERNEL_RO);
    expect(pageFaultCode(mmu.translate(1, kva, accessCode('write', false)))).toBe(0x3);
    await mmu.unmapPages(KERNEL_ASID, kva, 1);
    expect(pageFaultCode(mmu.translate(1, kva, accessCode('read', false)))).toBe(0x0);
    mmu.checkInvariants();
  });
});

describe('SMEP and SMAP (CR4)', () => {
  async function setup(options: { smep?: boolean; smap?: boolean }) {
    const { mmu, port } = await boot64(64 * MiB, options);
    const asid = await mmu.createAddressSpace();
    await mmu.mapPages(asid, USER_VA, [port.takePage()], P.PAGE_SHARED_EXEC);
    mmu.switchTo(0, asid);
    return mmu;
  }

  it('lets the kernel touch user pages when both are off (the default)', async () => {
    const mmu = await setup({});
    for (const op of ['read', 'write', 'fetch'] as const)
      expect(isPageFault(mmu.translate(0, USER_VA, accessCode(op, false)))).toBe(false);
  });

  it('SMAP: a supervisor data access to a user page faults (P=1, U=0) unless EFLAGS.AC is set', async () => {
    const mmu = await setup({ smap: true });
    mmu.translate(0, USER_VA, accessCode('read', true)); // a user access caches the translation
    expect(pageFaultCode(mmu.translate(0, USER_VA, accessCode('read', false)))).toBe(0x1);
    expect(pageFaultCode(mmu.translate(0, USER_VA, accessCode('write', false)))).toBe(0x3);
    expect(isPageFault(mmu.translate(0, USER_VA, accessCode('write', false, true)))).toBe(false);
    expect(isPageFault(mmu.translate(0, USER_VA, accessCode('fetch', false)))).toBe(false);
    const [r] = await mmu.accessBatch([
      { cpu: 0, va: USER_VA, op: 'read', user: false, length: 4, ac: true },
    ]);
    expect(r.kind).toBe('ok');
  });

  it('SMEP: a supervisor fetch from a user page faults (P=1, I/D=1)', async () => {
    const mmu = await setup({ smep: true });
    expect(pageFaultCode(mmu.translate(0, USER_VA, accessCode('fetch', false)))).toBe(0x11);
    expect(isPageFault(mmu.translate(0, USER_VA, accessCode('read', false)))).toBe(false);
  });
});

describe('fork: copyPageRange', () => {
  it('copies present entries, write-protects COW pages in both, leaves the child old', async () => {
    const { mmu, port } = await boot64(64 * MiB, { cpus: 2 });
    const parent = await mmu.createAddressSpace();
    const child = await mmu.createAddressSpace();
    const [a, b] = [port.takePage(), port.takePage()];
    await mmu.mapPages(parent, USER_VA, [a, b], pgprot(P.PAGE_SHARED.lo | 0x40, true)); // RW, A, D
    await mmu.mapPages(parent, USER_VA + 3 * 4096, [port.takePage()], P.PAGE_READONLY);
    mmu.switchTo(0, parent);
    mmu.translate(0, USER_VA, accessCode('write', true)); // cached writable
    const copied = await mmu.copyPageRange(parent, child, USER_VA, 4, { cow: true, shared: false });
    expect(copied.map((c) => c.pfn)).toEqual([a, b, expect.any(Number)]);
    expect(pageFaultCode(mmu.translate(0, USER_VA, accessCode('write', true)))).toBe(0x7); // shot down
    const pe = mmu.walk(parent, USER_VA).steps[3];
    const ce = mmu.walk(child, USER_VA).steps[3];
    expect(pe.flags).toEqual(['P', 'US', 'A', 'D', 'NX']);
    expect(ce.flags).toEqual(['P', 'US', 'D', 'NX']); // old, still dirty (private)
    expect(mmu.walk(child, USER_VA + 2 * 4096).present).toBe(false);
    mmu.checkInvariants();
  });

  it('shared mappings stay writable and the child copy is clean; a refused copy changes nothing', async () => {
    const { mmu, port } = await boot64();
    const parent = await mmu.createAddressSpace();
    const child = await mmu.createAddressSpace();
    await mmu.mapPages(parent, USER_VA, [port.takePage()], pgprot(P.PAGE_SHARED.lo | 0x40, true));
    await mmu.copyPageRange(parent, child, USER_VA, 1, { cow: false, shared: true });
    expect(mmu.walk(child, USER_VA).steps[3].flags).toEqual(['P', 'RW', 'US', 'NX']);
    const before = mmu.walk(parent, USER_VA).steps[3].entry;
    await expect(
      mmu.copyPageRange(parent, child, USER_VA, 1, { cow: true, shared: false }),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(mmu.walk(parent, USER_VA).steps[3].entry).toBe(before);
  });
});
