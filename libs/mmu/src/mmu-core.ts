import { type Access, MAX_ACCESS_BYTES, X86_PF_PROT, X86_PF_RSVD } from './access';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  InvariantViolationError,
  NotFoundError,
  ResourceExhaustedError,
} from './errors';
import { Pkmap } from './kernel/pkmap';
import { VmallocAreas } from './kernel/vmalloc-areas';
import { PageTables, entryPfn } from './paging/page-tables';
import { type PagingProfile, x86Profile, x86_64Profile } from './paging/paging-profile';
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
} from './paging/pte-bits';
import { KERNEL_OWNER, TableStore } from './paging/table-store';
import type { MachineInfo, PageAllocatorPort } from './ports';
import {
  ACC_FETCH,
  ACC_SUPERVISOR_CHECK,
  ACC_USER,
  ACC_WRITE,
  GLOBAL_PCID,
  Tlb,
  type TlbConfig,
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

export interface MmuOptions {
  /** Simulated CPUs (default 4, at most MAX_CPUS). */
  readonly cpus?: number;
  readonly tlb?: TlbConfig;
  /** CR4.PCIDE: keep TLB entries of recent address spaces across CR3 switches (default false). */
  readonly pcid?: boolean;
  /** CR4.SMEP: supervisor instruction fetches from user pages fault (default false). */
  readonly smep?: boolean;
  /** CR4.SMAP: supervisor data accesses to user pages fault unless EFLAGS.AC is set (default false). */
  readonly smap?: boolean;
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
  /** RW was set (pte_write). */
  readonly writable: boolean;
  /** NX was clear (pte_exec). */
  readonly executable: boolean;
  /** A PROT_NONE entry (present to Linux, not to the CPU). */
  readonly protNone: boolean;
  /** A huge PMD leaf (a 2 MiB folio mapped at once): `pfn` is its first page. */
  readonly huge?: boolean;
}

/** A huge PMD leaf found over a range: where its entry sits. */
export interface HugeLeaf {
  readonly va: number;
  readonly slot: number;
  readonly idx: number;
  readonly lo: number;
  readonly hi: number;
}

/** One page of a scattered mapping request. */
export interface PageMapping {
  readonly va: number;
  readonly pfn: number;
  readonly prot: Pgprot;
  readonly special?: boolean;
}

export interface DestroyResult {
  /** Page-table pages returned to the page allocator (the PGD included). */
  readonly freedTablePages: number;
  /** Entries still present when the address space was destroyed (normally none: exit_mmap unmaps first). */
  readonly unmapped: readonly RemovedPte[];
}

export interface AddressSpace {
  readonly id: number;
  readonly pgdSlot: number;
}

export interface Cpu {
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
export interface EntryWrite {
  readonly va: number;
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The state and the internal machinery of the mmu: the table store, address spaces, CPUs and
 * their TLBs, the planned writing of entries, TLB shootdowns and the hardware page walk. The
 * public operations are in {@link Mmu}.
 */
export abstract class MmuCore {
  readonly profile: PagingProfile;
  readonly machine: MachineInfo;
  protected readonly store: TableStore;
  protected readonly tables: PageTables;
  protected readonly spaces = new Map<number, AddressSpace>();
  protected readonly cpus: Cpu[];
  protected readonly pcid: boolean;
  protected readonly smep: boolean;
  protected readonly smap: boolean;
  protected nextAsid = 1;
  /**
   * pgtable_trans_huge_deposit: per user address space, the PTE table frame kept for each huge
   * PMD leaf (by its address) so that a later split needs no allocation. Counted in PageTables
   * (the frame is allocated as a page table) but not in the table store until the split.
   */
  protected readonly deposited = new Map<number, Map<number, number>>();
  protected queue: Promise<unknown> = Promise.resolve();
  protected readonly vmallocAreas: VmallocAreas;
  protected readonly pkmap: Pkmap | null;

  // hot-path constants
  protected readonly vaLimit: number;
  protected readonly spans: Float64Array;
  protected readonly indexMask: number;
  protected readonly leafLevel: number;
  protected readonly entryWords: number;
  protected readonly hugeAt: readonly boolean[];
  protected readonly rsvdHi: number;
  protected readonly rsvdHugeLo: Int32Array;
  protected readonly fetchMask: number;
  protected readonly walkOffsets = new Int32Array(4);

  protected constructor(
    protected readonly port: PageAllocatorPort,
    machine: MachineInfo,
    options: MmuOptions,
  ) {
    this.machine = machine;
    this.profile = machine.arch === 'x86_64' ? x86_64Profile() : x86Profile(machine.maxLowPfn * PAGE);
    const p = this.profile;
    this.store = new TableStore(machine.maxPfn, p.entryWords);
    this.tables = new PageTables(p, this.store);
    this.pcid = options.pcid ?? false;
    this.smep = options.smep ?? false;
    this.smap = options.smap ?? false;
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
    // I/D is reported only with NX (EFER.NXE) or SMEP enabled
    this.fetchMask = p.hasNx || this.smep ? ACC_FETCH : 0;
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

  protected serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected kernelSpace(): AddressSpace {
    return this.spaces.get(KERNEL_ASID) as AddressSpace;
  }

  protected space(asid: number): AddressSpace {
    const s = this.spaces.get(asid);
    if (!s) throw new NotFoundError('asid', asid, 'unknown address space');
    return s;
  }

  protected userSpace(asid: number): AddressSpace {
    if (asid === KERNEL_ASID)
      throw new InvalidArgumentError('asid', asid, 'init_mm is not a user address space');
    return this.space(asid);
  }

  protected cpu(cpu: number): Cpu {
    const c = this.cpus[cpu];
    if (!Number.isInteger(cpu) || c === undefined)
      throw new InvalidArgumentError('cpu', cpu, `no such cpu (0..${this.cpus.length - 1})`);
    return c;
  }

  protected currentPcid(c: Cpu): number {
    if (!this.pcid) return 0;
    return c.pcidOwner.indexOf(c.asid) + 1;
  }

  protected checkPfn(pfn: number, field: string): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.machine.maxPfn) {
      throw new InvalidArgumentError(field, pfn, `PFN beyond memory (max_pfn ${this.machine.maxPfn})`);
    }
  }

  protected pfnList(pfns: PfnSource): number[] {
    let list: number[];
    if (Array.isArray(pfns)) list = [...(pfns as readonly number[])];
    else {
      const run = pfns as { first: number; count: number };
      if (!Number.isInteger(run.count) || run.count < 1)
        throw new InvalidArgumentError('pfns.count', run.count, 'must be a positive integer');
      this.checkPfn(run.first, 'pfns.first');
      this.checkPfn(run.first + run.count - 1, 'pfns.count');
      list = Array.from({ length: run.count }, (_, i) => run.first + i);
    }
    if (list.length === 0) throw new InvalidArgumentError('pfns', list.length, 'nothing to map');
    for (const pfn of list) this.checkPfn(pfn, 'pfns');
    return list;
  }

  /** A page-aligned range of `count` pages inside the half of the address space `asid` may touch. */
  protected checkRange(asid: number, va: number, count: number): void {
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
  protected checkProt(prot: Pgprot, field: string, asid: number): void {
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

  protected checkAccess(a: Access, i: number): void {
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
  protected checkNoHugeLeaf(space: AddressSpace, va: number, count: number): void {
    this.forEachPteTable(space, va, count, () => undefined);
  }

  /**
   * Calls `fn(slot, firstVa, pages)` for each existing PTE table over the `count` pages at `va`.
   * Holes are skipped at the level where they start, so a sparse range costs what is mapped.
   * Throws FailedPrecondition on a huge leaf, possibly after calls for earlier tables: callers
   * that mutate run checkNoHugeLeaf first.
   */
  protected forEachPteTable(
    space: AddressSpace,
    va: number,
    count: number,
    fn: (slot: number, firstVa: number, pages: number) => void,
    skipHugePmd = false,
  ): void {
    const end = va + count * PAGE;
    const out = { hugeLevel: -1, missingLevel: -1 };
    for (let a = va; a < end;) {
      out.hugeLevel = -1;
      out.missingLevel = -1;
      const slot = this.tables.tableAt(space.pgdSlot, a, this.leafLevel, out);
      if (skipHugePmd && out.hugeLevel === this.leafLevel - 1) {
        a = Math.min(end, (Math.floor(a / this.spans[out.hugeLevel]) + 1) * this.spans[out.hugeLevel]);
        continue;
      }
      if (out.hugeLevel >= 0) {
        throw new FailedPreconditionError(
          'va',
          a,
          `covered by a huge ${this.profile.levelNames[out.hugeLevel]} entry`,
        );
      }
      const span = this.spans[slot >= 0 ? this.leafLevel - 1 : out.missingLevel];
      const next = Math.min(end, (Math.floor(a / span) + 1) * span);
      if (slot >= 0) fn(slot, a, (next - a) / PAGE);
      a = next;
    }
  }

  /** Calls `fn` for each existing leaf entry slot of the pages (holes in the tables are skipped). */
  protected forEachEntry(
    space: AddressSpace,
    va: number,
    count: number,
    fn: (slot: number, idx: number, va: number, lo: number, hi: number) => void,
    skipHugePmd = false,
  ): void {
    this.forEachPteTable(
      space,
      va,
      count,
      (slot, first, pages) => {
        for (let k = 0; k < pages; k++) {
          const a = first + k * PAGE;
          const idx = this.tables.index(a, this.leafLevel);
          fn(slot, idx, a, this.store.lo(slot, idx), this.store.hi(slot, idx));
        }
      },
      skipHugePmd,
    );
  }

  protected removedPte(va: number, lo: number, hi: number, level?: number): RemovedPte {
    return {
      va,
      pfn: entryPfn(lo, hi),
      special: (lo & _PAGE_SPECIAL) !== 0,
      dirty: (lo & _PAGE_DIRTY) !== 0,
      accessed: (lo & _PAGE_ACCESSED) !== 0,
      writable: (lo & _PAGE_RW) !== 0,
      executable: (hi & _PAGE_NX_HI) === 0,
      protNone: (lo & _PAGE_PRESENT) === 0,
      ...(level !== undefined && level < this.leafLevel ? { huge: true } : {}),
    };
  }

  protected async allocTables(count: number, user: boolean): Promise<number[]> {
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
   * Page-table frames hold zeros in the page allocator's RAM (the entries live in the table
   * store): a read that covers one gets the entries' bytes, little-endian as in memory.
   */
  protected overlayTables(op: { paddr: number }, bytes: Uint8Array): Uint8Array {
    const first = Math.floor(op.paddr / PAGE);
    const last = Math.floor((op.paddr + bytes.length - 1) / PAGE);
    for (let pfn = first; pfn <= last; pfn++) {
      const slot = this.store.pfnToSlot[pfn];
      if (slot === undefined || slot < 0) continue;
      const from = Math.max(op.paddr, pfn * PAGE);
      const to = Math.min(op.paddr + bytes.length, (pfn + 1) * PAGE);
      const table = new Uint8Array(this.store.words.buffer, slot * PAGE, PAGE);
      bytes.set(table.subarray(from - pfn * PAGE, to - pfn * PAGE), from - op.paddr);
    }
    return bytes;
  }

  /** 4 KiB leaf entries mapping consecutive pages from `va` to `pfns` with `prot`. */
  protected leafWrites(va: number, pfns: readonly number[], prot: Pgprot): EntryWrite[] {
    return pfns.map((pfn, i) => ({ va: va + i * PAGE, level: this.leafLevel, ...pfnPte(pfn, prot) }));
  }

  /**
   * Writes planned entries: checks for conflicts, counts the tables to create, gets them in one
   * port call, then installs everything. Nothing changes when it throws.
   */
  protected async writeEntries(
    space: AddressSpace,
    writes: readonly EntryWrite[],
    replace: boolean,
    /** table frames to take in the same port call, after the missing tables; handed to `extra` */
    extraTables = 0,
    extra?: (pfns: number[]) => void,
  ): Promise<RemovedPte[]> {
    const missing = this.countMissingTables(space, writes, replace);
    const user = space.id !== KERNEL_ASID;
    const frames = missing + extraTables > 0 ? await this.allocTables(missing + extraTables, user) : [];
    if (extraTables > 0) extra?.(frames.splice(missing, extraTables));
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
    let lastLevel = -1;
    let lastRegion = -1;
    let lastSlot = -1;
    for (const w of writes) {
      const region = w.level > 0 ? Math.floor(w.va / this.spans[w.level - 1]) : -2;
      let slot: number;
      if (w.level === lastLevel && region === lastRegion) slot = lastSlot;
      else {
        slot = this.tables.ensureTable(space.pgdSlot, w.va, w.level, owner, tableLo, takeFrame, onNewTable);
        lastLevel = w.level;
        lastRegion = region;
        lastSlot = slot;
      }
      const idx = this.tables.index(w.va, w.level);
      const lo = this.store.lo(slot, idx);
      const hi = this.store.hi(slot, idx);
      if (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) replaced.push(this.removedPte(w.va, lo, hi, w.level));
      if (lo & _PAGE_PRESENT && (entryPfn(lo, hi) !== entryPfn(w.lo, w.hi) || weakens(lo, hi, w.lo, w.hi)))
        flushVas.push(w.va);
      this.store.set(slot, idx, w.lo, w.hi);
    }
    if (next !== frames.length)
      throw new InvariantViolationError(`planned ${frames.length} tables, used ${next}`);
    this.flushRange(space, flushVas);
    return replaced;
  }

  /** Tables the writes need; throws when an entry is in use (without replace) or a huge leaf is in the way. */
  protected countMissingTables(space: AddressSpace, writes: readonly EntryWrite[], replace: boolean): number {
    /** Missing tables, keyed by level * 2^40 + index of the region they would cover. */
    const missing = new Set<number>();
    // consecutive writes mostly share their table: remember the last one (slot, or -1 if missing)
    let lastLevel = -1;
    let lastRegion = -1;
    let lastSlot = -1;
    for (const w of writes) {
      const region = Math.floor(w.va / this.spans[w.level - 1 < 0 ? 0 : w.level - 1]);
      let slot: number;
      if (w.level > 0 && w.level === lastLevel && region === lastRegion) {
        slot = lastSlot;
      } else {
        slot = this.tableForWrite(space, w, missing);
        lastLevel = w.level;
        lastRegion = region;
        lastSlot = slot;
      }
      if (slot < 0 || replace) continue;
      const idx = this.tables.index(w.va, w.level);
      const lo = this.store.lo(slot, idx);
      if (lo !== 0 || this.store.hi(slot, idx) !== 0) {
        throw new FailedPreconditionError(
          'va',
          w.va,
          `entry in use (${this.profile.levelNames[w.level]} ${lo & 1 ? 'present' : 'not present'}); pass replace to overwrite`,
        );
      }
    }
    return missing.size;
  }

  /** The existing table that would hold the entry of `w`, or -1 after recording the tables to create. */
  private tableForWrite(space: AddressSpace, w: EntryWrite, missing: Set<number>): number {
    let slot = space.pgdSlot;
    for (let l = 0; l < w.level; l++) {
      const idx = this.tables.index(w.va, l);
      const lo = this.store.lo(slot, idx);
      const hi = this.store.hi(slot, idx);
      if (lo === 0 && hi === 0) {
        for (let k = l + 1; k <= w.level; k++)
          missing.add(k * 2 ** 40 + Math.floor(w.va / this.spans[k - 1]));
        return -1;
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
    return slot;
  }

  /** pgtable_trans_huge_withdraw: takes the table deposited for the huge PMD at `va`. */
  protected withdrawTable(asid: number, va: number): number | undefined {
    const tables = this.deposited.get(asid);
    const pfn = tables?.get(va);
    if (pfn !== undefined) {
      (tables as Map<number, number>).delete(va);
      if ((tables as Map<number, number>).size === 0) this.deposited.delete(asid);
    }
    return pfn;
  }

  /** free_pgtables for one address: frees the tables on the path to `va` that are now empty, bottom up. */
  protected freeEmptyTables(space: AddressSpace, va: number, freed: number[]): void {
    const path: number[] = [space.pgdSlot];
    for (let l = 0; l < this.leafLevel; l++) {
      const s = path[l];
      const idx = this.tables.index(va, l);
      const lo = this.store.lo(s, idx);
      if ((lo & _PAGE_PRESENT) === 0 || this.tables.isLeaf(l, lo)) break;
      path.push(this.tables.childSlot(lo, this.store.hi(s, idx)));
    }
    for (let l = path.length - 1; l >= 1; l--) {
      const s = path[l];
      if (this.store.usedEntries(s) !== 0 || this.store.ownerOf(s) === KERNEL_OWNER) return;
      this.store.set(path[l - 1], this.tables.index(va, l - 1), 0, 0);
      freed.push(this.store.detach(s));
    }
  }

  /**
   * The huge PMD leaves over the `count` pages at `va`, each wholly inside the range; throws
   * FailedPrecondition when one lies only partly inside (split it first: __split_huge_pmd) or a
   * larger leaf is in the way.
   */
  protected hugePmdLeavesIn(space: AddressSpace, va: number, count: number): HugeLeaf[] {
    const out: HugeLeaf[] = [];
    const pmdLevel = this.leafLevel - 1;
    if (pmdLevel < 1 || !this.hugeAt[pmdLevel]) return out;
    const span = this.spans[pmdLevel];
    const end = va + count * PAGE;
    const where = { hugeLevel: -1, missingLevel: -1 };
    for (let a = Math.floor(va / span) * span; a < end; a += span) {
      where.hugeLevel = -1;
      where.missingLevel = -1;
      const slot = this.tables.tableAt(space.pgdSlot, a, pmdLevel, where);
      if (where.hugeLevel >= 0)
        throw new FailedPreconditionError(
          'va',
          a,
          `covered by a huge ${this.profile.levelNames[where.hugeLevel]} entry`,
        );
      if (slot < 0) continue;
      const idx = this.tables.index(a, pmdLevel);
      const lo = this.store.lo(slot, idx);
      if ((lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0 || !this.tables.isLeaf(pmdLevel, lo)) continue;
      if (a < va || a + span > end)
        throw new FailedPreconditionError(
          'va',
          va,
          `range covers part of the huge PMD at 0x${a.toString(16)}; split it first`,
        );
      out.push({ va: a, slot, idx, lo, hi: this.store.hi(slot, idx) });
    }
    return out;
  }

  /**
   * TLB shootdown for user pages of `space`: every CPU that may hold its translations (the
   * CPU it is current on; with PCID also CPUs keeping it tagged) drops them: page by page up to
   * the flush ceiling, else everything of that PCID.
   */
  protected flushRange(space: AddressSpace, vas: readonly number[]): void {
    if (vas.length === 0) return;
    // init_mm's entries are shared by every address space: every CPU may cache them
    if (space.id === KERNEL_ASID) return this.flushKernelRange(vas);
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
  protected flushKernelRange(vas: readonly number[]): void {
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
  protected setKernelPte(va: number, pfn: number): void {
    const kernel = this.kernelSpace();
    const slot = this.tables.tableAt(kernel.pgdSlot, va, this.leafLevel);
    const prot = this.profile.prot.PAGE_KERNEL;
    const idx = this.tables.index(va, this.leafLevel);
    const oldLo = this.store.lo(slot, idx);
    const e = pfnPte(pfn, prot);
    this.store.set(slot, idx, e.lo, e.hi);
    if (oldLo & _PAGE_PRESENT) this.flushKernelRange([va]);
  }

  /** flush_all_zero_pkmaps: clears the PTEs of every free-but-mapped PKMAP slot and flushes them. */
  protected flushAllZeroPkmaps(): void {
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
  protected walkAndFill(c: Cpu, va: number, acc: number): number {
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
          ((acc & ACC_FETCH) !== 0 && nx !== 0) ||
          ((acc & ACC_SUPERVISOR_CHECK) !== 0 && us !== 0)
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
  protected fault(c: Cpu, va: number, code: number): number {
    code &= ~ACC_SUPERVISOR_CHECK;
    for (const arr of c.tlb.arrays) {
      const vpn = Math.floor(va / arr.pageBytes);
      arr.invalidate(c.tlb.pcidKey + vpn, vpn);
      arr.invalidate(Tlb.keyOf(GLOBAL_PCID, vpn), vpn);
    }
    return -(code + 1);
  }

  /** The body of Mmu.checkInvariants. */
  protected verifyInvariants(): void {
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
      const misplaced = this.tables.misplacedTable(space.pgdSlot, 0, from, to);
      if (misplaced >= 0) fail(`table pfn ${this.store.pfnOf(misplaced)} hangs at the wrong level`);
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
    for (const [asid, tables] of this.deposited) {
      const space = this.spaces.get(asid);
      if (!space) fail(`deposited tables of a dead address space ${asid}`);
      for (const [va, pfn] of tables) {
        const leaf = { lo: 0, hi: 0 };
        if (this.tables.leafOf((space as AddressSpace).pgdSlot, va, leaf) !== this.leafLevel - 1)
          fail(`asid ${asid}: table pfn ${pfn} deposited for 0x${va.toString(16)}, which is no huge PMD`);
        if (this.store.pfnToSlot[pfn] >= 0) fail(`deposited table pfn ${pfn} is also in use`);
      }
    }
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
  protected checkTlbCoherence(fail: (m: string) => never): void {
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
  protected async buildKernelTables(): Promise<void> {
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
      ...pfnPte(paddr / PAGE, prot),
    });
    // the direct map as init_mem_mapping() lays it out: 4 KiB pages below the first large-page
    // boundary (the ISA range and the rest of the first 2 MiB / 4 MiB), 1 GiB pages for whole
    // aligned GiBs from 1 GiB up (x86_64 with gbpages), large pages elsewhere, 4 KiB for the tail
    const firstLarge = this.spans[this.leafLevel - 1];
    for (let pa = 0; pa < lowBytes;) {
      let done = false;
      for (let level = 0; level < this.leafLevel && !done && pa >= firstLarge; level++) {
        const span = this.spans[level];
        if (
          p.hugeAt[level] &&
          pa % span === 0 &&
          pa + span <= lowBytes &&
          (span < 2 ** 30 || pa >= 2 ** 30)
        ) {
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
export function weakens(lo: number, hi: number, nlo: number, nhi: number): boolean {
  if ((lo & _PAGE_PRESENT) === 0) return false;
  if ((nlo & _PAGE_PRESENT) === 0) return true;
  if (lo & _PAGE_RW && !(nlo & _PAGE_RW)) return true;
  if (lo & _PAGE_USER && !(nlo & _PAGE_USER)) return true;
  if (!(hi & _PAGE_NX_HI) && nhi & _PAGE_NX_HI) return true;
  return entryPfn(lo, hi) !== entryPfn(nlo, nhi);
}

export function isPageRange(start: number, end: number): boolean {
  return (
    Number.isInteger(start) &&
    Number.isInteger(end) &&
    start >= 0 &&
    start % PAGE === 0 &&
    end % PAGE === 0 &&
    start < end
  );
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
