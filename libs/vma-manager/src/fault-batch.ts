/**
 * Page faults of one process handled as a batch, with the same outcome as handling them one by
 * one (MmProcess.fault): the same results, minflt and RSS, the same PTEs, and the same PFNs
 * allocated in the same order.
 *
 * Handling a fault takes up to five port calls (pagemap, alloc, mapcount, copy, map); over gRPC
 * each is a round trip. Here the faults are decided in order against one pagemap snapshot of the
 * pages they touch, plus what the earlier faults of the batch decided, and the decisions of a run
 * are sent together: one allocZeroedPages for every page the run needs, one copyPages, one
 * mapPages. The rmap and reference changes (addMapcounts, putPages) wait for the end of the batch
 * (or the next snapshot or one-by-one fault, which read mapcounts): nothing in between reads
 * them, and a page's mapcount changes neither what is allocated nor what is mapped.
 *
 * Where a batched decision could differ from the one-by-one one, the run is flushed first:
 * - a fault on a page an earlier fault of the batch decided, or on a page whose struct page an
 *   earlier fault changed (its mapcount: exclusive or not), is decided on a fresh snapshot;
 * - a fault whose PTE needs a page table the address space does not have yet ends the run: the
 *   mmu allocates that table from the same allocator when the run is mapped, and one by one the
 *   next fault's page would come after the table, not before it;
 * - stack expansion (VM_GROWSDOWN), shmem and device VMAs (the shmem cache, fault-around,
 *   PFN maps) go the one-by-one way, and the snapshot is dropped after them (fault-around maps
 *   other pages than the faulting one);
 * - so do THP faults: a fault where a huge PMD may be created (THP allowed, no PTE table) or on
 *   a huge PMD (its write fault may reuse, replace or split it).
 * A copy-on-write break puts the old page, which could free it for a later fault to allocate.
 * It cannot: only a page mapped more than once is copied, every mapping holds a reference
 * (fault, fork and fault-around each take one with the mapcount), so after the put the page
 * still has a reference from its other mappings.
 *
 * TLB statistics are not kept identical either: the PTEs a run replaces (copy-on-write breaks)
 * are shot down by one flush (a full one past tlb_single_page_flush_ceiling pages), where one by
 * one each fault invalidates its own page. What the CPUs translate to is the same.
 *
 * Error paths are not kept identical: a refused port call at flush fails the batch after all of
 * the run's decisions, where one by one the faults before the refused one would be complete.
 */
import type { FaultResult, MmProcess } from './process';
import type { PagemapEntry, PageToMap } from './ports';
import { anonVmaPrepare } from './populate';
import { thpVmaSuitable } from './huge-memory';
import { MappedPages } from './mapped-pages';
import { VM_ACCESS_FLAGS, VM_EXEC, VM_GROWSDOWN, VM_SHARED, VM_WRITE, hasAny } from './vm-flags';

const PAGE = 4096;

/** What a decided fault will do at flush. */
const enum Plan {
  /** do_anonymous_page, read: the shared zero page, read-only */
  Zero,
  /** do_anonymous_page, write (or a write to the zero page): a new zeroed page, writable */
  New,
  /** wp_page_copy: a copy of a page mapped elsewhere too; the old one loses this mapping */
  Copy,
  /** wp_page_reuse: the page is only mapped here and becomes writable */
  Reuse,
}

export class FaultBatch {
  /** pagemap of the batch's mapped pages, taken when first needed; null: none taken yet */
  private snapshot: Map<number, PagemapEntry> | null = null;
  /** pages decided since the snapshot, and the pages whose mapcount those decisions changed */
  private readonly staleVas = new MappedPages();
  private readonly stalePfns = new Set<number>();
  /** the run: decisions not sent yet */
  private vas: number[] = [];
  private plans: Plan[] = [];
  private pfns: number[] = [];
  private execs: boolean[] = [];
  private allocs = 0;
  private zero: number | null = null;
  /** rmap and references still to send: pages newly mapped, pages that lost a mapping */
  private mappedPfns: number[] = [];
  private unmappedPfns: number[] = [];

  constructor(
    private readonly proc: MmProcess,
    /** the faulting addresses, in order: what a snapshot covers from the current fault on */
    private readonly addresses: readonly number[],
  ) {}

  /**
   * Handles the fault of addresses[i] (a write or not), after those before it. The result may
   * come before the page-table work is sent: flush() sends it.
   */
  fault(i: number, write: boolean): FaultResult | Promise<FaultResult> {
    const va = this.addresses[i];
    const addr = va - (va % PAGE);
    const proc = this.proc;
    const mm = proc.mm;
    const vma = mm.vmas.findVma(addr);
    if (!vma) return 'SIGSEGV';
    if (vma.start > addr) {
      if (!hasAny(vma.vmFlags, VM_GROWSDOWN)) return 'SIGSEGV';
      return this.oneByOne(va, write);
    }
    // access_error
    if (write ? !hasAny(vma.vmFlags, VM_WRITE) : !hasAny(vma.vmFlags, VM_ACCESS_FLAGS)) return 'SIGSEGV';
    if (vma.file || hasAny(vma.vmFlags, VM_SHARED)) return this.oneByOne(va, write);
    // THP: a fault on an empty PMD (create_huge_pmd) or on a read-only huge PMD
    // (do_huge_pmd_wp_page); one the huge PMD already allows is spurious (populate asks so)
    const huge = proc.hugeAt(addr);
    if (huge !== undefined && (!write || huge.writable)) return 'ok';
    if (thpVmaSuitable(vma, addr) && (huge !== undefined || !proc.hasPteTable(addr)))
      return this.oneByOne(va, write);
    if (this.staleVas.has(addr)) return this.afterFlush(i, write);
    let e: PagemapEntry | undefined;
    if (proc.isMapped(addr)) {
      if (!this.snapshot) return this.afterSnapshot(i, write);
      e = this.snapshot.get(addr);
      if (!e) return this.oneByOne(va, write);
      if (e.pfn !== null && this.stalePfns.has(e.pfn)) return this.afterFlush(i, write);
    }
    const exec = hasAny(vma.vmFlags, VM_EXEC);
    if (!e || !e.present) {
      // ZERO_PAGE's pfn, asked once (its first use allocates it, in the order one by one would)
      if (!write && this.zero === null) return this.withZeroPage(i, write);
      if (write) {
        anonVmaPrepare(mm, vma);
        this.push(addr, Plan.New, 0, exec);
      } else {
        this.push(addr, Plan.Zero, 0, exec);
      }
      proc.minflt += 1;
      // The mmu allocates the missing table when this run is mapped: nothing may be allocated
      // between this fault and that table.
      if (!proc.hasPteTable(addr)) return this.flushRun().then(() => 'ok' as const);
      return 'ok';
    }
    if (write && !e.writable && e.pfn !== null) {
      // do_wp_page on a private mapping
      if (e.special) {
        anonVmaPrepare(mm, vma);
        this.push(addr, Plan.New, 0, exec);
      } else if (!e.exclusive) {
        anonVmaPrepare(mm, vma);
        this.push(addr, Plan.Copy, e.pfn, exec);
        this.stalePfns.add(e.pfn);
      } else {
        this.push(addr, Plan.Reuse, e.pfn, exec);
      }
      proc.minflt += 1;
    }
    return 'ok';
  }

  /** Sends everything decided so far: the run, then the rmap and reference changes. */
  async flush(): Promise<void> {
    await this.flushRun();
    const { pages } = this.proc.ports;
    const mapped = this.mappedPfns;
    const unmapped = this.unmappedPfns;
    this.mappedPfns = [];
    this.unmappedPfns = [];
    if (mapped.length) await pages.addMapcounts(mapped, 1);
    if (unmapped.length) {
      await pages.addMapcounts(unmapped, -1);
      await pages.putPages(unmapped);
    }
  }

  /** Sends the run's page-table work: its allocations, copies and PTEs. */
  private async flushRun(): Promise<void> {
    const n = this.vas.length;
    if (n === 0) return;
    const { vas, plans, pfns, execs, allocs } = this;
    this.vas = [];
    this.plans = [];
    this.pfns = [];
    this.execs = [];
    this.allocs = 0;
    const { pages } = this.proc.ports;
    const fresh = allocs > 0 ? await pages.allocZeroedPages(allocs) : [];
    const zero = this.zero;
    const toMap: PageToMap[] = new Array(n);
    const mapped = this.mappedPfns;
    const copies: { dst: number; src: number }[] = [];
    const olds = this.unmappedPfns;
    let next = 0;
    for (let k = 0; k < n; k++) {
      const va = vas[k];
      const executable = execs[k];
      switch (plans[k]) {
        case Plan.Zero:
          toMap[k] = {
            va,
            pfn: zero as number,
            accessible: true,
            writable: false,
            executable,
            dirty: false,
            special: true,
          };
          continue;
        case Plan.New: {
          const pfn = fresh[next++];
          mapped.push(pfn);
          toMap[k] = { va, pfn, accessible: true, writable: true, executable, dirty: true, special: false };
          continue;
        }
        case Plan.Copy: {
          const pfn = fresh[next++];
          copies.push({ dst: pfn, src: pfns[k] });
          mapped.push(pfn);
          olds.push(pfns[k]);
          toMap[k] = { va, pfn, accessible: true, writable: true, executable, dirty: true, special: false };
          continue;
        }
        case Plan.Reuse:
          toMap[k] = {
            va,
            pfn: pfns[k],
            accessible: true,
            writable: true,
            executable,
            dirty: true,
            special: false,
          };
          continue;
      }
    }
    if (copies.length) await pages.copyPages(copies);
    await this.proc.mapAnonPages(toMap);
  }

  private push(va: number, plan: Plan, pfn: number, exec: boolean): void {
    this.vas.push(va);
    this.plans.push(plan);
    this.pfns.push(pfn);
    this.execs.push(exec);
    this.staleVas.set(va, 'none');
    if (plan === Plan.New || plan === Plan.Copy) this.allocs += 1;
  }

  /** The fault through MmProcess.fault, after the run; what it maps is not in any snapshot. */
  private async oneByOne(va: number, write: boolean): Promise<FaultResult> {
    await this.flush();
    const r = await this.proc.fault(va, write);
    this.dropSnapshot();
    return r;
  }

  /** The fault decided again once the run is sent and a new snapshot taken. */
  private async afterFlush(i: number, write: boolean): Promise<FaultResult> {
    await this.flush();
    this.dropSnapshot();
    return this.afterSnapshot(i, write);
  }

  /** One pagemap call for the mapped pages of this fault and the ones after it. */
  private async afterSnapshot(i: number, write: boolean): Promise<FaultResult> {
    await this.flush();
    this.snapshot = await this.proc.pagemapPages(this.addresses.slice(i));
    this.staleVas.clear();
    this.stalePfns.clear();
    return this.fault(i, write);
  }

  private async withZeroPage(i: number, write: boolean): Promise<FaultResult> {
    await this.flushRun();
    this.zero = await this.proc.ports.pages.zeroPage();
    return this.fault(i, write);
  }

  private dropSnapshot(): void {
    this.snapshot = null;
    this.staleVas.clear();
    this.stalePfns.clear();
  }
}
