import { pageAlign } from '@pagemesh/uapi';

import {
  type Access,
  type AccessResult,
  MAX_ACCESS_BYTES,
  TRANSLATE_GP,
  X86_PF_PROT,
  X86_PF_RSVD,
  accessCode,
  isPageFault,
  pageFaultCode,
} from './access';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  InvariantViolationError,
  NotFoundError,
  ResourceExhaustedError,
} from './errors';
import { Pkmap } from './kernel/pkmap';
import { type VmArea, VmallocAreas } from './kernel/vmalloc-areas';
import { type PagemapEntry, encodePagemap } from './pagemap';
import { PageTables, type WalkTrace, entryPfn } from './paging/page-tables';
import { KM_MAX_IDX, type PagingProfile, x86Profile, x86_64Profile } from './paging/paging-profile';
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
} from './paging/pte-bits';
import { KERNEL_OWNER, TableStore } from './paging/table-store';
import type { MachineInfo, PageAllocatorPort, PhysOp } from './ports';
import { type RemapResult, type RemapVma, remapVmaChecks } from './remap-pfn-range';
import {
  ACC_FETCH,
  ACC_USER,
  ACC_WRITE,
  Tlb,
  type TlbConfig,
  type TlbStats,
  validateGeometry,
} from './tlb/tlb';

/** The address space of init_mm: the kernel page tables. */
export const KERNEL_ASID = 0;
/** tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c): beyond it a range flush becomes a full flush. */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;
/** TLB_NR_DYN_ASIDS (arch/x86/include/asm/tlbflush.h): PCIDs a CPU keeps for recent address spaces. */
export const TLB_NR_DYN_ASIDS = 6;
/** Simulated CPUs at most (x86 kmap_local fixmap slots must fit below PKMAP). */
export const MAX_CPUS = 32;

const PAGE = 4096;
const TABLE_WORDS = 1024;
const TWO32 = 2 ** 32;

/**
 * _PAGE_CHG_MASK: what pte_modify keeps from the old entry (PFN, caching, special, A, D,
 * soft-dirty, uffd-wp, the software bits 57/58); the rest comes from the new protection.
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
const CHG_MASK_HI = 0x000fffff | _PAGE_SOFTW4_HI | _PAGE_SOFTW5_HI;

export interface MmuOptions {
  /** Simulated CPUs (default 4, at most MAX_CPUS). */
  readonly cpus?: number;
  readonly tlb?: TlbConfig;
  /** CR4.PCIDE: keep TLB entries of recent address spaces across CR3 switches (default false). */
  readonly pcid?: boolean;
}

export interface MapOptions {
  /** pte_mkspecial: a PFN-map entry with no struct page bookkeeping. */
  readonly special?: boolean;
  /** Overwrite entries that are already in use instead of refusing. */
  readonly replace?: boolean;
}

/** PFNs to map: a list (one per page), or a physically contiguous run. */
export type PfnSource = readonly number[] | { readonly first: number; readonly count: number };

/** An entry an operation removed or replaced, for the vma-manager's refcount and mapcount work. */
export interface RemovedPte {
  readonly va: number;
  readonly pfn: number;
  readonly special: boolean;
  readonly dirty: boolean;
  readonly accessed: boolean;
  /** A PROT_NONE entry (present to Linux, not to the CPU). */
  readonly protNone: boolean;
}

export interface DestroyResult {
  /** Page-table pages returned to the page allocator (the PGD included). */
  readonly freedTablePages: number;
  /** Entries still present when the address space was destroyed (normally none: exit_mmap unmaps first). */
  readonly unmapped: readonly RemovedPte[];
}

interface AddressSpace {
  readonly id: number;
  readonly pgdSlot: number;
}

interface Cpu {
  readonly tlb: Tlb;
  asid: number;
  rootSlot: number;
  /** With PCID: the address space held by PCID i + 1, or -1. */
  readonly pcidOwner: Int32Array;
  nextPcid: number;
  /** kmap_local stack: the fixmap addresses in use, innermost last. */
  readonly kmapLocal: number[];
}

/** One leaf entry an operation wants written, planned before anything changes. */
interface EntryWrite {
  readonly va: number;
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The mmu: every page table (init_mm's included), the simulated CPUs' CR3 and TLBs, and the
 * kernel mappings (direct map, vmalloc, kmap). The only writer of page-table entries.
 *
 * Mutating operations are async (they may need page-table frames from the page allocator) and
 * run one at a time in call order; each validates before it changes anything. translate() and
 * walk() are synchronous over the mmu's own table store.
 */
export class Mmu {
  readonly profile: PagingProfile;
  readonly machine: MachineInfo;
  private readonly store: TableStore;
  private readonly tables: PageTables;
  private readonly spaces = new Map<number, AddressSpace>();
  private readonly cpus: Cpu[];
  private readonly pcid: boolean;
  private nextAsid = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly vmallocAreas: VmallocAreas;
  private readonly pkmap: Pkmap | null;

  // hot-path constants
  private readonly vaLimit: number;
  private readonly spans: Float64Array;
  private readonly indexMask: number;
  private readonly leafLevel: number;
  private readonly entryWords: number;
  private readonly hugeAt: readonly boolean[];
  private readonly rsvdHi: number;
  private readonly rsvdHugeLo: Int32Array;
  private readonly fetchMask: number;
  private readonly walkOffsets = new Int32Array(4);

  private constructor(
    private readonly port: PageAllocatorPort,
    machine: MachineInfo,
    options: MmuOptions,
  ) {
    this.machine = machine;
    this.profile = machine.arch === 'x86_64' ? x86_64Profile() : x86Profile(machine.maxLowPfn * PAGE);
    const p = this.profile;
    this.store = new TableStore(machine.maxPfn, p.entryWords);
    this.tables = new PageTables(p, this.store);
    this.pcid = options.pcid ?? false;
    this.vaLimit = 2 ** p.vaBits;
    this.spans = Float64Array.from(p.spans);
    this.indexMask = p.entriesPerTable - 1;
    this.leafLevel = p.shifts.length - 1;
    this.entryWords = p.entryWords;
    this.hugeAt = p.hugeAt;
    // PFN bits from MAXPHYADDR to 51 are reserved (x86_64); none on non-PAE x86
    this.rsvdHi = p.entryWords === 2 ? (0xfffff & ~((1 << (p.maxPhysBits - 32)) - 1)) >>> 0 : 0;
    // the low PFN bits of a huge leaf below its alignment (bit 12 is PAT_LARGE) must be zero
    this.rsvdHugeLo = new Int32Array(p.shifts.length);
    p.shifts.forEach((s, l) => {
      if (p.hugeAt[l]) this.rsvdHugeLo[l] = ((2 ** s - 1) & ~0x1fff) | 0;
    });
    this.fetchMask = p.hasNx ? ACC_FETCH : 0; // I/D is reported only with NX enabled
    this.vmallocAreas = new VmallocAreas(p.vmallocStart, p.vmallocEnd);
    this.pkmap = p.lastPkmap > 0 ? new Pkmap(p.lastPkmap) : null;

    const ncpu = options.cpus ?? 4;
    const tlbConfig = options.tlb ?? {};
    const largeBytes = p.arch === 'x86_64' ? 2 ** 21 : 2 ** 22;
    const hugeBytes = p.arch === 'x86_64' ? 2 ** 30 : null;
    this.cpus = [];
    for (let i = 0; i < ncpu; i++) {
      this.cpus.push({
        tlb: new Tlb(tlbConfig, largeBytes, hugeBytes, p.kernelStart),
        asid: KERNEL_ASID,
        rootSlot: 0,
        pcidOwner: new Int32Array(TLB_NR_DYN_ASIDS).fill(-1),
        nextPcid: 0,
        kmapLocal: [],
      });
    }
  }

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
    return mmu;
  }

  // ---------------------------------------------------------------------------------------------
  // Address spaces and CPUs

  get cpuCount(): number {
    return this.cpus.length;
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
      for (const slot of slots) {
        if (this.store.levelOf(slot) !== this.leafLevel) continue;
        for (let i = 0; i < this.profile.entriesPerTable; i++) {
          const lo = this.store.lo(slot, i);
          if (lo & (_PAGE_PRESENT | _PAGE_PROTNONE))
            unmapped.push(this.removedPte(0, lo, this.store.hi(slot, i)));
        }
      }
      slots.push(space.pgdSlot);
      const pfns = slots.map((s) => this.store.detach(s));
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
      const special = options.special ? _PAGE_SPECIAL : 0;
      const writes: EntryWrite[] = [];
      for (let i = 0; i < list.length; i++) {
        const paddr = list[i] * PAGE;
        writes.push({
          va: va + i * PAGE,
          level: this.leafLevel,
          lo: ((paddr % TWO32) + (prot.lo | special)) >>> 0,
          hi: (Math.floor(paddr / TWO32) | prot.hi) >>> 0,
        });
      }
      return this.writeEntries(space, writes, options.replace ?? false);
    });
  }

  /** Clears the entries of `count` pages at `va`; frees tables that became empty; shoots down TLBs. */
  unmapPages(asid: number, va: number, count: number): Promise<RemovedPte[]> {
    return this.serialize(async () => {
      const space = this.space(asid);
      this.checkRange(asid, va, count);
      this.checkNoHugeLeaf(space, va, count);
      const removed: RemovedPte[] = [];
      const flushVas: number[] = [];
      const touched: number[] = [];
      const ptSpan = this.spans[this.leafLevel - 1];
      for (let n = 0; n < count;) {
        const pva = va + n * PAGE;
        const slot = this.tables.tableAt(space.pgdSlot, pva, this.leafLevel);
        if (slot < 0) {
          n += Math.min(count - n, (ptSpan - (pva % ptSpan)) / PAGE);
          continue;
        }
        touched.push(pva);
        const inTable = Math.min(count - n, (ptSpan - (pva % ptSpan)) / PAGE);
        for (let k = 0; k < inTable; k++) {
          const a = pva + k * PAGE;
          const idx = this.tables.index(a, this.leafLevel);
          const lo = this.store.lo(slot, idx);
          const hi = this.store.hi(slot, idx);
          if (lo === 0 && hi === 0) continue;
          if (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) removed.push(this.removedPte(a, lo, hi));
          if (lo & _PAGE_PRESENT) flushVas.push(a);
          this.store.set(slot, idx, 0, 0);
        }
        n += inTable;
      }
      this.flushRange(space, flushVas);
      const freed: number[] = [];
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
      this.checkNoHugeLeaf(space, va, count);
      const flushVas: number[] = [];
      let changed = 0;
      this.forEachEntry(space, va, count, (slot, idx, a, lo, hi) => {
        if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0) return;
        const nlo = ((lo & CHG_MASK_LO) | (prot.lo & ~CHG_MASK_LO)) >>> 0;
        const nhi = ((hi & CHG_MASK_HI) | (prot.hi & ~CHG_MASK_HI)) >>> 0;
        if (nlo === lo && nhi === hi) return;
        this.store.set(slot, idx, nlo, nhi);
        changed++;
        if (weakens(lo, hi, nlo, nhi)) flushVas.push(a);
      });
      this.flushRange(space, flushVas);
      return changed;
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
      const traces: { va: number; lo: number; hi: number; pfn: number | null }[] = [];
      for (let i = 0; i < count; i++) {
        const a = va + i * PAGE;
        const t = this.tables.walk(space.pgdSlot, a);
        const last = t.steps[t.steps.length - 1];
        const lo = last.lo;
        const leaf = t.present || t.steps.length === this.profile.shifts.length;
        const present = leaf && (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
        const pfn = t.present ? (t.pfn as number) : present ? entryPfn(lo, last.hi) : null;
        traces.push({ va: a, lo: present || leaf ? lo : 0, hi: last.hi, pfn: present ? pfn : null });
      }
      const needCounts = traces.filter((t) => t.pfn !== null && (t.lo & _PAGE_SPECIAL) === 0);
      const counts =
        needCounts.length > 0 ? await this.port.mapcounts(needCounts.map((t) => t.pfn as number)) : [];
      const mapcount = new Map<number, number>();
      needCounts.forEach((t, i) => mapcount.set(t.va, counts[i]));
      return traces.map((t) => {
        const present = t.pfn !== null;
        const special = present && (t.lo & _PAGE_SPECIAL) !== 0;
        const fields = {
          va: t.va,
          present,
          pfn: t.pfn,
          special,
          exclusive: present && !special && mapcount.get(t.va) === 1,
          softDirty: present && (t.lo & _PAGE_SOFT_DIRTY) !== 0,
          uffdWp: present && (t.lo & _PAGE_UFFD_WP) !== 0,
          dirty: present && (t.lo & _PAGE_DIRTY) !== 0,
          accessed: present && (t.lo & _PAGE_ACCESSED) !== 0,
        };
        return { ...fields, ...encodePagemap(fields) };
      });
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
    acc &= ACC_WRITE | ACC_USER | this.fetchMask;
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
    return this.serialize(async () => {
      for (let i = 0; i < accesses.length; i++) this.checkAccess(accesses[i], i);
      const results: (AccessResult | null)[] = new Array(accesses.length).fill(null);
      const stopped = new Uint8Array(this.cpus.length);
      const ops: PhysOp[] = [];
      /** For each read access: the indices of its ops. */
      const readParts = new Map<number, number[]>();
      for (let i = 0; i < accesses.length; i++) {
        const a = accesses[i];
        if (stopped[a.cpu]) {
          results[i] = { kind: 'skipped' };
          continue;
        }
        const length = a.op === 'write' ? (a.data as Uint8Array).length : (a.length as number);
        const acc = accessCode(a.op, a.user);
        const end = a.va + length;
        // on x86_64 crossing from the lower half into 2^47 leaves canonical space
        const crossesHole = this.profile.vaBits === 48 && a.va < 2 ** 47 && end > 2 ** 47;
        if (a.va < 0 || end > this.vaLimit || crossesHole) {
          results[i] = { kind: 'general-protection' };
          stopped[a.cpu] = 1;
          continue;
        }
        // translate every page first: an access that faults moves no data
        const pieces: { paddr: number; length: number }[] = [];
        let fault: AccessResult | null = null;
        for (let cur = a.va; cur < end;) {
          const n = Math.min(end - cur, PAGE - (cur % PAGE));
          const r = this.translate(a.cpu, cur, acc);
          if (r < 0) {
            fault =
              r === TRANSLATE_GP
                ? { kind: 'general-protection' }
                : { kind: 'page-fault', address: cur, errorCode: pageFaultCode(r) };
            break;
          }
          const prev = pieces[pieces.length - 1];
          if (prev && prev.paddr + prev.length === r) prev.length += n;
          else pieces.push({ paddr: r, length: n });
          cur += n;
        }
        if (fault) {
          results[i] = fault;
          stopped[a.cpu] = 1;
          continue;
        }
        if (a.op === 'write') {
          const data = a.data as Uint8Array;
          let off = 0;
          for (const p of pieces) {
            ops.push({ op: 'write', paddr: p.paddr, bytes: data.subarray(off, off + p.length) });
            off += p.length;
          }
          results[i] = { kind: 'ok' };
        } else {
          const idx: number[] = [];
          for (const p of pieces) {
            idx.push(ops.length);
            ops.push({ op: 'read', paddr: p.paddr, length: p.length });
          }
          readParts.set(i, idx);
        }
      }
      const data = ops.length > 0 ? await this.port.transferPhys(ops) : [];
      // reads come back in op order: map op index -> read result index
      const readIndexOfOp = new Map<number, number>();
      let k = 0;
      ops.forEach((op, i) => {
        if (op.op === 'read') readIndexOfOp.set(i, k++);
      });
      for (const [i, parts] of readParts) {
        const chunks = parts.map((p) => data[readIndexOfOp.get(p) as number]);
        results[i] = { kind: 'ok', data: chunks.length === 1 ? chunks[0] : concat(chunks) };
      }
      return results as AccessResult[];
    });
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
      const writes: EntryWrite[] = [];
      const pages = await this.port.allocVmallocPages(n);
      if (pages === null) return null;
      pages.forEach((pfn, i) => {
        const paddr = pfn * PAGE;
        writes.push({
          va: addr + i * PAGE,
          level: this.leafLevel,
          lo: ((paddr % TWO32) + prot.lo) >>> 0,
          hi: (Math.floor(paddr / TWO32) | prot.hi) >>> 0,
        });
      });
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
      const writes: EntryWrite[] = [];
      for (let i = 0; i < n; i++) {
        const paddr = (pfn + i) * PAGE;
        writes.push({
          va: addr + i * PAGE,
          level: this.leafLevel,
          lo: ((paddr % TWO32) + (prot.lo | _PAGE_SPECIAL)) >>> 0,
          hi: (Math.floor(paddr / TWO32) | prot.hi) >>> 0,
        });
      }
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
    if (asid === undefined) return this.store.tableCount;
    const space = this.space(asid);
    const slots: number[] = [];
    const to = asid === KERNEL_ASID ? this.profile.entriesPerTable : this.profile.kernelPgdStart;
    const from = asid === KERNEL_ASID ? this.profile.kernelPgdStart : 0;
    this.tables.collectBelow(space.pgdSlot, 0, from, to, slots);
    return slots.length + 1;
  }

  /**
   * Checks the mmu's own invariants; throws InvariantViolationError. Among them the TLB
   * invariant: every cached translation is one the page tables still allow.
   */
  checkInvariants(): void {
    const fail = (m: string): never => {
      throw new InvariantViolationError(m);
    };
    const p = this.profile;
    const kernelPgd = this.kernelSpace().pgdSlot;
    const referenced = new Map<number, number>();
    for (const space of this.spaces.values()) {
      const below: number[] = [];
      const from = space.id === KERNEL_ASID ? 0 : 0;
      const to = space.id === KERNEL_ASID ? p.entriesPerTable : p.kernelPgdStart;
      this.tables.collectBelow(space.pgdSlot, 0, from, to, below);
      for (const s of below) {
        referenced.set(s, (referenced.get(s) ?? 0) + 1);
        if (this.store.ownerOf(s) !== space.id)
          fail(`table pfn ${this.store.pfnOf(s)} in asid ${space.id} owned by ${this.store.ownerOf(s)}`);
        if (space.id !== KERNEL_ASID && this.store.usedEntries(s) === 0)
          fail(`empty user table pfn ${this.store.pfnOf(s)} not freed (asid ${space.id})`);
      }
      if (space.id !== KERNEL_ASID) {
        for (let i = p.kernelPgdStart; i < p.entriesPerTable; i++) {
          if (
            this.store.lo(space.pgdSlot, i) !== this.store.lo(kernelPgd, i) ||
            this.store.hi(space.pgdSlot, i) !== this.store.hi(kernelPgd, i)
          ) {
            fail(`asid ${space.id}: kernel PGD entry ${i} differs from init_mm`);
          }
        }
      }
    }
    for (const [s, n] of referenced)
      if (n !== 1) fail(`table pfn ${this.store.pfnOf(s)} referenced ${n} times`);
    const live = this.store.liveSlots();
    if (live.length !== referenced.size + this.spaces.size) {
      fail(`${live.length} live tables, ${referenced.size + this.spaces.size} reachable`);
    }
    for (const s of live) {
      if (this.store.recount(s, p.entriesPerTable) !== this.store.usedEntries(s))
        fail(`table pfn ${this.store.pfnOf(s)}: used-entry count is wrong`);
    }
    this.checkTlbCoherence(fail);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private kernelSpace(): AddressSpace {
    return this.spaces.get(KERNEL_ASID) as AddressSpace;
  }

  private space(asid: number): AddressSpace {
    const s = this.spaces.get(asid);
    if (!s) throw new NotFoundError('asid', asid, 'unknown address space');
    return s;
  }

  private userSpace(asid: number): AddressSpace {
    if (asid === KERNEL_ASID)
      throw new InvalidArgumentError('asid', asid, 'init_mm is not a user address space');
    return this.space(asid);
  }

  private cpu(cpu: number): Cpu {
    const c = this.cpus[cpu];
    if (!Number.isInteger(cpu) || c === undefined)
      throw new InvalidArgumentError('cpu', cpu, `no such cpu (0..${this.cpus.length - 1})`);
    return c;
  }

  private currentPcid(c: Cpu): number {
    if (!this.pcid) return 0;
    return c.pcidOwner.indexOf(c.asid) + 1;
  }

  private checkPfn(pfn: number, field: string): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.machine.maxPfn) {
      throw new InvalidArgumentError(field, pfn, `PFN beyond memory (max_pfn ${this.machine.maxPfn})`);
    }
  }

  private pfnList(pfns: PfnSource): number[] {
    let list: number[];
    if (Array.isArray(pfns)) list = [...(pfns as readonly number[])];
    else {
      const run = pfns as { first: number; count: number };
      if (!Number.isInteger(run.count) || run.count < 1)
        throw new InvalidArgumentError('pfns.count', run.count, 'must be a positive integer');
      list = Array.from({ length: run.count }, (_, i) => run.first + i);
    }
    if (list.length === 0) throw new InvalidArgumentError('pfns', list.length, 'nothing to map');
    for (const pfn of list) this.checkPfn(pfn, 'pfns');
    return list;
  }

  /** A page-aligned range of `count` pages inside the half of the address space `asid` may touch. */
  private checkRange(asid: number, va: number, count: number): void {
    if (!Number.isInteger(va) || va < 0 || va % PAGE !== 0)
      throw new InvalidArgumentError('va', va, 'must be a page-aligned address');
    if (!Number.isInteger(count) || count < 1)
      throw new InvalidArgumentError('count', count, 'must be a positive integer');
    const end = va + count * PAGE;
    const p = this.profile;
    if (asid === KERNEL_ASID) {
      if (va < p.kernelStart || end > this.vaLimit)
        throw new InvalidArgumentError('va', va, 'init_mm ranges must lie in the kernel half');
    } else if (end > p.taskSize) {
      throw new InvalidArgumentError('va', va, `range of ${count} pages ends beyond TASK_SIZE`);
    }
  }

  /** Refuses protection bits that do not exist on this profile, and values that are neither present nor PROT_NONE. */
  private checkProt(prot: Pgprot, field: string, asid: number): void {
    if (
      typeof prot !== 'object' ||
      prot === null ||
      !Number.isInteger(prot.lo) ||
      !Number.isInteger(prot.hi)
    ) {
      throw new InvalidArgumentError(field, prot, 'must be { lo, hi } 32-bit words');
    }
    const lo = prot.lo >>> 0;
    const hi = prot.hi >>> 0;
    if (lo !== prot.lo || hi !== prot.hi)
      throw new InvalidArgumentError(field, prot, 'words must be unsigned 32-bit values');
    if (lo & ~0xfff) throw new InvalidArgumentError(field, prot, 'PFN bits set in a protection');
    const hiAllowed = this.profile.hasNx ? _PAGE_NX_HI | _PAGE_SOFTW4_HI | _PAGE_SOFTW5_HI : 0;
    if (hi & ~hiAllowed) {
      throw new InvalidArgumentError(
        field,
        prot,
        `high-word bits 0x${(hi & ~hiAllowed).toString(16)} do not exist on ${this.profile.arch}`,
      );
    }
    if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0)
      throw new InvalidArgumentError(field, prot, 'neither _PAGE_PRESENT nor _PAGE_PROTNONE');
    if (asid !== KERNEL_ASID && lo & _PAGE_PRESENT && lo & _PAGE_GLOBAL) {
      throw new InvalidArgumentError(
        field,
        prot,
        'user entries never have _PAGE_GLOBAL (it would survive CR3 switches)',
      );
    }
  }

  private checkAccess(a: Access, i: number): void {
    if (!a || typeof a !== 'object') throw new InvalidArgumentError(`accesses[${i}]`, a, 'not an access');
    this.cpu(a.cpu);
    if (typeof a.va !== 'number' || !Number.isInteger(a.va))
      throw new InvalidArgumentError(`accesses[${i}].va`, a.va, 'must be an integer');
    if (a.op !== 'read' && a.op !== 'write' && a.op !== 'fetch')
      throw new InvalidArgumentError(`accesses[${i}].op`, a.op, 'read, write or fetch');
    if (a.op === 'write') {
      if (!(a.data instanceof Uint8Array) || a.data.length < 1 || a.data.length > MAX_ACCESS_BYTES) {
        throw new InvalidArgumentError(
          `accesses[${i}].data`,
          a.data?.length,
          `a write needs 1..${MAX_ACCESS_BYTES} bytes`,
        );
      }
    } else if (
      !Number.isInteger(a.length) ||
      (a.length as number) < 1 ||
      (a.length as number) > MAX_ACCESS_BYTES
    ) {
      throw new InvalidArgumentError(`accesses[${i}].length`, a.length, `must be 1..${MAX_ACCESS_BYTES}`);
    }
  }

  /** Throws when a huge leaf lies over any page of the range (4 KiB operations cannot split it). */
  private checkNoHugeLeaf(space: AddressSpace, va: number, count: number): void {
    const ptSpan = this.spans[this.leafLevel - 1];
    const out = { hugeLevel: -1 };
    for (let a = va; a < va + count * PAGE; a = (Math.floor(a / ptSpan) + 1) * ptSpan) {
      this.tables.tableAt(space.pgdSlot, a, this.leafLevel, out);
      if (out.hugeLevel >= 0) {
        throw new FailedPreconditionError(
          'va',
          a,
          `covered by a huge ${this.profile.levelNames[out.hugeLevel]} entry`,
        );
      }
    }
  }

  /** Calls `fn` for each existing leaf entry slot of the pages (holes in the tables are skipped). */
  private forEachEntry(
    space: AddressSpace,
    va: number,
    count: number,
    fn: (slot: number, idx: number, va: number, lo: number, hi: number) => void,
  ): void {
    const ptSpan = this.spans[this.leafLevel - 1];
    for (let n = 0; n < count;) {
      const pva = va + n * PAGE;
      const inTable = Math.min(count - n, (ptSpan - (pva % ptSpan)) / PAGE);
      const slot = this.tables.tableAt(space.pgdSlot, pva, this.leafLevel);
      if (slot >= 0) {
        for (let k = 0; k < inTable; k++) {
          const a = pva + k * PAGE;
          const idx = this.tables.index(a, this.leafLevel);
          fn(slot, idx, a, this.store.lo(slot, idx), this.store.hi(slot, idx));
        }
      }
      n += inTable;
    }
  }

  private removedPte(va: number, lo: number, hi: number): RemovedPte {
    return {
      va,
      pfn: entryPfn(lo, hi),
      special: (lo & _PAGE_SPECIAL) !== 0,
      dirty: (lo & _PAGE_DIRTY) !== 0,
      accessed: (lo & _PAGE_ACCESSED) !== 0,
      protNone: (lo & _PAGE_PRESENT) === 0,
    };
  }

  private async allocTables(count: number, user: boolean): Promise<number[]> {
    const pfns = await this.port.allocPageTables(count, user);
    if (pfns === null || pfns.length !== count) {
      throw new ResourceExhaustedError(
        'pageTables',
        count,
        'the page allocator could not supply page-table frames',
      );
    }
    return pfns;
  }

  /**
   * Writes planned entries: checks for conflicts, counts the tables to create, gets them in one
   * port call, then installs everything. Nothing changes when it throws.
   */
  private async writeEntries(
    space: AddressSpace,
    writes: readonly EntryWrite[],
    replace: boolean,
  ): Promise<RemovedPte[]> {
    const missing = this.countMissingTables(space, writes, replace);
    const user = space.id !== KERNEL_ASID;
    const frames = missing > 0 ? await this.allocTables(missing, user) : [];
    let next = 0;
    const takeFrame = (): number => frames[next++];
    const owner = user ? space.id : KERNEL_OWNER;
    const tableLo = user ? _PAGE_TABLE : _KERNPG_TABLE;
    const kernelPgd = this.kernelSpace().pgdSlot;
    const onNewTable = (parent: number, index: number, level: number): void => {
      // a new kernel-half PGD entry goes into every PGD (sync_global_pgds / arch_sync_kernel_mappings)
      if (level === 0 && parent === kernelPgd) {
        for (const s of this.spaces.values()) {
          if (s.pgdSlot !== kernelPgd)
            this.store.set(
              s.pgdSlot,
              index,
              this.store.lo(kernelPgd, index),
              this.store.hi(kernelPgd, index),
            );
        }
      }
    };
    const replaced: RemovedPte[] = [];
    const flushVas: number[] = [];
    for (const w of writes) {
      const slot = this.tables.ensureTable(
        space.pgdSlot,
        w.va,
        w.level,
        owner,
        tableLo,
        takeFrame,
        onNewTable,
      );
      const idx = this.tables.index(w.va, w.level);
      const lo = this.store.lo(slot, idx);
      const hi = this.store.hi(slot, idx);
      if (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) replaced.push(this.removedPte(w.va, lo, hi));
      if (lo & _PAGE_PRESENT && (entryPfn(lo, hi) !== entryPfn(w.lo, w.hi) || weakens(lo, hi, w.lo, w.hi)))
        flushVas.push(w.va);
      this.store.set(slot, idx, w.lo, w.hi);
    }
    if (next !== frames.length)
      throw new InvariantViolationError(`planned ${frames.length} tables, used ${next}`);
    if (space.id === KERNEL_ASID) this.flushKernelRange(flushVas);
    else this.flushRange(space, flushVas);
    return replaced;
  }

  /** Tables the writes need; throws when an entry is in use (without replace) or a huge leaf is in the way. */
  private countMissingTables(space: AddressSpace, writes: readonly EntryWrite[], replace: boolean): number {
    const missing = new Set<string>();
    for (const w of writes) {
      let slot = space.pgdSlot;
      for (let l = 0; l <= w.level; l++) {
        const idx = this.tables.index(w.va, l);
        const lo = this.store.lo(slot, idx);
        const hi = this.store.hi(slot, idx);
        if (l === w.level) {
          if (!replace && (lo !== 0 || hi !== 0)) {
            throw new FailedPreconditionError(
              'va',
              w.va,
              `entry in use (${this.profile.levelNames[l]} ${lo & 1 ? 'present' : 'not present'}); pass replace to overwrite`,
            );
          }
          break;
        }
        if (lo === 0 && hi === 0) {
          for (let k = l + 1; k <= w.level; k++) missing.add(`${k}:${Math.floor(w.va / this.spans[k - 1])}`);
          break;
        }
        if (this.tables.isLeaf(l, lo) || (lo & _PAGE_PRESENT) === 0) {
          throw new FailedPreconditionError(
            'va',
            w.va,
            `covered by a ${this.profile.levelNames[l]} leaf entry`,
          );
        }
        slot = this.tables.childSlot(lo, hi);
      }
    }
    return missing.size;
  }

  /** free_pgtables for one address: frees the tables on the path to `va` that are now empty, bottom up. */
  private freeEmptyTables(space: AddressSpace, va: number, freed: number[]): void {
    const path: number[] = [space.pgdSlot];
    for (let l = 0; l < this.leafLevel; l++) {
      const s = path[l];
      const idx = this.tables.index(va, l);
      const lo = this.store.lo(s, idx);
      if ((lo & _PAGE_PRESENT) === 0 || this.tables.isLeaf(l, lo)) return;
      path.push(this.tables.childSlot(lo, this.store.hi(s, idx)));
    }
    for (let l = this.leafLevel; l >= 1; l--) {
      const s = path[l];
      if (this.store.usedEntries(s) !== 0 || this.store.ownerOf(s) === KERNEL_OWNER) return;
      this.store.set(path[l - 1], this.tables.index(va, l - 1), 0, 0);
      freed.push(this.store.detach(s));
    }
  }

  /**
   * TLB shootdown for user pages of `space`: every CPU that may hold its translations (the
   * CPU it is current on; with PCID also CPUs keeping it tagged) drops them: page by page up to
   * the flush ceiling, else everything of that PCID.
   */
  private flushRange(space: AddressSpace, vas: readonly number[]): void {
    if (vas.length === 0) return;
    for (const c of this.cpus) {
      let pcid: number;
      if (this.pcid) {
        pcid = c.pcidOwner.indexOf(space.id) + 1;
        if (pcid === 0) continue;
      } else {
        if (c.asid !== space.id) continue;
        pcid = 0;
      }
      c.tlb.stats.shootdowns++;
      if (vas.length > TLB_SINGLE_PAGE_FLUSH_CEILING) c.tlb.flush(pcid);
      else for (const va of vas) c.tlb.invalidatePage(va, pcid);
    }
  }

  /** flush_tlb_kernel_range on every CPU: global entries and entries under any PCID. */
  private flushKernelRange(vas: readonly number[]): void {
    if (vas.length === 0) return;
    for (const c of this.cpus) {
      c.tlb.stats.shootdowns++;
      if (vas.length > TLB_SINGLE_PAGE_FLUSH_CEILING) {
        c.tlb.flush(-2);
        continue;
      }
      for (const va of vas) {
        c.tlb.invalidatePage(va, 0);
        if (this.pcid)
          for (let i = 0; i < TLB_NR_DYN_ASIDS; i++) if (c.pcidOwner[i] >= 0) c.tlb.invalidatePage(va, i + 1);
      }
    }
  }

  /** Installs a PAGE_KERNEL PTE in a preallocated kernel table (kmap slots). */
  private setKernelPte(va: number, pfn: number): void {
    const kernel = this.kernelSpace();
    const slot = this.tables.tableAt(kernel.pgdSlot, va, this.leafLevel);
    const prot = this.profile.prot.PAGE_KERNEL;
    const paddr = pfn * PAGE;
    const idx = this.tables.index(va, this.leafLevel);
    const oldLo = this.store.lo(slot, idx);
    this.store.set(slot, idx, ((paddr % TWO32) + prot.lo) >>> 0, (Math.floor(paddr / TWO32) | prot.hi) >>> 0);
    if (oldLo & _PAGE_PRESENT) this.flushKernelRange([va]);
  }

  /** flush_all_zero_pkmaps: clears the PTEs of every free-but-mapped PKMAP slot and flushes them. */
  private flushAllZeroPkmaps(): void {
    const pk = this.pkmap as Pkmap;
    const kernel = this.kernelSpace();
    const vas: number[] = [];
    for (const slot of pk.zeroSlots()) {
      const va = this.profile.pkmapBase + slot * PAGE;
      const t = this.tables.tableAt(kernel.pgdSlot, va, this.leafLevel);
      this.store.set(t, this.tables.index(va, this.leafLevel), 0, 0);
      pk.release(slot);
      vas.push(va);
    }
    this.flushKernelRange(vas);
  }

  /** The TLB-miss path: a hardware page walk. */
  private walkAndFill(c: Cpu, va: number, acc: number): number {
    const words = this.store.words;
    const pfnToSlot = this.store.pfnToSlot;
    const ew = this.entryWords;
    const offs = this.walkOffsets;
    let slot = c.rootSlot;
    let rw = _PAGE_RW;
    let us = _PAGE_USER;
    let nx = 0;
    for (let level = 0; ; level++) {
      const idx = Math.floor(va / this.spans[level]) & this.indexMask;
      const off = slot * TABLE_WORDS + idx * ew;
      const lo = words[off];
      const hi = ew === 2 ? words[off + 1] : 0;
      if ((lo & _PAGE_PRESENT) === 0) return this.fault(c, va, acc);
      const huge = this.hugeAt[level] && (lo & _PAGE_PSE) !== 0;
      if (
        (hi & this.rsvdHi) !== 0 ||
        (huge && (lo & this.rsvdHugeLo[level]) !== 0) ||
        (level === 0 && ew === 2 && (lo & _PAGE_PSE) !== 0)
      ) {
        return this.fault(c, va, acc | X86_PF_PROT | X86_PF_RSVD);
      }
      rw &= lo;
      us &= lo;
      nx |= hi & _PAGE_NX_HI;
      offs[level] = off;
      if (huge || level === this.leafLevel) {
        if (
          ((acc & ACC_USER) !== 0 && us === 0) ||
          ((acc & ACC_WRITE) !== 0 && rw === 0) ||
          ((acc & ACC_FETCH) !== 0 && nx !== 0)
        ) {
          return this.fault(c, va, acc | X86_PF_PROT);
        }
        for (let l = 0; l < level; l++) words[offs[l]] |= _PAGE_ACCESSED;
        let leaf = lo | _PAGE_ACCESSED;
        if (acc & ACC_WRITE) leaf |= _PAGE_DIRTY;
        words[off] = leaf;
        const pageBytes = this.spans[level];
        const base = Math.floor(entryPfn(lo, hi) / (pageBytes / PAGE)) * pageBytes;
        const allow =
          (us !== 0 ? ACC_USER : 0) |
          (nx === 0 ? ACC_FETCH : 0) |
          (rw !== 0 && leaf & _PAGE_DIRTY ? ACC_WRITE : 0);
        c.tlb.fill(va, pageBytes, base, allow, (lo & _PAGE_GLOBAL) !== 0);
        return base + (va % pageBytes);
      }
      slot = pfnToSlot[entryPfn(lo, hi)];
    }
  }

  /** A #PF: the CPU also drops any TLB entry for the address. */
  private fault(c: Cpu, va: number, code: number): number {
    for (const arr of c.tlb.arrays) {
      const vpn = Math.floor(va / arr.pageBytes);
      arr.invalidate(c.tlb.pcidKey + vpn, vpn);
      arr.invalidate(Tlb.keyOf(4096, vpn), vpn);
    }
    return -(code + 1);
  }

  private checkTlbCoherence(fail: (m: string) => never): void {
    this.cpus.forEach((c, cpu) => {
      for (const arr of c.tlb.arrays) {
        for (const e of arr.entries()) {
          const va = e.vpn * arr.pageBytes;
          const owners: number[] = [];
          if (e.pcid === 4096) owners.push(...this.spaces.keys());
          else if (!this.pcid) owners.push(c.asid);
          else owners.push(c.pcidOwner[e.pcid - 1]);
          for (const asid of owners) {
            const space = this.spaces.get(asid);
            if (!space) fail(`cpu ${cpu}: TLB entry for ${va} under pcid ${e.pcid} of a dead address space`);
            const t = this.tables.walk((space as AddressSpace).pgdSlot, va);
            const what = `cpu ${cpu}: TLB entry va 0x${va.toString(16)} (asid ${asid})`;
            if (!t.present) fail(`${what}: page tables have no present translation`);
            if (t.pageBytes !== arr.pageBytes || t.physAddr !== e.base)
              fail(`${what}: cached base 0x${e.base.toString(16)} != 0x${(t.physAddr ?? 0).toString(16)}`);
            if (e.allow & ACC_WRITE && !t.writable) fail(`${what}: cached writable, tables read-only`);
            if (e.allow & ACC_USER && !t.user) fail(`${what}: cached user, tables supervisor`);
            if (e.allow & ACC_FETCH && t.nx) fail(`${what}: cached executable, tables NX`);
          }
        }
      }
    });
  }

  /** Builds init_mm: PGD, direct map, vmalloc top-level tables (x86_64), PKMAP and fixmap tables (x86). */
  private async buildKernelTables(): Promise<void> {
    const p = this.profile;
    const [pgdPfn] = await this.allocTables(1, false);
    const pgd = this.store.attach(pgdPfn, 0, KERNEL_OWNER);
    const kernel = { id: KERNEL_ASID, pgdSlot: pgd };
    this.spaces.set(KERNEL_ASID, kernel);
    for (const c of this.cpus) c.rootSlot = pgd;

    const writes: EntryWrite[] = [];
    const large = p.prot.PAGE_KERNEL_LARGE;
    const small = p.prot.PAGE_KERNEL;
    const lowBytes = this.machine.maxLowPfn * PAGE;
    const entry = (va: number, level: number, paddr: number, prot: Pgprot): EntryWrite => ({
      va,
      level,
      lo: ((paddr % TWO32) + prot.lo) >>> 0,
      hi: (Math.floor(paddr / TWO32) | prot.hi) >>> 0,
    });
    // the direct map: the largest pages that fit (1 GiB, 2 MiB / 4 MiB), 4 KiB for the tail
    for (let pa = 0; pa < lowBytes;) {
      let done = false;
      for (let level = 0; level < this.leafLevel && !done; level++) {
        const span = this.spans[level];
        if (p.hugeAt[level] && pa % span === 0 && pa + span <= lowBytes) {
          writes.push(entry(p.pageOffset + pa, level, pa, large));
          pa += span;
          done = true;
        }
      }
      if (!done) {
        writes.push(entry(p.pageOffset + pa, this.leafLevel, pa, small));
        pa += PAGE;
      }
    }
    await this.writeEntries(kernel, writes, false);
    // tables that exist from boot so that their PGD entries are shared by every address space
    const tableVas: { va: number; level: number }[] = [];
    if (p.arch === 'x86_64') {
      // preallocate_vmalloc_pages: the vmalloc PUD tables, never freed
      for (let va = p.vmallocStart; va < p.vmallocEnd; va += this.spans[0]) tableVas.push({ va, level: 1 });
    } else {
      tableVas.push({ va: p.pkmapBase, level: 1 }); // permanent_kmaps_init
      tableVas.push({ va: p.fixaddrTop - PAGE, level: 1 }); // the fixmap (kmap_local slots)
    }
    const missing = tableVas.filter((t) => this.tables.tableAt(pgd, t.va, t.level) < 0).length;
    const frames = missing > 0 ? await this.allocTables(missing, false) : [];
    let next = 0;
    for (const t of tableVas)
      this.tables.ensureTable(pgd, t.va, t.level, KERNEL_OWNER, _KERNPG_TABLE, () => frames[next++]);
  }
}

/** Does the new entry take away a right the old one gave (presence, write, user, execute) or move the page? */
function weakens(lo: number, hi: number, nlo: number, nhi: number): boolean {
  if ((lo & _PAGE_PRESENT) === 0) return false;
  if ((nlo & _PAGE_PRESENT) === 0) return true;
  if (lo & _PAGE_RW && !(nlo & _PAGE_RW)) return true;
  if (lo & _PAGE_USER && !(nlo & _PAGE_USER)) return true;
  if (!(hi & _PAGE_NX_HI) && nhi & _PAGE_NX_HI) return true;
  return entryPfn(lo, hi) !== entryPfn(nlo, nhi);
}

function isPageRange(start: number, end: number): boolean {
  return (
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    start >= 0 &&
    start % PAGE === 0 &&
    end % PAGE === 0 &&
    start < end
  );
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export { isPageFault };
