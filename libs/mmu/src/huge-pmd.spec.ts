import { X86_PF_USER, X86_PF_WRITE, isPageFault } from './access';
import { FailedPreconditionError, InvalidArgumentError } from './errors';
import { Mmu } from './mmu';
import {
  PROT_X86_64,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  pgprot,
} from './paging/pte-bits';
import { FakePageAllocatorPort } from './testing/fake-page-allocator-port';

const MiB = 2 ** 20;
const HPAGE = 2 * MiB;
const USER_VA = 0x7e0000000000;
/** A 2 MiB-aligned run of 512 PFNs the tests map (the fake allocator never hands these out first). */
const FOLIO = 8192;
const RW_DIRTY = pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY, true);
const RO = pgprot(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED, true);

async function boot() {
  const port = new FakePageAllocatorPort('x86_64', 64 * MiB);
  const mmu = await Mmu.boot(port, { cpus: 2 });
  const asid = await mmu.createAddressSpace();
  mmu.switchTo(0, asid);
  return { port, mmu, asid };
}

describe('huge PMD leaves (THP)', () => {
  it('maps 2 MiB with one PMD leaf and deposits a PTE table for a later split', async () => {
    const { port, mmu, asid } = await boot();
    const before = port.tablePfns.size;
    const calls = port.portCalls;
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY);
    // PUD and PMD tables, plus the deposited PTE table, in one call
    expect(port.tablePfns.size - before).toBe(3);
    expect(port.portCalls - calls).toBe(1);
    expect(mmu.tablePages(asid)).toBe(4);
    const t = mmu.walk(asid, USER_VA + 5 * 4096 + 7);
    expect(t).toMatchObject({
      present: true,
      leafLevel: 'PMD',
      pageBytes: HPAGE,
      pfn: FOLIO + 5,
      writable: true,
    });
    expect(t.steps[2].flags).toContain('PS');
    const pm = await mmu.pagemap(asid, USER_VA, 512);
    expect(pm.map((e) => e.pfn)).toEqual(Array.from({ length: 512 }, (_, i) => FOLIO + i));
    mmu.checkInvariants();
  });

  it('translates through the leaf with a 2 MiB TLB entry, and faults on a write to a read-only one', async () => {
    const { mmu, asid } = await boot();
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RO);
    const user = X86_PF_USER;
    expect(mmu.translate(0, USER_VA + HPAGE - 1, user)).toBe(FOLIO * 4096 + HPAGE - 1);
    expect(isPageFault(mmu.translate(0, USER_VA + 4096, user | X86_PF_WRITE))).toBe(true);
    mmu.checkInvariants();
    // wrprotect → writable in place (do_huge_pmd_wp_page reuse): the deposit stays
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY, { replace: true });
    expect(mmu.translate(0, USER_VA + 4096, user | X86_PF_WRITE)).toBe(FOLIO * 4096 + 4096);
    expect(mmu.tablePages(asid)).toBe(4);
    mmu.checkInvariants();
  });

  it('refuses a PMD that already holds a PTE table, a misaligned address or folio', async () => {
    const { mmu, asid } = await boot();
    await mmu.mapPages(asid, USER_VA, [100], RO);
    await expect(mmu.mapHugePmd(asid, USER_VA, FOLIO, RO)).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(mmu.mapHugePmd(asid, USER_VA + 4096, FOLIO, RO)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(mmu.mapHugePmd(asid, USER_VA + HPAGE, FOLIO + 1, RO)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await mmu.mapHugePmd(asid, USER_VA + HPAGE, FOLIO, RO);
    await expect(mmu.mapHugePmd(asid, USER_VA + HPAGE, FOLIO, RO)).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    mmu.checkInvariants();
  });

  it('splits into the deposited table: 512 PTEs with the same bits, no new table', async () => {
    const { port, mmu, asid } = await boot();
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY);
    mmu.translate(0, USER_VA, X86_PF_USER | X86_PF_WRITE); // a 2 MiB TLB entry to shoot down
    const tables = port.tablePfns.size;
    expect(await mmu.splitHugePmd(asid, USER_VA)).toBe(512);
    expect(port.tablePfns.size).toBe(tables);
    mmu.checkInvariants();
    const t = mmu.walk(asid, USER_VA + 511 * 4096);
    expect(t).toMatchObject({ leafLevel: 'PTE', pfn: FOLIO + 511, writable: true });
    expect(t.steps[3].flags).toEqual(expect.arrayContaining(['P', 'RW', 'US', 'A', 'D', 'NX']));
    expect(t.steps[3].flags).not.toContain('PAT');
    // a part can now go on its own; the rest stays
    const removed = await mmu.unmapPages(asid, USER_VA, 256);
    expect(removed).toHaveLength(256);
    expect(removed[0].huge).toBeUndefined();
    expect(mmu.walk(asid, USER_VA + 256 * 4096).present).toBe(true);
    mmu.checkInvariants();
  });

  it('splits the huge zero folio into 512 read-only special PTEs of ZERO_PAGE', async () => {
    const { mmu, asid } = await boot();
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RO, { special: true });
    await mmu.splitHugePmd(asid, USER_VA, { zeroPfn: 77 });
    const pm = await mmu.pagemap(asid, USER_VA, 512);
    expect(new Set(pm.map((e) => e.pfn))).toEqual(new Set([77]));
    expect(pm.every((e) => e.special && !e.exclusive)).toBe(true);
    expect(mmu.walk(asid, USER_VA + HPAGE - 4096)).toMatchObject({ leafLevel: 'PTE', writable: false });
    mmu.checkInvariants();
  });

  it('zaps a whole huge PMD with its deposited table; refuses a partial unmap or protect', async () => {
    const { port, mmu, asid } = await boot();
    const before = port.tablePfns.size;
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY);
    await expect(mmu.unmapPages(asid, USER_VA, 10)).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(mmu.protectPages(asid, USER_VA + 4096, 511, RO)).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    const removed = await mmu.unmapPages(asid, USER_VA - HPAGE, 1536);
    expect(removed).toEqual([
      expect.objectContaining({ va: USER_VA, pfn: FOLIO, huge: true, writable: true }),
    ]);
    expect(port.tablePfns.size).toBe(before);
    expect(mmu.tablePages(asid)).toBe(1);
    mmu.checkInvariants();
  });

  it('changes the protection of a whole huge PMD as one entry (change_huge_pmd)', async () => {
    const { mmu, asid } = await boot();
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY);
    mmu.translate(0, USER_VA, X86_PF_USER | X86_PF_WRITE);
    expect(await mmu.protectPages(asid, USER_VA, 512, PROT_X86_64.PAGE_READONLY)).toBe(1);
    const t = mmu.walk(asid, USER_VA);
    expect(t).toMatchObject({ leafLevel: 'PMD', writable: false });
    expect(t.steps[2].flags).toEqual(expect.arrayContaining(['PS', 'D']));
    expect(isPageFault(mmu.translate(0, USER_VA, X86_PF_USER | X86_PF_WRITE))).toBe(true);
    mmu.checkInvariants();
  });

  it('keeps a PROT_NONE huge PMD a huge leaf: pagemap present, no access, protected back and zapped whole', async () => {
    const { port, mmu, asid } = await boot();
    const before = port.tablePfns.size;
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY);
    expect(await mmu.protectPages(asid, USER_VA, 512, PROT_X86_64.PAGE_NONE)).toBe(1);
    expect(mmu.walk(asid, USER_VA).present).toBe(false);
    expect((await mmu.pagemap(asid, USER_VA + 4096, 1))[0]).toMatchObject({ present: true, pfn: FOLIO + 1 });
    expect(isPageFault(mmu.translate(0, USER_VA, X86_PF_USER))).toBe(true);
    expect(await mmu.protectPages(asid, USER_VA, 512, PROT_X86_64.PAGE_READONLY)).toBe(1);
    expect(mmu.translate(0, USER_VA + 4096, X86_PF_USER)).toBe((FOLIO + 1) * 4096);
    await mmu.protectPages(asid, USER_VA, 512, PROT_X86_64.PAGE_NONE);
    expect(await mmu.unmapPages(asid, USER_VA, 512)).toEqual([
      expect.objectContaining({ huge: true, protNone: true, pfn: FOLIO }),
    ]);
    expect(port.tablePfns.size).toBe(before);
    mmu.checkInvariants();
  });

  it('gives the deposited tables back when the address space is destroyed', async () => {
    const { port, mmu, asid } = await boot();
    const before = port.tablePfns.size;
    await mmu.mapHugePmd(asid, USER_VA, FOLIO, RW_DIRTY);
    await mmu.mapHugePmd(asid, USER_VA + HPAGE, FOLIO + 512, RO);
    mmu.switchTo(0, 0);
    const r = await mmu.destroyAddressSpace(asid);
    expect(r.unmapped).toHaveLength(2);
    expect(port.tablePfns.size).toBe(before - 1); // the PGD too
    mmu.checkInvariants();
  });
});
