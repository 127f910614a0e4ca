/**
 * An address space whose page tables follow its VMAs, and its page-fault handler. Each syscall
 * runs on the synchronous VMA model, then the page-table work it queued is sent to the mmu and
 * the page allocator through the ports, in batches.
 */
import type { Machine } from './machine';
import { MmStruct, type PageTableOp } from './mm-struct';
import type { SyscallResult } from './mman';
import type { U64 } from './u64';
import type { Vma, VmFile } from './vma';
import type {
  DeviceFileInfo,
  DeviceFilesPort,
  HugePmdToMap,
  MmuPort,
  PageAllocatorPort,
  PagemapEntry,
  PageToMap,
  VaRange,
} from './ports';
import { PageStateUnavailableError } from './errors';
import { mmap } from './mmap';
import { munmap } from './munmap';
import { mprotect } from './mprotect';
import { mremap } from './mremap';
import { madvise } from './madvise';
import { mlock, munlock } from './mlock';
import { mseal } from './mseal';
import { anonVmaPrepare } from './populate';
import { FaultBatch } from './fault-batch';
import { type HugeSpan, MappedPages, PTE_TABLE_SPAN, type PageKind } from './mapped-pages';
import {
  HPAGE_PMD_NR,
  HPAGE_PMD_SIZE,
  doHugePmdFault,
  folioPages,
  hugeAlign,
  splitHugePmdsAcrossVmas,
  splitHugePmdsIn,
  thpVmaSuitable,
} from './huge-memory';
import { vmEnoughMemory, vmUnacctMemory } from './overcommit';
import {
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_LOCKED_MASK,
  VM_WIPEONFORK,
  VM_WRITE,
  clearFlags,
  hasAny,
} from './vm-flags';

const PAGE = 4096;
/** PTRS_PER_PTE on x86-64 */
const PTRS_PER_PTE = 512;
/** fault_around_bytes (mm/memory.c default 64 KiB) in pages */
const FAULT_AROUND_PAGES = 16;
/** user accesses sent to the mmu in one batch */
const ACCESS_CHUNK = 256;

export interface MmPorts {
  readonly mmu: MmuPort;
  readonly pages: PageAllocatorPort;
  /** device files (open, read, write, mmap); without it no device can be opened */
  readonly files?: DeviceFilesPort;
}

/** What an access ended with: done, or the signal the fault handler raised. */
export type FaultResult = 'ok' | 'SIGSEGV' | 'SIGBUS';

/** A walk of user accesses, one per page, stopped by the first signal. */
export interface AccessWalk {
  /** pages accessed */
  readonly done: number;
  readonly signal: 'SIGSEGV' | 'SIGBUS' | null;
  /** the byte each read returned, in order */
  readonly bytes: number[];
}

/** The page cache of shmem objects (shared anonymous memory): page index → pfn. Machine-wide. */
export class ShmemCache {
  private readonly pages = new Map<VmFile, Map<number, number>>();

  get(file: VmFile, index: number): number | undefined {
    return this.pages.get(file)?.get(index);
  }

  set(file: VmFile, index: number, pfn: number): void {
    let m = this.pages.get(file);
    if (!m) this.pages.set(file, (m = new Map()));
    m.set(index, pfn);
  }
}

export class MmProcess {
  readonly mm: MmStruct;
  /** minor faults handled (ru_minflt) */
  minflt = 0;
  private readonly shmem: ShmemCache;
  /**
   * The pages this process has PTEs for, as far as its own requests to the mmu go (every user
   * PTE is installed, moved and cleared by this class). Lets residency queries skip the pages
   * that cannot be present instead of walking the page tables for them: over gRPC each walk is
   * a round trip, and a 1 GiB VMA has 262144 pages.
   */
  private readonly mapped = new MappedPages();
  /** references this mm's VMAs hold on device files (one per VMA, as vma->vm_file does), by file id */
  private readonly fileRefs = new Map<number, number>();
  /** in a syscall batch (beginSyscallBatch): unmaps may wait for the next flush (see settle) */
  private deferring = false;
  /** unmaps waiting, in order: sent as one unmapRanges call by flushDeferred */
  private deferred: VaRange[] = [];

  constructor(
    machine: Machine,
    /** the address space's id at the mmu */
    public readonly asid: number,
    readonly ports: MmPorts,
    mmapBase?: number,
    shmem?: ShmemCache,
  ) {
    this.mm = new MmStruct(machine, mmapBase);
    this.mm.pageOps = [];
    this.shmem = shmem ?? new ShmemCache();
  }

  async mmap(
    addr: U64,
    len: U64,
    prot: number,
    flags: number,
    fd = -1,
    offset: U64 = 0,
  ): Promise<SyscallResult> {
    return this.settle(mmap(this.mm, addr, len, prot, flags, fd, offset));
  }

  /**
   * mmap(2) of an open device file (do_mmap → mmap_region → call_mmap): the VMA is created with the
   * file, then the driver's mmap fills it (remap_pfn_range); a driver errno removes the VMA again
   * (mmap_region's unmap_and_free_vma) and is mmap's result. The VMA takes its own reference on
   * the file, dropped when it goes.
   */
  async mmapDevice(
    addr: U64,
    len: U64,
    prot: number,
    flags: number,
    fd: number,
    offset: U64,
    file: DeviceFileInfo,
  ): Promise<SyscallResult> {
    const files = this.ports.files;
    if (!files) return { errno: 'ENODEV' };
    const vmFile: VmFile = {
      kind: 'device',
      fileId: file.id,
      devMajor: file.devMajor,
      devMinor: file.devMinor,
      ino: file.ino,
      path: file.path,
      sizePages: 0,
    };
    const r = await this.settle(
      mmap(this.mm, addr, len, prot, flags, fd, offset, { vmFile, fMode: file.fMode }),
    );
    if ('errno' in r) return r;
    const vma = this.mm.vmas.lookup(r.ret);
    if (!vma || vma.file !== vmFile) return r;
    await this.flushDeferred(); // the driver writes PTEs where an unmap may be waiting
    const out = await files.mmap(file.id, this.asid, {
      start: vma.start,
      end: vma.end,
      vmFlags: vma.vmFlags,
      pgoff: vma.pgoff,
    });
    if (out.errno !== undefined) {
      await this.settle(munmap(this.mm, vma.start, vma.end - vma.start));
      await this.syncFileRefs();
      return { errno: out.errno };
    }
    vma.vmFlags = out.vmFlags;
    vma.pgoff = out.pgoff;
    // The driver's PTEs are special: no RSS, no struct page bookkeeping, but present.
    const present = await this.ports.mmu.pagemap(this.asid, [{ start: vma.start, end: vma.end }]);
    for (const e of present) if (e.present) this.track(e.va, 'none');
    await this.syncFileRefs();
    return r;
  }

  /**
   * Takes or drops references on device files so that each VMA mapping a file holds one (a split
   * VMA holds two, an unmapped one none), as vm_file references follow VMAs in Linux.
   */
  async syncFileRefs(): Promise<void> {
    const files = this.ports.files;
    if (!files) return;
    const want = new Map<number, number>();
    for (const v of this.mm.vmas.all()) {
      const id = v.file?.fileId;
      if (v.file?.kind === 'device' && id !== undefined) want.set(id, (want.get(id) ?? 0) + 1);
    }
    const get: number[] = [];
    const put: number[] = [];
    for (const [id, n] of want) {
      const have = this.fileRefs.get(id) ?? 0;
      for (let i = have; i < n; i++) get.push(id);
    }
    for (const [id, have] of this.fileRefs) {
      const n = want.get(id) ?? 0;
      for (let i = n; i < have; i++) put.push(id);
    }
    if (get.length) await files.getFiles(get);
    this.fileRefs.clear();
    for (const [id, n] of want) this.fileRefs.set(id, n);
    if (put.length) await files.putFiles(put);
  }

  async munmap(addr: U64, len: U64): Promise<SyscallResult> {
    return this.settle(munmap(this.mm, addr, len));
  }

  async mprotect(addr: U64, len: U64, prot: number): Promise<SyscallResult> {
    return this.settle(mprotect(this.mm, addr, len, prot));
  }

  async mremap(addr: U64, oldLen: U64, newLen: U64, flags: number, newAddr: U64 = 0): Promise<SyscallResult> {
    return this.settle(mremap(this.mm, addr, oldLen, newLen, flags, newAddr));
  }

  async madvise(addr: U64, len: U64, advice: number): Promise<SyscallResult> {
    return this.settle(madvise(this.mm, addr, len, advice));
  }

  async mlock(addr: U64, len: U64): Promise<SyscallResult> {
    return this.settle(mlock(this.mm, addr, len));
  }

  async munlock(addr: U64, len: U64): Promise<SyscallResult> {
    return this.settle(munlock(this.mm, addr, len));
  }

  async mseal(addr: U64, len: U64, flags: number | bigint = 0): Promise<SyscallResult> {
    return this.settle(mseal(this.mm, addr, len, flags));
  }

  /** pagemap entries of [start, end); pages this process never mapped are answered locally. */
  async pagemap(start: number, end: number): Promise<PagemapEntry[]> {
    await this.flushDeferred();
    const n = (end - start) / PAGE;
    const vas = this.mapped.vasIn(start, end);
    const out: PagemapEntry[] = new Array(n);
    const absent = (va: number): PagemapEntry => ({
      va,
      present: false,
      pfn: null,
      special: false,
      exclusive: false,
      writable: false,
      dirty: false,
      young: false,
    });
    const runs: VaRange[] = [];
    for (const va of vas) {
      const last = runs[runs.length - 1];
      if (last && last.end === va) runs[runs.length - 1] = { start: last.start, end: va + PAGE };
      else runs.push({ start: va, end: va + PAGE });
    }
    const got = runs.length ? await this.ports.mmu.pagemap(this.asid, runs) : [];
    const byVa = new Map(got.map((e) => [e.va, e]));
    for (let i = 0; i < n; i++) {
      const va = start + i * PAGE;
      out[i] = byVa.get(va) ?? absent(va);
    }
    return out;
  }

  /**
   * pagemap entries of the pages of the given addresses (any order, repeats allowed, not
   * necessarily aligned) that this process mapped, by page address, in one port call; the others
   * are not present.
   */
  async pagemapPages(vas: readonly number[]): Promise<Map<number, PagemapEntry>> {
    await this.flushDeferred();
    const pages = vas.map((va) => va - (va % PAGE)).filter((va) => this.mapped.has(va));
    const want = [...new Set(pages)].sort((a, b) => a - b);
    const out = new Map<number, PagemapEntry>();
    if (!want.length) return out;
    const runs: VaRange[] = [];
    let start = want[0];
    for (let k = 1; k <= want.length; k++) {
      if (k < want.length && want[k] === want[k - 1] + PAGE) continue;
      runs.push({ start, end: want[k - 1] + PAGE });
      start = want[k];
    }
    for (const e of await this.ports.mmu.pagemap(this.asid, runs)) out.set(e.va, e);
    return out;
  }

  /** Whether this process has a PTE for the page at `va` (as far as its own requests go). */
  isMapped(va: number): boolean {
    return this.mapped.has(va);
  }

  /**
   * Whether the PTE table for `va` exists, so that mapping there allocates no page-table page:
   * the mmu frees a user table as soon as an unmap leaves it empty, and only this class maps
   * user pages, so a table exists exactly where this process has a page mapped nearby.
   */
  hasPteTable(va: number): boolean {
    return this.mapped.hasTable(va);
  }

  /** The huge PMD mapping the 2 MiB span of `va`, if one does. */
  hugeAt(va: number): HugeSpan | undefined {
    return this.mapped.hugeAt(va);
  }

  /** The first addresses of the huge PMDs that [start, end) touches, ascending. */
  hugeIn(start: number, end: number): number[] {
    return this.mapped.hugeIn(start, end);
  }

  /** AnonHugePages of a VMA in kB: its PMD-mapped anonymous THPs (smaps_pmd_entry). */
  anonHugeKb(vma: { start: number; end: number }): number {
    let kb = 0;
    for (const haddr of this.mapped.hugeIn(vma.start, vma.end))
      if (!(this.mapped.hugeAt(haddr) as HugeSpan).special) kb += HPAGE_PMD_SIZE / 1024;
    return kb;
  }

  /**
   * set_pmd_at of a huge leaf (a new THP, the huge zero folio, or a rewrite of the one there):
   * the 512 pages count in RSS as anon (none for the huge zero folio).
   */
  async mapHuge(pmd: HugePmdToMap): Promise<void> {
    await this.ports.mmu.mapHugePmd(this.asid, pmd);
    const kind: PageKind = pmd.special ? 'none' : 'anon';
    for (let i = 0; i < HPAGE_PMD_NR; i++) this.track(pmd.va + i * PAGE, kind);
    this.mapped.setHuge(pmd.va, {
      pfn: pmd.pfn,
      special: pmd.special,
      writable: pmd.writable && pmd.accessible !== false,
    });
  }

  /**
   * __split_huge_pmd: the huge PMD at `haddr` becomes 512 PTEs (the deposited table). Each PTE
   * then holds a reference on the folio (folio_ref_add(HPAGE_PMD_NR - 1)); the mapcounts stay.
   */
  async splitHuge(haddr: number): Promise<void> {
    const huge = this.mapped.hugeAt(haddr);
    if (!huge) return;
    // __split_huge_zero_page_pmd: the huge zero folio's PTEs all map ZERO_PAGE
    const zero = huge.special ? await this.ports.pages.zeroPage() : undefined;
    await this.ports.mmu.splitHugePmd(this.asid, haddr, zero);
    this.mapped.clearHuge(haddr);
    if (!huge.special) await this.ports.pages.getPages(new Array<number>(HPAGE_PMD_NR - 1).fill(huge.pfn));
  }

  /** A faults batch of this process over `addresses` (the faulting addresses, in order). */
  faultBatch(addresses: readonly number[]): FaultBatch {
    return new FaultBatch(this, addresses);
  }

  /** Records a PTE this process installed at `va`, moving the page between RSS counters. */
  private track(va: number, kind: PageKind): void {
    const old = this.mapped.set(va, kind);
    if (old !== undefined && old !== 'none') this.mm.rss[old] -= 1;
    if (kind !== 'none') this.mm.rss[kind] += 1;
  }

  private async mapPages(pages: readonly PageToMap[]): Promise<void> {
    await this.ports.mmu.mapPages(this.asid, pages);
    for (const p of pages) {
      const v = p.special ? undefined : this.mm.vmas.lookup(p.va);
      this.track(p.va, p.special ? 'none' : v && v.file ? 'shmem' : 'anon');
    }
  }

  /** mapPages for pages of private anonymous VMAs: special ones count in no RSS, others as anon. */
  async mapAnonPages(pages: readonly PageToMap[]): Promise<void> {
    await this.ports.mmu.mapPages(this.asid, pages);
    for (const p of pages) this.track(p.va, p.special ? 'none' : 'anon');
  }

  private forget(ranges: readonly VaRange[]): void {
    const rss = this.mm.rss;
    for (const r of ranges) {
      for (const va of this.mapped.vasIn(r.start, r.end)) {
        const kind = this.mapped.delete(va);
        if (kind !== undefined && kind !== 'none') rss[kind] -= 1;
      }
    }
  }

  get pageAllocator(): PageAllocatorPort {
    return this.ports.pages;
  }

  /**
   * A user access to the page at `va` that the CPU could not complete: handle_mm_fault for
   * anonymous and shared anonymous memory (x86 do_user_addr_fault → handle_mm_fault).
   * Counts one minor fault when it maps something.
   */
  async fault(va: number, write: boolean): Promise<FaultResult> {
    await this.flushDeferred();
    const addr = va - (va % PAGE);
    const mm = this.mm;
    let vma = mm.vmas.findVma(addr);
    if (!vma) return 'SIGSEGV';
    if (vma.start > addr) {
      if (!hasAny(vma.vmFlags, VM_GROWSDOWN)) return 'SIGSEGV';
      if (!this.expandDownwards(vma, addr)) return 'SIGSEGV';
      vma = mm.vmas.findVma(addr);
      if (!vma) return 'SIGSEGV';
    }
    // access_error
    if (write ? !hasAny(vma.vmFlags, VM_WRITE) : !hasAny(vma.vmFlags, VM_ACCESS_FLAGS)) return 'SIGSEGV';
    if (thpVmaSuitable(vma, addr)) {
      const huge = await doHugePmdFault(this, vma, addr, write);
      if (huge !== null) return huge;
    }
    const [e] = await this.pagemap(addr, addr + PAGE);
    const shared = hasAny(vma.vmFlags, VM_SHARED);
    const exec = hasAny(vma.vmFlags, VM_EXEC);
    const { pages } = this.ports;
    if (vma.file?.kind === 'device') return this.pfnFault(vma, e, addr, write);
    if (!e.present && vma.file && !write && (await this.faultAround(vma, addr))) {
      this.minflt += 1;
      return 'ok';
    }
    if (!e.present) {
      if (vma.file) {
        // shmem_fault: the object's page at this index, allocated on first use.
        const index = vma.pgoffAt(addr);
        if (index >= vma.file.sizePages) return 'SIGBUS';
        let pfn = this.shmem.get(vma.file, index);
        if (pfn === undefined) {
          [pfn] = await pages.allocZeroedPages(1);
          this.shmem.set(vma.file, index, pfn);
        }
        await pages.getPages([pfn]);
        await pages.addMapcounts([pfn], 1);
        const writable = shared ? hasAny(vma.vmFlags, VM_WRITE) : false;
        await this.mapPages([
          { va: addr, pfn, accessible: true, writable, executable: exec, dirty: write, special: false },
        ]);
        if (write) await pages.markDirty([pfn]);
      } else if (!write) {
        // do_anonymous_page, read: the shared zero page, read-only
        const pfn = await pages.zeroPage();
        await this.mapPages([
          { va: addr, pfn, accessible: true, writable: false, executable: exec, dirty: false, special: true },
        ]);
      } else {
        anonVmaPrepare(mm, vma);
        const [pfn] = await pages.allocZeroedPages(1);
        await pages.addMapcounts([pfn], 1);
        await this.mapPages([
          { va: addr, pfn, accessible: true, writable: true, executable: exec, dirty: true, special: false },
        ]);
      }
      this.minflt += 1;
      return 'ok';
    }
    if (write && !e.writable && e.pfn !== null) {
      // do_wp_page
      let pfn = e.pfn;
      if (!shared) {
        if (e.special) {
          anonVmaPrepare(mm, vma);
          [pfn] = await pages.allocZeroedPages(1);
          await pages.addMapcounts([pfn], 1);
        } else if (!e.exclusive) {
          anonVmaPrepare(mm, vma);
          const [copy] = await pages.allocZeroedPages(1);
          await pages.copyPages([{ dst: copy, src: pfn }]);
          await pages.addMapcounts([copy], 1);
          await pages.addMapcounts([pfn], -1);
          await pages.putPages([pfn]);
          pfn = copy;
        }
      }
      await this.mapPages([
        { va: addr, pfn, accessible: true, writable: true, executable: exec, dirty: true, special: false },
      ]);
      if (shared) await pages.markDirty([pfn]);
      this.minflt += 1;
      return 'ok';
    }
    return 'ok';
  }

  /**
   * A fault in a VM_PFNMAP VMA: an address the driver did not populate has no vm_ops->fault, so
   * SIGBUS (do_fault without ->fault); a write to a read-only PFN entry of a shared writable VMA is
   * wp_pfn_shared (the entry becomes writable, no page is touched). access_error has already
   * refused writes to a VMA without VM_WRITE; a write to a private one copies the page.
   */
  private async pfnFault(vma: Vma, e: PagemapEntry, addr: number, write: boolean): Promise<FaultResult> {
    if (!e.present || e.pfn === null) return 'SIGBUS';
    if (!write || e.writable) return 'ok';
    const exec = hasAny(vma.vmFlags, VM_EXEC);
    if (!hasAny(vma.vmFlags, VM_SHARED)) {
      // a private (COW) PFN mapping: wp_page_copy copies the PFN's contents to a new anon page
      anonVmaPrepare(this.mm, vma);
      const [copy] = await this.ports.pages.allocZeroedPages(1);
      await this.ports.pages.copyPages([{ dst: copy, src: e.pfn }]);
      await this.ports.pages.addMapcounts([copy], 1);
      await this.mapPages([
        {
          va: addr,
          pfn: copy,
          accessible: true,
          writable: true,
          executable: exec,
          dirty: true,
          special: false,
        },
      ]);
      this.minflt += 1;
      return 'ok';
    }
    await this.mapPages([
      {
        va: addr,
        pfn: e.pfn,
        accessible: true,
        writable: true,
        executable: exec,
        dirty: true,
        special: true,
      },
    ]);
    this.minflt += 1;
    return 'ok';
  }

  /**
   * do_fault_around for a read fault on shared memory: map the pages of the aligned 16-page
   * window (fault_around_bytes = 64 KiB, clipped to the VMA and the page table) that are already
   * in the object's cache. True when that mapped the faulting page itself.
   */
  private async faultAround(vma: Vma, addr: number): Promise<boolean> {
    const file = vma.file;
    if (!file) return false;
    const pteOff = (addr / PAGE) % PTRS_PER_PTE;
    const vmaOff = (addr - vma.start) / PAGE;
    const from = Math.max(
      Math.floor(pteOff / FAULT_AROUND_PAGES) * FAULT_AROUND_PAGES,
      pteOff - Math.min(pteOff, vmaOff),
    );
    const to = Math.min(from + FAULT_AROUND_PAGES, PTRS_PER_PTE, pteOff + vma.pages - vmaOff);
    const start = addr + (from - pteOff) * PAGE;
    const end = addr + (to - pteOff) * PAGE;
    const entries = await this.pagemap(start, end);
    const writable = hasAny(vma.vmFlags, VM_WRITE);
    const exec = hasAny(vma.vmFlags, VM_EXEC);
    const batch: PageToMap[] = [];
    for (const e of entries) {
      if (e.present) continue;
      const index = vma.pgoffAt(e.va);
      const pfn = index < file.sizePages ? this.shmem.get(file, index) : undefined;
      if (pfn === undefined) continue;
      batch.push({
        va: e.va,
        pfn,
        accessible: true,
        writable,
        executable: exec,
        dirty: false,
        special: false,
      });
    }
    if (!batch.length) return false;
    const pfns = batch.map((b) => b.pfn);
    await this.ports.pages.getPages(pfns);
    await this.ports.pages.addMapcounts(pfns, 1);
    await this.mapPages(batch);
    return batch.some((b) => b.va === addr);
  }

  /**
   * The CPU side of touching `pages` pages from `addr` (one access at the start of each page):
   * an access that the page tables allow completes; any other goes to the fault handler and is
   * retried. Read faults that map the zero page are handled in one batch of page-table writes
   * (each still counts as a fault); every other fault is handled on its own, in address order.
   */
  async access(addr: number, pages: number, write: boolean, value = 0): Promise<AccessWalk> {
    await this.flushDeferred();
    const entries = await this.pagemap(addr, addr + pages * PAGE);
    const zeroBatch: number[] = [];
    const zero = write ? 0 : await this.ports.pages.zeroPage();
    // Read faults that would map the zero page are served ahead, in one batch (each counts).
    for (let i = 0; i < pages; i++) {
      const e = entries[i];
      const va = addr + i * PAGE;
      const vma = this.mm.vmas.lookup(va);
      if (write || e.present || !vma || !hasAny(vma.vmFlags, VM_ACCESS_FLAGS) || vma.file) continue;
      // a read fault on an empty PMD where THP is allowed maps the huge zero folio instead
      if (thpVmaSuitable(vma, va) && !this.mapped.hasTable(va)) continue;
      zeroBatch.push(va);
      this.minflt += 1;
    }
    if (zeroBatch.length) {
      await this.mapPages(
        zeroBatch.map((va) => {
          const v = this.mm.vmas.lookup(va);
          const exec = v ? hasAny(v.vmFlags, VM_EXEC) : false;
          return {
            va,
            pfn: zero,
            accessible: true,
            writable: false,
            executable: exec,
            dirty: false,
            special: true,
          };
        }),
      );
    }
    const data = write ? Uint8Array.of(value & 0xff) : undefined;
    const bytes: number[] = [];
    let i = 0;
    let retried = -1;
    while (i < pages) {
      const chunk = Math.min(ACCESS_CHUNK, pages - i);
      const batch = Array.from({ length: chunk }, (_, k) => ({ va: addr + (i + k) * PAGE, write, data }));
      const results = await this.ports.mmu.access(this.asid, batch);
      let k = 0;
      for (; k < chunk; k++) {
        const r = results[k];
        if (r.kind !== 'ok') break;
        if (!write) bytes.push(r.data ? r.data[0] : 0);
      }
      i += k;
      if (k === chunk) continue;
      const r = results[k];
      const va = addr + i * PAGE;
      // A second fault on the same page after the handler succeeded would loop forever.
      if (r.kind !== 'fault' || retried === i) return { done: i, signal: 'SIGSEGV', bytes };
      const res = await this.fault(va, r.write);
      if (res !== 'ok') return { done: i, signal: res, bytes };
      retried = i;
    }
    return { done: pages, signal: null, bytes };
  }

  /**
   * fork's dup_mmap + copy_page_range: a child address space with a copy of every VMA but VM_DONTCOPY ones. The child's VMAs lose VM_LOCKED; a VMA
   * with an anon_vma gives the child's copy a new one chained to it (inherited: it will not merge
   * with anon_vma-less neighbours); VM_WIPEONFORK copies start empty. Page tables are copied only
   * for VMAs with an anon_vma: private pages become read-only on both sides (copy-on-write) and
   * gain a mapping; the child's entries start old.
   */
  async fork(): Promise<MmProcess> {
    await this.flushDeferred();
    const childAsid = await this.ports.mmu.createAddressSpace();
    const child = new MmProcess(this.mm.machine, childAsid, this.ports, this.mm.mmapBase, this.shmem);
    const cm = child.mm;
    const copies: Vma[] = [];
    for (const v of this.mm.vmas.all()) {
      if (hasAny(v.vmFlags, VM_DONTCOPY)) continue;
      const c = v.clone(v.start, v.end, v.pgoff);
      c.vmFlags = clearFlags(c.vmFlags, VM_LOCKED_MASK);
      if (hasAny(v.vmFlags, VM_WIPEONFORK) || !v.anonVma) {
        c.anonVma = null;
        c.anonVmaInherited = false;
      } else {
        c.anonVma = cm.newAnonVma();
        c.anonVmaInherited = true;
      }
      if (hasAny(c.vmFlags, VM_ACCOUNT)) vmEnoughMemory(cm.machine, c.pages);
      cm.vmas.insertAt(cm.vmas.size, c);
      cm.vmStatAccount(c.vmFlags, c.pages);
      copies.push(v);
    }
    for (const v of copies) {
      // vma_needs_copy: an anon_vma, or VM_PFNMAP (the child could not refault the driver's PFNs)
      const pfnmap = hasAny(v.vmFlags, VM_PFNMAP);
      if ((!v.anonVma && !pfnmap) || hasAny(v.vmFlags, VM_WIPEONFORK)) continue;
      await this.copyHugePmds(child, v);
      const present = (await this.pagemap(v.start, v.end)).filter(
        (e) => e.present && e.pfn !== null && !this.mapped.hugeAt(e.va),
      );
      if (!present.length) continue;
      const cow = !hasAny(v.vmFlags, VM_SHARED);
      const accessible = hasAny(v.vmFlags, VM_ACCESS_FLAGS);
      const exec = hasAny(v.vmFlags, VM_EXEC);
      const counted = present.filter((e) => !e.special).map((e) => e.pfn as number);
      if (counted.length) {
        await this.ports.pages.getPages(counted);
        await this.ports.pages.addMapcounts(counted, 1);
      }
      const protect = present.filter((e) => cow && e.writable);
      if (protect.length) {
        await this.mapPages(
          protect.map((e) => ({
            va: e.va,
            pfn: e.pfn as number,
            accessible,
            writable: false,
            executable: exec,
            dirty: e.dirty,
            special: e.special,
            young: e.young,
          })),
        );
      }
      await child.mapPages(
        present.map((e) => ({
          va: e.va,
          pfn: e.pfn as number,
          accessible,
          writable: cow ? false : e.writable,
          executable: exec,
          dirty: e.dirty,
          special: e.special,
          young: false,
        })),
      );
    }
    await child.syncFileRefs();
    return child;
  }

  /**
   * copy_huge_pmd for the huge PMDs of a VMA: the child maps the same folio (or the huge zero
   * folio) with its own deposited table, old; an anonymous folio gains a reference and a mapping
   * of each page, and turns read-only in both (copy-on-write).
   */
  private async copyHugePmds(child: MmProcess, v: Vma): Promise<void> {
    const exec = hasAny(v.vmFlags, VM_EXEC);
    const accessible = hasAny(v.vmFlags, VM_ACCESS_FLAGS);
    for (const haddr of this.mapped.hugeIn(v.start, v.end)) {
      const huge = this.mapped.hugeAt(haddr) as HugeSpan;
      const [e] = await this.pagemap(haddr, haddr + PAGE);
      if (!huge.special) {
        await this.ports.pages.getPages([huge.pfn]);
        await this.ports.pages.addMapcounts(folioPages(huge.pfn), 1);
        if (e.writable)
          await this.mapHuge({
            va: haddr,
            pfn: huge.pfn,
            writable: false,
            executable: exec,
            dirty: e.dirty,
            special: false,
            young: e.young,
            accessible,
          });
      }
      await child.mapHuge({
        va: haddr,
        pfn: huge.pfn,
        writable: false,
        executable: exec,
        dirty: e.dirty,
        special: huge.special,
        young: false,
        accessible,
      });
    }
  }

  /** exit_mmap: unmap everything, drop the commit charge, free the page tables. */
  async exit(): Promise<void> {
    await this.flushDeferred();
    const all = this.mm.vmas.all().map((v) => ({ start: v.start, end: v.end }));
    let accounted = 0;
    for (const v of this.mm.vmas.all()) if (hasAny(v.vmFlags, VM_ACCOUNT)) accounted += v.pages;
    if (all.length) await this.unmap(all);
    vmUnacctMemory(this.mm.machine, accounted);
    this.mm.vmas.clear();
    await this.syncFileRefs();
    await this.ports.mmu.destroyAddressSpace(this.asid);
  }

  /**
   * expand_downwards: a VM_GROWSDOWN VMA takes in the faulting page, unless an accessible VMA
   * below (not itself growsdown) ends within stack_guard_gap of it.
   */
  private expandDownwards(vma: Vma, addr: number): boolean {
    const mm = this.mm;
    const i = mm.vmas.indexOf(vma);
    const prev = mm.vmas.prevOf(i);
    const gap = mm.machine.config.stackGuardGapPages * PAGE;
    if (
      prev &&
      !hasAny(prev.vmFlags, VM_GROWSDOWN) &&
      hasAny(prev.vmFlags, VM_ACCESS_FLAGS) &&
      addr - prev.end < gap
    ) {
      return false;
    }
    if (prev && prev.end > addr) return false;
    const grow = (vma.start - addr) / PAGE;
    if (hasAny(vma.vmFlags, VM_ACCOUNT) && !vmEnoughMemory(mm.machine, grow)) return false;
    anonVmaPrepare(mm, vma);
    vma.pgoff -= grow;
    vma.start = addr;
    mm.vmStatAccount(vma.vmFlags, grow);
    if (hasAny(vma.vmFlags, VM_LOCKED)) mm.lockedVm += grow;
    return true;
  }

  /** Runs a syscall of the VMA model on this mm, then its page-table work. */
  async syscall(fn: (mm: MmStruct) => SyscallResult): Promise<SyscallResult> {
    return this.settle(fn(this.mm));
  }

  /**
   * Starts a batch of syscalls of this process only (nothing else may touch the pages in
   * between): their unmaps may then wait and go down together, until endSyscallBatch.
   */
  beginSyscallBatch(): void {
    this.deferring = true;
  }

  /** Ends a syscall batch: the unmaps still waiting are sent. */
  async endSyscallBatch(): Promise<void> {
    this.deferring = false;
    await this.flushDeferred();
  }

  /**
   * Sends the queued page-table work, then gives the syscall's result. In a syscall batch the
   * unmaps wait (see deferUnmap) as long as nothing else comes: any other page-table work (a
   * populate, a protection change, a move, MADV_FREE) is sent after them, as are faults, pagemap
   * reads, fork and exit (each flushes first). Not with device files mapped: dropping a VMA's
   * file reference may release the driver's memory, which must not happen while still mapped.
   */
  private async settle(r: SyscallResult): Promise<SyscallResult> {
    const ops = this.mm.pageOps ?? [];
    this.mm.pageOps = [];
    if (this.mapped.hugeIn(0, Number.MAX_SAFE_INTEGER).length) {
      const pending: VaRange[] = [...this.deferred];
      for (const o of ops) {
        if (o.kind === 'unmap') pending.push({ start: o.start, end: o.end });
        else if (o.kind === 'move') pending.push({ start: o.from, end: o.from + o.len });
      }
      await splitHugePmdsAcrossVmas(this, pending);
    }
    if (this.deferring && this.fileRefs.size === 0 && ops.every((o) => o.kind === 'unmap')) {
      for (const o of ops) await this.deferUnmap({ start: o.start, end: o.end });
    } else {
      await this.flushDeferred();
      await this.apply(ops);
    }
    if (this.fileRefs.size) await this.syncFileRefs();
    return r;
  }

  /**
   * Queues an unmap behind the waiting ones, so that they make one unmapRanges call. One by one,
   * each unmap frees its page tables, then its pages; merged, every table freed by the call goes
   * back before the first page. So an unmap that would free a page table (it leaves a PTE table's
   * span without pages) waits only if nothing waits before it; else those are sent first. This
   * keeps tables and pages right but not always the order of the frees (VmaManagerOptions
   * mergeUnmaps, off by default). An unmap of a range with nothing mapped needs no call at all.
   */
  private async deferUnmap(range: VaRange): Promise<void> {
    if (!this.anyMapped(range.start, range.end)) return;
    if (this.deferred.length && this.emptiesATable(range)) await this.flushDeferred();
    this.deferred.push(range);
  }

  /** Whether unmapping `range` after the waiting unmaps leaves some PTE table without pages. */
  private emptiesATable(range: VaRange): boolean {
    const gone = (va: number) =>
      (va >= range.start && va < range.end) || this.deferred.some((d) => va >= d.start && va < d.end);
    for (const span of this.mapped.spanIndexesIn(range.start, range.end)) {
      const start = span * PTE_TABLE_SPAN;
      if (this.mapped.vasIn(start, start + PTE_TABLE_SPAN).every(gone)) return true;
    }
    return false;
  }

  /** Sends the waiting unmaps in one call. */
  private async flushDeferred(): Promise<void> {
    if (!this.deferred.length) return;
    const ranges = this.deferred;
    this.deferred = [];
    await this.unmap(ranges);
  }

  /** Applies the ops in order, batching runs of the same kind into one port call. */
  private async apply(ops: readonly PageTableOp[]): Promise<void> {
    let i = 0;
    while (i < ops.length) {
      const kind = ops[i].kind;
      let j = i;
      while (j < ops.length && ops[j].kind === kind) j++;
      const run = ops.slice(i, j);
      switch (kind) {
        case 'unmap':
          await this.unmap(run.map((o) => o as Extract<PageTableOp, { kind: 'unmap' }>));
          break;
        case 'protect':
          await this.protect(run.map((o) => o as Extract<PageTableOp, { kind: 'protect' }>));
          break;
        case 'move':
          for (const o of run) await this.move(o as Extract<PageTableOp, { kind: 'move' }>);
          break;
        case 'populate':
          for (const o of run) await this.populate(o as Extract<PageTableOp, { kind: 'populate' }>);
          break;
        case 'lazyfree':
          for (const o of run) await this.lazyFree(o as Extract<PageTableOp, { kind: 'lazyfree' }>);
          break;
        default:
          throw new PageStateUnavailableError(kind);
      }
      i = j;
    }
  }

  /** populate_vma_page_range: fault in every page that is not mapped as needed, as one batch. */
  private async populate(o: { start: number; end: number; write: boolean }): Promise<void> {
    const entries = await this.pagemap(o.start, o.end);
    const vas = entries.filter((e) => !e.present || (o.write && !e.writable)).map((e) => e.va);
    const batch = this.faultBatch(vas);
    for (let i = 0; i < vas.length; i++) {
      const r = batch.fault(i, o.write);
      if (typeof r !== 'string') await r;
    }
    await batch.flush();
  }

  /**
   * change_protection with MM_CP_TRY_CHANGE_WRITABLE: a private writable mapping gets read-only
   * PTEs (copy-on-write), then write permission back on the pages mapped exactly once, which a
   * write fault would reuse anyway (can_change_pte_writable).
   */
  private async protect(ops: readonly { start: number; end: number; vmFlags: number }[]): Promise<void> {
    await splitHugePmdsIn(this, ops);
    await this.ports.mmu.changeProtection(
      this.asid,
      ops.map((p) => ({
        range: { start: p.start, end: p.end },
        readable: hasAny(p.vmFlags, VM_READ),
        writable: hasAny(p.vmFlags, VM_WRITE),
        executable: hasAny(p.vmFlags, VM_EXEC),
        copyOnWrite: !hasAny(p.vmFlags, VM_SHARED),
      })),
    );
    // change_huge_pmd left the huge PMDs of private mappings read-only (made writable again below)
    for (const p of ops)
      for (const haddr of this.mapped.hugeIn(p.start, p.end))
        this.mapped.setHuge(haddr, { ...(this.mapped.hugeAt(haddr) as HugeSpan), writable: false });
    for (const p of ops) {
      if (!hasAny(p.vmFlags, VM_WRITE) || hasAny(p.vmFlags, VM_SHARED)) continue;
      const exec = hasAny(p.vmFlags, VM_EXEC);
      const entries = await this.pagemap(p.start, p.end);
      // change_huge_pmd: an exclusive THP (can_change_pmd_writable) turns writable as a whole
      for (const haddr of this.mapped.hugeIn(p.start, p.end)) {
        const huge = this.mapped.hugeAt(haddr) as HugeSpan;
        const e = entries[(haddr - p.start) / PAGE];
        if (huge.special || !e.exclusive || e.writable) continue;
        await this.mapHuge({
          va: haddr,
          pfn: huge.pfn,
          writable: true,
          executable: exec,
          dirty: e.dirty,
          special: false,
          young: e.young,
        });
      }
      const upgrade = entries.filter(
        (e) =>
          e.present &&
          !e.special &&
          e.exclusive &&
          !e.writable &&
          e.pfn !== null &&
          !this.mapped.hugeAt(e.va),
      );
      if (!upgrade.length) continue;
      await this.mapPages(
        upgrade.map((e) => ({
          va: e.va,
          pfn: e.pfn as number,
          accessible: true,
          writable: true,
          executable: exec,
          dirty: e.dirty,
          special: false,
          young: e.young,
        })),
      );
    }
  }

  /**
   * MADV_FREE (madvise_free_pte_range): the pages stay mapped with their data until reclaim,
   * which never comes here, but their PTEs turn clean and old; a later write dirties them again.
   */
  private async lazyFree(o: { start: number; end: number }): Promise<void> {
    // Clear and re-set the entries (the clear flushes the TLB, as the kernel's tlb gather does),
    // keeping every page and its references.
    if (!this.anyMapped(o.start, o.end)) return;
    await splitHugePmdsIn(this, [o]);
    const vma = this.mm.vmas.lookup(o.start);
    const exec = vma ? hasAny(vma.vmFlags, VM_EXEC) : false;
    // madvise_free_huge_pmd: a THP wholly in the range stays mapped, turned clean and old (the
    // huge zero folio and a folio shared with another mm are left as they are)
    const ranges: VaRange[] = [];
    let from = o.start;
    for (const haddr of this.mapped.hugeIn(o.start, o.end)) {
      if (haddr > from) ranges.push({ start: from, end: haddr });
      from = haddr + HPAGE_PMD_SIZE;
      const huge = this.mapped.hugeAt(haddr) as HugeSpan;
      const [e] = await this.pagemap(haddr, haddr + PAGE);
      if (huge.special || !e.exclusive || (!e.dirty && !e.young)) continue;
      await this.mapHuge({
        va: haddr,
        pfn: huge.pfn,
        writable: e.writable,
        executable: exec,
        dirty: false,
        special: false,
        young: false,
        accessible: vma ? hasAny(vma.vmFlags, VM_ACCESS_FLAGS) : true,
      });
    }
    if (from < o.end) ranges.push({ start: from, end: o.end });
    for (const range of ranges) await this.lazyFreePtes(range, exec);
  }

  /** madvise_free_pte_range for a range with no huge PMD. */
  private async lazyFreePtes(range: VaRange, exec: boolean): Promise<void> {
    if (!this.anyMapped(range.start, range.end)) return;
    const { removed } = await this.ports.mmu.unmapRanges(this.asid, [range]);
    this.forget([range]);
    if (!removed.length) return;
    await this.mapPages(
      removed.map((p) => ({
        va: p.va,
        pfn: p.pfn,
        accessible: true,
        writable: p.writable,
        executable: exec,
        dirty: p.special ? p.dirty : false,
        special: p.special,
        young: p.special ? p.young : false,
      })),
    );
  }

  /**
   * Whether some page of [start, end) has a PTE this process installed. When none has, an unmap
   * of the range clears nothing and frees no table (a user table is freed as soon as an unmap
   * leaves it empty, so no empty one is left to free), and the mmu need not be asked.
   */
  private anyMapped(start: number, end: number): boolean {
    return this.mapped.anyIn(start, end);
  }

  /** zap: clear the PTEs, then drop the references and mappings the PTEs held. */
  private async unmap(ops: readonly { start: number; end: number }[]): Promise<void> {
    const ranges: VaRange[] = [];
    for (const o of ops) if (this.anyMapped(o.start, o.end)) ranges.push({ start: o.start, end: o.end });
    if (!ranges.length) return;
    await splitHugePmdsIn(this, ranges);
    const { removed } = await this.ports.mmu.unmapRanges(this.asid, ranges);
    this.forget(ranges);
    // zap_huge_pmd: a whole THP loses the mapping of each page and its one reference
    const unmapped: number[] = [];
    const puts: number[] = [];
    for (const p of removed) {
      if (p.special) continue;
      if (p.huge) unmapped.push(...folioPages(p.pfn));
      else unmapped.push(p.pfn);
      puts.push(p.pfn);
    }
    if (unmapped.length) {
      await this.ports.pages.addMapcounts(unmapped, -1);
      await this.ports.pages.putPages(puts);
    }
  }

  /** move_page_tables: the pages keep their references and PTE bits at their new address. */
  private async move(o: { from: number; to: number; len: number }): Promise<void> {
    if (!this.anyMapped(o.from, o.from + o.len)) return;
    // move_huge_pmd: a whole huge PMD landing 2 MiB aligned moves as one entry; others split
    for (const haddr of this.mapped.hugeIn(o.from, o.from + o.len)) {
      const to = o.to + (haddr - o.from);
      if (haddr < o.from || haddr + HPAGE_PMD_SIZE > o.from + o.len || hugeAlign(to) !== to) {
        await this.splitHuge(haddr);
        continue;
      }
      const huge = this.mapped.hugeAt(haddr) as HugeSpan;
      const span = { start: haddr, end: haddr + HPAGE_PMD_SIZE };
      const { removed } = await this.ports.mmu.unmapRanges(this.asid, [span]);
      this.forget([span]);
      const pmd = removed[0];
      const vma = this.mm.vmas.lookup(to);
      await this.mapHuge({
        va: to,
        pfn: huge.pfn,
        writable: pmd.writable,
        executable: vma ? hasAny(vma.vmFlags, VM_EXEC) : false,
        dirty: pmd.dirty,
        special: huge.special,
        young: pmd.young,
        accessible: vma ? hasAny(vma.vmFlags, VM_ACCESS_FLAGS) : true,
      });
    }
    if (!this.anyMapped(o.from, o.from + o.len)) return;
    const { removed } = await this.ports.mmu.unmapRanges(this.asid, [{ start: o.from, end: o.from + o.len }]);
    this.forget([{ start: o.from, end: o.from + o.len }]);
    if (!removed.length) return;
    const vma = this.mm.vmas.lookup(o.to);
    const flags = vma ? vma.vmFlags : 0;
    await this.mapPages(
      removed.map((p) => ({
        va: o.to + (p.va - o.from),
        pfn: p.pfn,
        accessible: hasAny(flags, VM_ACCESS_FLAGS),
        writable: p.writable,
        executable: hasAny(flags, VM_EXEC),
        dirty: p.dirty,
        special: p.special,
      })),
    );
  }
}
