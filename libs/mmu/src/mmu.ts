import { pageAlign } from '@pagemesh/uapi';

import { ACC_AC, type Access, type AccessResult, TRANSLATE_GP, accessCode, pageFaultCode } from './access';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from './errors';
import { Pkmap } from './kernel/pkmap';
import { type VmArea } from './kernel/vmalloc-areas';
import { type PagemapEntry, encodePagemap } from './pagemap';
import { type WalkTrace, entryPfn } from './paging/page-tables';
import { KM_MAX_IDX } from './paging/paging-profile';
import {
  _KERNPG_TABLE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX_HI,
  _PAGE_PAT,
  _PAGE_PCD,
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_PSE,
  _PAGE_PWT,
  _PAGE_RW,
  _PAGE_SOFT_DIRTY,
  _PAGE_SOFTW4_HI,
  _PAGE_SOFTW5_HI,
  _PAGE_SPECIAL,
  _PAGE_TABLE,
  _PAGE_UFFD_WP,
  _PAGE_USER,
  type Pgprot,
  pfnPte,
  pgprot,
} from './paging/pte-bits';
import type { PageAllocatorPort, PhysOp } from './ports';
import { type RemapResult, type RemapVma, remapVmaChecks } from './remap-pfn-range';
import {
  ACC_FETCH,
  ACC_SUPERVISOR_CHECK,
  ACC_USER,
  ACC_WRITE,
  Tlb,
  type TlbStats,
  validateGeometry,
} from './tlb/tlb';

import {
  type DestroyResult,
  type EntryWrite,
  type PageMapping,
  KERNEL_ASID,
  MAX_CPUS,
  type MapOptions,
  MmuCore,
  type MmuOptions,
  type PfnSource,
  type RemovedPte,
  TLB_NR_DYN_ASIDS,
  concat,
  isPageRange,
  weakens,
} from './mmu-core';

export { KERNEL_ASID, MAX_CPUS, TLB_NR_DYN_ASIDS, TLB_SINGLE_PAGE_FLUSH_CEILING } from './mmu-core';
export type { MmuOptions, MapOptions, PfnSource, RemovedPte, DestroyResult, PageMapping } from './mmu-core';

const PAGE = 4096;
const OK: AccessResult = Object.freeze({ kind: 'ok' });
const SKIPPED: AccessResult = Object.freeze({ kind: 'skipped' });
const GENERAL_PROTECTION: AccessResult = Object.freeze({ kind: 'general-protection' });
/** Pages one pagemap query may cover (a reader of /proc/PID/pagemap reads it in chunks too). */
export const MAX_PAGEMAP_PAGES = 1 << 16;

/**
 * _PAGE_CHG_MASK: what pte_modify keeps from the old entry (PFN, caching, special, A, D and the
 * saved-dirty bit 58, soft-dirty, uffd-wp); the rest comes from the new protection.
 */
const CHG_MASK_LO =
  0xfffff000 |
  _PAGE_PCD |
  _PAGE_PWT |
  _PAGE_PAT |
  _PAGE_SPECIAL |
  _PAGE_ACCESSED |
  _PAGE_DIRTY |
  _PAGE_SOFT_DIRTY |
  _PAGE_UFFD_WP;
const CHG_MASK_HI = 0x000fffff | _PAGE_SOFTW5_HI;

/**
 * The mmu: every page table (init_mm's included), the simulated CPUs' CR3 and TLBs, and the
 * kernel mappings (direct map, vmalloc, kmap). The only writer of page-table entries.
 *
 * Mutating operations are async (they may need page-table frames from the page allocator) and
 * run one at a time in call order; each validates before it changes anything. translate() and
 * walk() are synchronous over the mmu's own table store.
 */
export class Mmu extends MmuCore {
  /**
   * Boots the mmu over a page allocator: builds init_mm's page tables (the direct map with large
   * pages, the vmalloc and kmap page tables) from frames the allocator supplies.
   */
  static async boot(port: PageAllocatorPort, options: MmuOptions = {}): Promise<Mmu> {
    const cpus = options.cpus ?? 4;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) {
      throw new InvalidArgumentError('cpus', cpus, `must be an integer in 1..${MAX_CPUS}`);
    }
    const tlb = options.tlb ?? {};
    for (const [name, g] of Object.entries(tlb)) {
      const problem = g ? validateGeometry(g, `tlb.${name}`) : null;
      if (problem) throw new InvalidArgumentError(`tlb.${name}`, g, problem);
    }
    const machine = await port.machine();
    const mmu = new Mmu(port, machine, options);
    await mmu.buildKernelTables();
    // every CPU starts in init_mm (with PCID, that takes a PCID on each CPU)
    for (let cpu = 0; cpu < mmu.cpuCount; cpu++) mmu.switchTo(cpu, KERNEL_ASID);
    return mmu;
  }

  // ---------------------------------------------------------------------------------------------
  // Address spaces and CPUs

  get cpuCount(): number {
    return this.cpus.length;
  }

  /** Entries of each CPU's 4 KiB TLB (every CPU has the same geometry). */
  get smallTlbEntries(): number {
    return this.cpus[0].tlb.arrays[0].capacity;
  }

  /** A new address space (pgd_alloc): a fresh PGD whose kernel half is copied from init_mm's. */
  createAddressSpace(): Promise<number> {
    return this.serialize(async () => {
      const pfns = await this.allocTables(1, true);
      const pgd = this.store.attach(pfns[0], 0, this.nextAsid);
      const id = this.nextAsid++;
      const kernelPgd = this.kernelSpace().pgdSlot;
      for (let i = this.profile.kernelPgdStart; i < this.profile.entriesPerTable; i++) {
        this.store.set(pgd, i, this.store.lo(kernelPgd, i), this.store.hi(kernelPgd, i));
      }
      this.spaces.set(id, { id, pgdSlot: pgd });
      return id;
    });
  }

  /**
   * Frees every page-table page the address space owns (its PGD and all user-half tables). The
   * address space must not be current on any CPU.
   */
  destroyAddressSpace(asid: number): Promise<DestroyResult> {
    return this.serialize(async () => {
      const space = this.userSpace(asid);
      const onCpu = this.cpus.findIndex((c) => c.asid === asid);
      if (onCpu >= 0) {
        throw new FailedPreconditionError(
          'asid',
          asid,
          `address space is current on cpu ${onCpu}; switch away first`,
        );
      }
      const slots: number[] = [];
      this.tables.collectBelow(space.pgdSlot, 0, 0, this.profile.kernelPgdStart, slots);
      const unmapped: RemovedPte[] = [];
      this.tables.forEachLeaf(space.pgdSlot, 0, 0, this.profile.kernelPgdStart, (va, lo, hi) => {
        if (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) unmapped.push(this.removedPte(va, lo, hi));
      });
      slots.push(space.pgdSlot);
      const pfns = slots.map((s) => this.store.detach(s));
      pfns.push(...(this.deposited.get(asid)?.values() ?? []));
      this.deposited.delete(asid);
      for (const c of this.cpus) {
        const i = c.pcidOwner.indexOf(asid);
        if (i >= 0) {
          c.pcidOwner[i] = -1;
          c.tlb.flush(i + 1);
        }
      }
      this.spaces.delete(asid);
      await this.port.freePageTables(pfns);
      return { freedTablePages: pfns.length, unmapped };
    });
  }

  hasAddressSpace(asid: number): boolean {
    return this.spaces.has(asid);
  }

  /**
   * Loads CR3 of `cpu` with the address space's PGD. Without PCID a switch flushes every
   * non-global TLB entry; with PCID the CPU keeps up to TLB_NR_DYN_ASIDS address spaces tagged.
   */
  switchTo(cpu: number, asid: number): void {
    const c = this.cpu(cpu);
    const space = this.space(asid);
    if (!this.pcid) {
      if (c.asid !== asid) c.tlb.flush(-1);
    } else {
      let i = c.pcidOwner.indexOf(asid);
      if (i < 0) {
        i = c.nextPcid;
        c.nextPcid = (c.nextPcid + 1) % TLB_NR_DYN_ASIDS;
        c.pcidOwner[i] = asid;
        c.tlb.flush(i + 1); // whatever the previous owner of this PCID left
      }
      c.tlb.pcidKey = Tlb.keyOf(i + 1, 0);
    }
    c.asid = asid;
    c.rootSlot = space.pgdSlot;
  }

  /** CR3 of `cpu`: the physical address of the current PGD and the PCID (0 without PCID). */
  cr3(cpu: number): { pgdPaddr: number; pcid: number; asid: number } {
    const c = this.cpu(cpu);
    return { pgdPaddr: this.store.pfnOf(c.rootSlot) * PAGE, pcid: this.currentPcid(c), asid: c.asid };
  }

  currentAsid(cpu: number): number {
    return this.cpu(cpu).asid;
  }

  // ---------------------------------------------------------------------------------------------
  // Page-table operations

  /**
   * Maps `count` pages at `va` to the given PFNs with `prot`. Refuses (and changes nothing) when
   * an entry is already in use unless `replace`; returns the entries it replaced.
   */
  mapPages(
    asid: number,
    va: number,
    pfns: PfnSource,
    prot: Pgprot,
    options: MapOptions = {},
  ): Promise<RemovedPte[]> {
    return this.serialize(async () => {
      const space = this.space(asid);
      const list = this.pfnList(pfns);
      this.checkRange(asid, va, list.length);
      this.checkProt(prot, 'prot', asid);
      const writes = this.leafWrites(
        va,
        list,
        options.special ? pgprot(prot.lo | _PAGE_SPECIAL, false, prot.hi) : prot,
      );
      return this.writeEntries(space, writes, options.replace ?? false);
    });
  }

  /**
   * set_pte_at for a batch of scattered pages, each with its own PFN and protection (what a
   * fault handler or fork produces): one plan, one page-table allocation, all or nothing.
   */
  mapPageBatch(
    asid: number,
    pages: readonly PageMapping[],
    options: { replace?: boolean } = {},
  ): Promise<RemovedPte[]> {
    return this.serialize(async () => {
      const space = this.space(asid);
      if (!Array.isArray(pages) || pages.length === 0)
        throw new InvalidArgumentError('pages', pages?.length, 'nothing to map');
      const seen = new Set<number>();
      const writes: EntryWrite[] = [];
      pages.forEach((pg, i) => {
        this.checkRange(asid, pg?.va, 1);
        this.checkPfn(pg.pfn, `pages[${i}].pfn`);
        this.checkProt(pg.prot, `pages[${i}].prot`, asid);
        if (seen.has(pg.va))
          throw new InvalidArgumentError(`pages[${i}].va`, pg.va, 'the same page twice in one batch');
        seen.add(pg.va);
        const prot = pg.special ? pgprot(pg.prot.lo | _PAGE_SPECIAL, false, pg.prot.hi) : pg.prot;
        writes.push(...this.leafWrites(pg.va, [pg.pfn], prot));
      });
      return this.writeEntries(space, writes, options.replace ?? false);
    });
  }

  /** Clears the entries of `count` pages at `va`; frees tables that became empty; shoots down TLBs. */
  unmapPages(asid: number, va: number, count: number): Promise<RemovedPte[]> {
    return this.serialize(async () => {
      const space = this.space(asid);
      this.checkRange(asid, va, count);
      const huge = this.hugePmdLeavesIn(space, va, count);
      const removed: RemovedPte[] = [];
      const flushVas: number[] = [];
      const touched: number[] = [];
      const freed: number[] = [];
      // zap_huge_pmd: a huge PMD wholly inside the range goes at once, with its deposited table
      for (const h of huge) {
        removed.push(this.removedPte(h.va, h.lo, h.hi, this.leafLevel - 1));
        this.store.set(h.slot, h.idx, 0, 0);
        flushVas.push(h.va);
        touched.push(h.va);
        const table = this.withdrawTable(asid, h.va);
        if (table !== undefined) freed.push(table);
      }
      this.checkNoHugeLeaf(space, va, count);
      this.forEachPteTable(space, va, count, (slot, first, pages) => {
        touched.push(first);
        for (let k = 0; k < pages; k++) {
          const a = first + k * PAGE;
          const idx = this.tables.index(a, this.leafLevel);
          const lo = this.store.lo(slot, idx);
          const hi = this.store.hi(slot, idx);
          if (lo === 0 && hi === 0) continue;
          if (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) removed.push(this.removedPte(a, lo, hi));
          if (lo & _PAGE_PRESENT) flushVas.push(a);
          this.store.set(slot, idx, 0, 0);
        }
      });
      this.flushRange(space, flushVas);
      if (asid !== KERNEL_ASID) for (const a of touched) this.freeEmptyTables(space, a, freed);
      if (freed.length > 0) await this.port.freePageTables(freed);
      return removed;
    });
  }

  /**
   * Changes the protection of the present entries of `count` pages (pte_modify: PFN, A, D,
   * special and soft bits are kept). Weakened entries are shot down on every CPU that may cache
   * them; strengthened ones are not (a stale entry then costs a re-walk). Returns how many
   * entries changed.
   */
  protectPages(asid: number, va: number, count: number, prot: Pgprot): Promise<number> {
    return this.serialize(async () => {
      const space = this.space(asid);
      this.checkRange(asid, va, count);
      this.checkProt(prot, 'prot', asid);
      const huge = this.hugePmdLeavesIn(space, va, count);
      const flushVas: number[] = [];
      let changed = 0;
      // change_huge_pmd: a huge PMD wholly inside the range changes as one entry (PS is kept)
      for (const h of huge) {
        const nlo = ((h.lo & CHG_MASK_LO) | (prot.lo & ~CHG_MASK_LO)) >>> 0;
        const nhi = ((h.hi & CHG_MASK_HI) | (prot.hi & ~CHG_MASK_HI)) >>> 0;
        if (nlo === h.lo && nhi === h.hi) continue;
        this.store.set(h.slot, h.idx, nlo, nhi);
        changed++;
        if (weakens(h.lo, h.hi, nlo, nhi)) flushVas.push(h.va);
      }
      this.forEachEntry(
        space,
        va,
        count,
        (slot, idx, a, lo, hi) => {
          if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0) return;
          const nlo = ((lo & CHG_MASK_LO) | (prot.lo & ~CHG_MASK_LO)) >>> 0;
          const nhi = ((hi & CHG_MASK_HI) | (prot.hi & ~CHG_MASK_HI)) >>> 0;
          if (nlo === lo && nhi === hi) return;
          this.store.set(slot, idx, nlo, nhi);
          changed++;
          if (weakens(lo, hi, nlo, nhi)) flushVas.push(a);
        },
        true,
      );
      this.flushRange(space, flushVas);
      return changed;
    });
  }

  /**
   * fork's copy_page_range/copy_present_pte for one VMA range: every present entry of `srcAsid`
   * is copied into `dstAsid` at the same address. With `cow` (a private writable mapping) a
   * writable entry is write-protected in both; with `shared` the child's copy is clean; the
   * child's entries start old (Accessed clear). Special entries are copied as they are. Returns
   * the copied entries: the caller takes the page references and mapcounts of the normal ones.
   * The destination range must be empty; nothing changes when this throws.
   */
  copyPageRange(
    srcAsid: number,
    dstAsid: number,
    va: number,
    count: number,
    options: { cow: boolean; shared: boolean },
  ): Promise<RemovedPte[]> {
    return this.serialize(async () => {
      const src = this.userSpace(srcAsid);
      const dst = this.userSpace(dstAsid);
      if (srcAsid === dstAsid) throw new InvalidArgumentError('dstAsid', dstAsid, 'must differ from srcAsid');
      this.checkRange(srcAsid, va, count);
      this.checkNoHugeLeaf(src, va, count);
      const writes: EntryWrite[] = [];
      const copied: RemovedPte[] = [];
      const wrprotect: { slot: number; idx: number; va: number }[] = [];
      this.forEachEntry(src, va, count, (slot, idx, a, lo, hi) => {
        if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0) return;
        let child = lo & ~_PAGE_ACCESSED; // pte_mkold
        if (options.cow && lo & _PAGE_RW) {
          child &= ~_PAGE_RW; // pte_wrprotect, in the parent too
          wrprotect.push({ slot, idx, va: a });
        }
        if (options.shared) child &= ~_PAGE_DIRTY; // pte_mkclean
        child &= ~_PAGE_UFFD_WP; // the child has no userfaultfd registration
        writes.push({ va: a, level: this.leafLevel, lo: child >>> 0, hi });
        copied.push(this.removedPte(a, lo, hi));
      });
      if (writes.length === 0) return copied;
      // the parent loses write access before the await, so that no write lands in a page the
      // child already shares; a refused copy gives it back (raising rights needs no flush)
      for (const w of wrprotect) {
        this.store.set(
          w.slot,
          w.idx,
          (this.store.lo(w.slot, w.idx) & ~_PAGE_RW) >>> 0,
          this.store.hi(w.slot, w.idx),
        );
      }
      this.flushRange(
        src,
        wrprotect.map((w) => w.va),
      );
      try {
        await this.writeEntries(dst, writes, false);
      } catch (e) {
        for (const w of wrprotect) {
          this.store.set(
            w.slot,
            w.idx,
            (this.store.lo(w.slot, w.idx) | _PAGE_RW) >>> 0,
            this.store.hi(w.slot, w.idx),
          );
        }
        throw e;
      }
      return copied;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Transparent huge pages: user PMD leaves

  /** The PMD level and its span, or a refusal where this profile has no user PMD leaves. */
  private pmdLevel(field: string, va: number): { level: number; span: number } {
    const level = this.leafLevel - 1;
    if (level < 1 || !this.hugeAt[level])
      throw new InvalidArgumentError(field, va, `no huge PMD leaves on ${this.profile.arch}`);
    const span = this.spans[level];
    if (!Number.isInteger(va) || va < 0 || va % span !== 0)
      throw new InvalidArgumentError(field, va, `must be aligned to the PMD span (${span} bytes)`);
    return { level, span };
  }

  /**
   * set_pmd_at of a huge leaf (do_huge_pmd_anonymous_page, set_huge_zero_folio): maps the 2 MiB
   * at `va` to the naturally aligned pages from `pfn` with `prot` and PS, and deposits a PTE table
   * for a later split (pgtable_trans_huge_deposit). The PMD must be empty (no PTE table there);
   * with `replace` an existing huge leaf is rewritten in place (wrprotect, reuse) and keeps its
   * deposited table. Returns the leaf it replaced.
   */
  mapHugePmd(
    asid: number,
    va: number,
    pfn: number,
    prot: Pgprot,
    options: MapOptions = {},
  ): Promise<RemovedPte[]> {
    return this.serialize(async () => {
      const space = this.userSpace(asid);
      const { level, span } = this.pmdLevel('va', va);
      const pages = span / PAGE;
      this.checkRange(asid, va, pages);
      if (!Number.isInteger(pfn) || pfn % pages !== 0)
        throw new InvalidArgumentError('pfn', pfn, `a huge PMD maps ${pages} pages aligned to ${pages}`);
      this.checkPfn(pfn, 'pfn');
      this.checkPfn(pfn + pages - 1, 'pfn');
      this.checkProt(prot, 'prot', asid);
      const slot = this.tables.tableAt(space.pgdSlot, va, level);
      const old = slot >= 0 ? this.store.lo(slot, this.tables.index(va, level)) : 0;
      const oldHuge = old !== 0 && this.tables.isLeaf(level, old);
      if (old !== 0 && !oldHuge)
        throw new FailedPreconditionError('va', va, 'a PTE table is there (the PMD is not empty)');
      if (oldHuge && !options.replace)
        throw new FailedPreconditionError('va', va, 'entry in use (huge PMD); pass replace to overwrite');
      const lo = prot.lo | _PAGE_PSE | (options.special ? _PAGE_SPECIAL : 0);
      const write: EntryWrite = { va, level, ...pfnPte(pfn, pgprot(lo, false, prot.hi)) };
      // the PUD and PMD tables a fresh range needs (pud_alloc, pmd_alloc), then the PTE table to
      // deposit (pte_alloc_one), in one port call
      return this.writeEntries(space, [write], options.replace ?? false, oldHuge ? 0 : 1, ([pte]) => {
        let tables = this.deposited.get(asid);
        if (!tables) this.deposited.set(asid, (tables = new Map()));
        tables.set(va, pte);
      });
    });
  }

  /**
   * __split_huge_pmd for the huge leaf at `va`: its deposited table becomes the PTE table, with
   * one PTE per page of the folio carrying the leaf's bits (RW, D, A, NX, special, PROT_NONE), and
   * the PMD then points at it. With `zeroPfn` every PTE maps that one page instead, special
   * (__split_huge_zero_page_pmd: the huge zero folio becomes 512 mappings of ZERO_PAGE). The
   * 2 MiB TLB entries are shot down. Returns the PTEs written.
   */
  splitHugePmd(asid: number, va: number, options: { zeroPfn?: number } = {}): Promise<number> {
    return this.serialize(async () => {
      const space = this.userSpace(asid);
      const { level, span } = this.pmdLevel('va', va);
      const zeroPfn = options.zeroPfn;
      if (zeroPfn !== undefined) this.checkPfn(zeroPfn, 'zeroPfn');
      const slot = this.tables.tableAt(space.pgdSlot, va, level);
      const idx = slot >= 0 ? this.tables.index(va, level) : -1;
      const lo = slot >= 0 ? this.store.lo(slot, idx) : 0;
      if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0 || !this.tables.isLeaf(level, lo))
        throw new FailedPreconditionError('va', va, 'no huge PMD here');
      const hi = this.store.hi(slot, idx);
      const pfn = entryPfn(lo, hi);
      const table = this.withdrawTable(asid, va) ?? (await this.allocTables(1, true))[0];
      const pte = this.store.attach(table, level + 1, asid);
      const bits = pgprot((lo & 0xfff & ~_PAGE_PSE) >>> 0, false, (hi & ~0xfffff) >>> 0);
      const zeroBits = pgprot((bits.lo & ~(_PAGE_RW | _PAGE_DIRTY)) | _PAGE_SPECIAL, false, bits.hi);
      const pages = span / PAGE;
      for (let i = 0; i < pages; i++) {
        const e = zeroPfn === undefined ? pfnPte(pfn + i, bits) : pfnPte(zeroPfn, zeroBits);
        this.store.set(pte, i, e.lo, e.hi);
      }
      const paddr = table * PAGE;
      this.store.set(slot, idx, (paddr % 2 ** 32) + _PAGE_TABLE, Math.floor(paddr / 2 ** 32));
      this.flushRange(space, [va]);
      return pages;
    });
  }

  /** Sets or clears the special (PFN-map) bit of present entries; returns how many changed. */
  markSpecial(asid: number, va: number, count: number, special: boolean): Promise<number> {
    return this.serialize(async () => {
      const space = this.space(asid);
      this.checkRange(asid, va, count);
      this.checkNoHugeLeaf(space, va, count);
      let changed = 0;
      this.forEachEntry(space, va, count, (slot, idx, _a, lo, hi) => {
        if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0) return;
        const nlo = (special ? lo | _PAGE_SPECIAL : lo & ~_PAGE_SPECIAL) >>> 0;
        if (nlo !== lo) {
          this.store.set(slot, idx, nlo, hi);
          changed++;
        }
      });
      return changed;
    });
  }

  /** The entry at every level for `va` (no Accessed/Dirty update, no TLB). */
  walk(asid: number, va: number): WalkTrace {
    const space = this.space(asid);
    if (!Number.isInteger(va) || va < 0 || va >= this.vaLimit) {
      throw new InvalidArgumentError('va', va, `not an address of the ${this.profile.arch} profile`);
    }
    return this.tables.walk(space.pgdSlot, va);
  }

  /** pagemap entries for `count` pages at `va` (like /proc/PID/pagemap). */
  pagemap(asid: number, va: number, count: number): Promise<PagemapEntry[]> {
    return this.serialize(async () => {
      const space = this.space(asid);
      this.checkRange(asid, va, count);
      if (count > MAX_PAGEMAP_PAGES) {
        throw new InvalidArgumentError(
          'count',
          count,
          `at most ${MAX_PAGEMAP_PAGES} pages per query (read pagemap in chunks)`,
        );
      }
      const los = new Uint32Array(count);
      const pfns = new Float64Array(count).fill(-1);
      const leaf = { lo: 0, hi: 0 };
      const needCounts: number[] = [];
      for (let i = 0; i < count; i++) {
        const a = va + i * PAGE;
        const level = this.tables.leafOf(space.pgdSlot, a, leaf);
        if (level < 0 || (leaf.lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0) continue;
        const span = this.spans[level];
        const pagesPer = span / PAGE;
        los[i] = leaf.lo;
        pfns[i] =
          Math.floor(entryPfn(leaf.lo, leaf.hi) / pagesPer) * pagesPer + Math.floor((a % span) / PAGE);
        if ((leaf.lo & _PAGE_SPECIAL) === 0) needCounts.push(i);
      }
      const counts = needCounts.length > 0 ? await this.port.mapcounts(needCounts.map((i) => pfns[i])) : [];
      const exclusive = new Uint8Array(count);
      needCounts.forEach((i, k) => (exclusive[i] = counts[k] === 1 ? 1 : 0));
      const out: PagemapEntry[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const present = pfns[i] >= 0;
        const lo = los[i];
        const fields = {
          va: va + i * PAGE,
          present,
          pfn: present ? pfns[i] : null,
          special: present && (lo & _PAGE_SPECIAL) !== 0,
          exclusive: exclusive[i] === 1,
          softDirty: present && (lo & _PAGE_SOFT_DIRTY) !== 0,
          uffdWp: present && (lo & _PAGE_UFFD_WP) !== 0,
          dirty: present && (lo & _PAGE_DIRTY) !== 0,
          accessed: present && (lo & _PAGE_ACCESSED) !== 0,
          hi: 0,
          lo: 0,
        };
        const words = encodePagemap(fields);
        fields.hi = words.hi;
        fields.lo = words.lo;
        out[i] = fields;
      }
      return out;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Translation and access

  /**
   * Translates `va` for an access on `cpu` as the CPU does: TLB, else a page walk that sets
   * Accessed (every level) and Dirty (leaf, on write) and fills the TLB. `acc` is an access code
   * (X86_PF_WRITE | X86_PF_USER | X86_PF_INSTR bits; see accessCode). Returns the physical
   * address, or a fault as a negative number (see isPageFault / pageFaultCode / TRANSLATE_GP).
   */
  translate(cpu: number, va: number, acc: number): number {
    if (!(va >= 0 && va < this.vaLimit)) return TRANSLATE_GP;
    const c = this.cpus[cpu];
    if (c === undefined)
      throw new InvalidArgumentError('cpu', cpu, `no such cpu (0..${this.cpus.length - 1})`);
    // SMEP (supervisor fetch) and SMAP (supervisor data access without EFLAGS.AC) forbid user pages
    const supervisorCheck =
      (acc & ACC_USER) === 0 && ((acc & ACC_FETCH) !== 0 ? this.smep : this.smap && (acc & ACC_AC) === 0);
    acc = (acc & (ACC_WRITE | ACC_USER | this.fetchMask)) | (supervisorCheck ? ACC_SUPERVISOR_CHECK : 0);
    const r = c.tlb.lookup(va, acc);
    if (r >= 0) return r;
    return this.walkAndFill(c, va, acc);
  }

  /**
   * Performs accesses in order and returns one result each. Translation (TLB and walks) happens
   * here; the data of the whole batch moves in one ordered transfer through the port. After a
   * fault on a CPU the rest of that CPU's accesses in the batch are skipped (the process must
   * take its fault first); other CPUs go on.
   */
  accessBatch(accesses: readonly Access[]): Promise<AccessResult[]> {
    // The translation runs in call order with every other operation; the data transfer is only
    // issued in that order (the port keeps it), so the next batch can translate while this
    // one's bytes are in flight: over gRPC that is what keeps a stream of batches moving.
    let done: Promise<AccessResult[]> = Promise.resolve([]);
    return this.serialize(async () => {
      for (let i = 0; i < accesses.length; i++) this.checkAccess(accesses[i], i);
      const n = accesses.length;
      const results: AccessResult[] = new Array(n);
      const stopped = new Uint8Array(this.cpus.length);
      const ops: PhysOp[] = [];
      // for each read: the index of its first piece among the read results, and how many pieces
      const readFirst = new Int32Array(n).fill(-1);
      const readPieces = new Int32Array(n);
      let reads = 0;
      for (let i = 0; i < n; i++) {
        const a = accesses[i];
        if (stopped[a.cpu]) {
          results[i] = SKIPPED;
          continue;
        }
        const length = a.op === 'write' ? (a.data as Uint8Array).length : (a.length as number);
        const acc = accessCode(a.op, a.user, a.ac === true);
        const end = a.va + length;
        // on x86_64 crossing from the lower half into 2^47 leaves canonical space
        const crossesHole = this.profile.vaBits === 48 && a.va < 2 ** 47 && end > 2 ** 47;
        if (a.va < 0 || end > this.vaLimit || crossesHole) {
          results[i] = GENERAL_PROTECTION;
          stopped[a.cpu] = 1;
          continue;
        }
        // translate every page first: an access that faults moves no data
        const firstOp = ops.length;
        let fault: AccessResult | null = null;
        let prevEnd = -1;
        for (let cur = a.va; cur < end;) {
          const len = Math.min(end - cur, PAGE - (cur % PAGE));
          const r = this.translate(a.cpu, cur, acc);
          if (r < 0) {
            fault =
              r === TRANSLATE_GP
                ? GENERAL_PROTECTION
                : { kind: 'page-fault', address: cur, errorCode: pageFaultCode(r) };
            break;
          }
          if (r === prevEnd) {
            // physically contiguous with the previous page: extend the piece
            const last = ops[ops.length - 1] as { paddr: number; length: number };
            ops[ops.length - 1] = { op: 'read', paddr: last.paddr, length: last.length + len };
          } else {
            ops.push({ op: 'read', paddr: r, length: len });
          }
          prevEnd = r + len;
          cur += len;
        }
        if (fault) {
          ops.length = firstOp;
          results[i] = fault;
          stopped[a.cpu] = 1;
          continue;
        }
        if (a.op === 'write') {
          const data = a.data as Uint8Array;
          let off = 0;
          for (let k = firstOp; k < ops.length; k++) {
            const piece = ops[k] as { paddr: number; length: number };
            ops[k] = { op: 'write', paddr: piece.paddr, bytes: data.subarray(off, off + piece.length) };
            off += piece.length;
          }
          results[i] = OK;
        } else {
          readFirst[i] = reads;
          readPieces[i] = ops.length - firstOp;
          reads += ops.length - firstOp;
        }
      }
      // read results come back in op order; map each to its op for the page-table overlay
      const readOps: PhysOp[] = [];
      for (const op of ops) if (op.op === 'read') readOps.push(op);
      const overlay = readOps.some((op) => this.touchesTables(op as { paddr: number; length: number }));
      const { wire, readAt, readOffset } = coalesceReads(ops);
      const finish = (wireData: Uint8Array[]): AccessResult[] => {
        for (let i = 0; i < n; i++) {
          const first = readFirst[i];
          if (first < 0) continue;
          const count = readPieces[i];
          const chunks: Uint8Array[] = [];
          for (let k = first; k < first + count; k++) {
            const op = readOps[k] as { paddr: number; length: number };
            const bytes = wireData[readAt[k]].subarray(readOffset[k], readOffset[k] + op.length);
            chunks.push(overlay ? this.overlayTables(op, bytes) : bytes);
          }
          results[i] = { kind: 'ok', data: count === 1 ? chunks[0] : concat(chunks) };
        }
        return results;
      };
      const transfer = wire.length > 0 ? this.port.transferPhys(wire) : Promise.resolve<Uint8Array[]>([]);
      if (overlay) {
        // A read of a page-table frame shows the tables as they are now: finish before anything
        // else can change them.
        done = Promise.resolve(finish(await transfer));
      } else {
        done = transfer.then(finish);
        // The caller gets `done` once this section ends; until then, do not report it unhandled.
        done.catch(() => undefined);
      }
    }).then(() => done);
  }

  /** Does a physical range cover a frame that holds page-table entries? */
  private touchesTables(op: { paddr: number; length: number }): boolean {
    const last = Math.floor((op.paddr + op.length - 1) / PAGE);
    for (let pfn = Math.floor(op.paddr / PAGE); pfn <= last; pfn++) {
      const slot = this.store.pfnToSlot[pfn];
      if (slot !== undefined && slot >= 0) return true;
    }
    return false;
  }

  /** INVLPG on `cpu`: drops the translation of `va` for the current PCID and global entries. */
  invlpg(cpu: number, va: number): void {
    const c = this.cpu(cpu);
    c.tlb.invalidatePage(va, this.currentPcid(c));
  }

  /** Flushes the whole TLB of `cpu`, global entries included (as a CR4.PGE toggle). */
  flushTlb(cpu: number): void {
    this.cpu(cpu).tlb.flush(-2);
  }

  tlbStats(cpu: number): TlbStats {
    return this.cpu(cpu).tlb.snapshotStats();
  }

  // ---------------------------------------------------------------------------------------------
  // Kernel mappings

  /** The direct-map address of a lowmem PFN (__va(PFN_PHYS(pfn))), or null for highmem. */
  pfnToVirt(pfn: number): number | null {
    this.checkPfn(pfn, 'pfn');
    return pfn < this.machine.maxLowPfn ? this.profile.pageOffset + pfn * PAGE : null;
  }

  /** The direct map by page size in kB, as /proc/meminfo DirectMap4k / DirectMap2M (4M on x86) / DirectMap1G. */
  directMapKb(): { k4: number; large: number; g1: number } {
    const out = { k4: 0, large: 0, g1: 0 };
    const kernel = this.kernelSpace();
    const end = this.machine.maxLowPfn * PAGE;
    for (let pa = 0; pa < end;) {
      const t = this.tables.walk(kernel.pgdSlot, this.profile.pageOffset + pa);
      const bytes = t.pageBytes ?? PAGE;
      if (bytes === PAGE) out.k4 += 4;
      else if (bytes === 2 ** 30) out.g1 += bytes / 1024;
      else out.large += bytes / 1024;
      pa += bytes;
    }
    return out;
  }

  /** page_address(): the direct-map address, the PKMAP address of a kmapped highmem page, or null. */
  pageAddress(pfn: number): number | null {
    const direct = this.pfnToVirt(pfn);
    if (direct !== null) return direct;
    const slot = this.pkmap?.slotOf(pfn);
    return slot === undefined ? null : this.profile.pkmapBase + slot * PAGE;
  }

  /**
   * vmalloc(size): a virtually contiguous area in VMALLOC_START..VMALLOC_END followed by a guard
   * page, backed by order-0 pages allocated one by one (not physically contiguous), mapped
   * PAGE_KERNEL in init_mm. Returns the address, or null as the kernel returns NULL (size 0,
   * larger than RAM, no room, out of memory).
   */
  vmalloc(size: number, caller = 'vmalloc'): Promise<number | null> {
    return this.serialize(async () => {
      if (!Number.isInteger(size) || size < 0)
        throw new InvalidArgumentError('size', size, 'must be a non-negative integer');
      const bytes = pageAlign(size);
      const n = bytes / PAGE;
      if (n === 0 || n > this.machine.totalPages) return null;
      const addr = this.vmallocAreas.findFree(bytes + PAGE);
      if (addr === null) return null;
      const kernel = this.kernelSpace();
      const prot = this.profile.prot.PAGE_KERNEL;
      const pages = await this.port.allocVmallocPages(n);
      if (pages === null) return null;
      const writes = this.leafWrites(addr, pages, prot);
      try {
        await this.writeEntries(kernel, writes, false);
      } catch (e) {
        await this.port.freeVmallocPages(pages);
        if (e instanceof ResourceExhaustedError) return null;
        throw e;
      }
      this.vmallocAreas.insert({ addr, size: bytes + PAGE, pages, caller });
      return addr;
    });
  }

  /** vfree(addr): unmaps the area, flushes every CPU's TLB for it, frees its pages. vfree(0) does nothing. */
  vfree(addr: number): Promise<void> {
    return this.serialize(async () => {
      if (addr === 0) return;
      const area = this.vmallocAreas.find(addr);
      if (!area)
        throw new NotFoundError('addr', addr, 'no vmalloc area starts here (vfree of a nonexistent vm area)');
      const kernel = this.kernelSpace();
      const vas: number[] = [];
      this.forEachEntry(kernel, area.addr, area.pages.length, (slot, idx, a) => {
        this.store.set(slot, idx, 0, 0);
        vas.push(a);
      });
      this.flushKernelRange(vas);
      this.vmallocAreas.remove(addr);
      await this.port.freeVmallocPages(area.pages);
    });
  }

  /** vmalloc_to_pfn: the PFN behind a kernel address (init_mm walk, huge leaves included), or null. */
  vmallocToPfn(addr: number): number | null {
    if (!Number.isInteger(addr) || addr < 0 || addr >= this.vaLimit) {
      throw new InvalidArgumentError('addr', addr, 'not an address of this profile');
    }
    const t = this.tables.walk(this.kernelSpace().pgdSlot, addr);
    return t.present ? (t.pfn as number) : null;
  }

  /** vmalloc_to_page: there is no struct page pointer here, so the page is named by its PFN. */
  vmallocToPage(addr: number): number | null {
    return this.vmallocToPfn(addr);
  }

  /** The vmalloc areas, lowest address first. */
  vmallocAreasList(): readonly VmArea[] {
    return this.vmallocAreas.list();
  }

  /** /proc/vmallocinfo. */
  procVmallocinfo(): string {
    return this.vmallocAreas.procVmallocinfo(this.profile.vaBits);
  }

  /**
   * kmap(page): a lowmem page's direct-map address; for a highmem page (x86) a PKMAP slot that
   * stays until the matching kunmap. Throws ResourceExhausted where the kernel would sleep for a
   * free slot.
   */
  kmap(pfn: number): Promise<number> {
    return this.serialize(async () => {
      this.checkPfn(pfn, 'pfn');
      const direct = this.pfnToVirt(pfn);
      if (direct !== null) return direct;
      const pk = this.pkmap as Pkmap;
      const base = this.profile.pkmapBase;
      let slot = pk.slotOf(pfn);
      if (slot === undefined) {
        slot = pk.findFree(() => this.flushAllZeroPkmaps());
        if (slot < 0) throw new ResourceExhaustedError('pfn', pfn, `all ${pk.slots} pkmap slots are in use`);
        this.setKernelPte(base + slot * PAGE, pfn);
        pk.occupy(slot, pfn);
      }
      pk.count[slot]++;
      return base + slot * PAGE;
    });
  }

  /** kunmap(page): drops one use of a highmem page's PKMAP slot (the PTE stays until the lazy flush). */
  kunmap(pfn: number): Promise<void> {
    return this.serialize(async () => {
      this.checkPfn(pfn, 'pfn');
      if (pfn < this.machine.maxLowPfn) return;
      const pk = this.pkmap as Pkmap;
      const slot = pk.slotOf(pfn);
      if (slot === undefined || pk.count[slot] < 2) {
        throw new FailedPreconditionError('pfn', pfn, 'kunmap of a highmem page that is not kmapped');
      }
      pk.count[slot]--;
    });
  }

  /**
   * kmap_local_page on `cpu`: lowmem pages get their direct-map address; a highmem page gets the
   * CPU's next fixmap slot (a stack of KM_MAX_IDX), unmapped in reverse order.
   */
  kmapLocal(cpu: number, pfn: number): Promise<number> {
    return this.serialize(async () => {
      const c = this.cpu(cpu);
      this.checkPfn(pfn, 'pfn');
      const direct = this.pfnToVirt(pfn);
      if (direct !== null) return direct;
      const depth = c.kmapLocal.length;
      if (depth >= KM_MAX_IDX)
        throw new ResourceExhaustedError('cpu', cpu, `kmap_local stack is full (${KM_MAX_IDX})`);
      const p = this.profile;
      const addr = p.fixaddrTop - (p.fixKmapBegin + depth + KM_MAX_IDX * cpu) * PAGE;
      this.setKernelPte(addr, pfn);
      c.kmapLocal.push(addr);
      return addr;
    });
  }

  /** kunmap_local: must name the innermost kmap_local address of the CPU (lowmem addresses are ignored). */
  kunmapLocal(cpu: number, addr: number): Promise<void> {
    return this.serialize(async () => {
      const c = this.cpu(cpu);
      const p = this.profile;
      if (addr >= p.pageOffset && addr < p.pageOffset + this.machine.maxLowPfn * PAGE) return;
      if (c.kmapLocal[c.kmapLocal.length - 1] !== addr) {
        throw new FailedPreconditionError('addr', addr, 'not the innermost kmap_local mapping of this cpu');
      }
      c.kmapLocal.pop();
      const kernel = this.kernelSpace();
      const slot = this.tables.tableAt(kernel.pgdSlot, addr, this.leafLevel);
      this.store.set(slot, this.tables.index(addr, this.leafLevel), 0, 0);
      this.flushKernelRange([addr]);
    });
  }

  /**
   * remap_pfn_range(vma, addr, pfn, size, prot) in address space `asid`: maps
   * [addr, addr + PAGE_ALIGN(size)) to the PFNs from `pfn` as special entries (no refcount or
   * mapcount is taken). Linux's errno for a refused request; typed errors for requests the
   * kernel would BUG on (size 0, a present PTE in the range) or that name nothing real.
   */
  remapPfnRange(
    asid: number,
    vma: RemapVma,
    addr: number,
    pfn: number,
    size: number,
    prot: Pgprot,
  ): Promise<RemapResult> {
    return this.serialize(async () => {
      const space = this.userSpace(asid);
      if (!Number.isInteger(size) || size <= 0)
        throw new InvalidArgumentError('size', size, 'must be a positive integer (BUG_ON(addr >= end))');
      if (!Number.isInteger(addr) || addr < 0)
        throw new InvalidArgumentError('addr', addr, 'must be a non-negative integer');
      if (!isPageRange(vma.start, vma.end))
        throw new InvalidArgumentError('vma', vma, 'start and end must be page aligned with start < end');
      this.checkProt(prot, 'prot', asid);
      const n = pageAlign(size) / PAGE;
      if (!Number.isInteger(pfn) || pfn < 0 || pfn + n > this.machine.maxPfn) {
        throw new InvalidArgumentError(
          'pfn',
          pfn,
          `range of ${n} pages is beyond memory (max_pfn ${this.machine.maxPfn})`,
        );
      }
      const end = addr + n * PAGE;
      const checked = remapVmaChecks(vma, addr, end, pfn);
      if (checked.errno !== null) return checked;
      this.checkRange(asid, addr, n);
      const pfns = Array.from({ length: n }, (_, i) => pfn + i);
      const writes = this.leafWrites(addr, pfns, pgprot(prot.lo | _PAGE_SPECIAL, false, prot.hi));
      try {
        await this.writeEntries(space, writes, false);
      } catch (e) {
        if (e instanceof ResourceExhaustedError) return { ...checked, errno: 'ENOMEM' };
        throw e;
      }
      return checked;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Introspection

  /** Page-table pages in use: all, and those of one address space (its PGD and user half). */
  tablePages(asid?: number): number {
    if (asid === undefined) {
      let deposited = 0;
      for (const t of this.deposited.values()) deposited += t.size;
      return this.store.tableCount + deposited;
    }
    const space = this.space(asid);
    const slots: number[] = [];
    const to = asid === KERNEL_ASID ? this.profile.entriesPerTable : this.profile.kernelPgdStart;
    const from = asid === KERNEL_ASID ? this.profile.kernelPgdStart : 0;
    this.tables.collectBelow(space.pgdSlot, 0, from, to, slots);
    return slots.length + 1 + (this.deposited.get(asid)?.size ?? 0);
  }

  /**
   * Checks the mmu's own invariants; throws InvariantViolationError. Among them the TLB
   * invariant: every cached translation is one the page tables still allow.
   */
  checkInvariants(): void {
    this.verifyInvariants();
  }
}

/** Reads closer than this (bytes) in one run of reads are fetched as one. */
const COALESCE_GAP = 256;
/** The largest read made of coalesced pieces. */
const MAX_COALESCED = 64 * 1024;

/**
 * The transfer that goes to the page allocator for a batch's ops: each run of reads with no write
 * between them, ascending and close together in physical memory (many small reads of the same
 * pages, the common case), becomes one read. Writes and the order of everything stay as they
 * were. For the k-th read of `ops`, `readAt[k]` is its read among the transfer's reads and
 * `readOffset[k]` where its bytes start in that read's data.
 */
function coalesceReads(ops: readonly PhysOp[]): {
  wire: PhysOp[];
  readAt: Int32Array;
  readOffset: Float64Array;
} {
  const reads = ops.reduce((count, op) => count + (op.op === 'read' ? 1 : 0), 0);
  const readAt = new Int32Array(reads);
  const readOffset = new Float64Array(reads);
  const wire: PhysOp[] = [];
  let wireReads = 0;
  let k = 0;
  let open: { paddr: number; end: number; wireIndex: number; readIndex: number } | null = null;
  for (const op of ops) {
    if (op.op === 'write') {
      wire.push(op);
      open = null;
      continue;
    }
    const end = op.paddr + op.length;
    if (
      open &&
      op.paddr >= open.paddr &&
      op.paddr <= open.end + COALESCE_GAP &&
      Math.max(open.end, end) - open.paddr <= MAX_COALESCED
    ) {
      open.end = Math.max(open.end, end);
      wire[open.wireIndex] = { op: 'read', paddr: open.paddr, length: open.end - open.paddr };
    } else {
      open = { paddr: op.paddr, end, wireIndex: wire.length, readIndex: wireReads++ };
      wire.push(op);
    }
    readAt[k] = open.readIndex;
    readOffset[k] = op.paddr - open.paddr;
    k++;
  }
  return { wire, readAt, readOffset };
}
