/**
 * Page-level answers the conformance runner needs (residency, smaps page figures, user accesses).
 *
 * Two targets: `VmaOnlyTarget` runs the VMA model alone (no page tables); the only page state it
 * knows for certain is "no page was ever mapped", which holds until the first populate, after
 * which any op that prints residency makes the case unsupported. `PortsTarget` runs an
 * MmProcess over the mmu and the page allocator: faults, residency and smaps are real.
 */
import { Machine, type MachineConfig } from '../machine';
import { MmStruct } from '../mm-struct';
import type { SyscallResult } from '../mman';
import type { Vma } from '../vma';
import { NO_PAGES, type SmapsPageStats } from '../proc-smaps';
import type { MmProcess } from '../process';
import type { PagemapEntry } from '../ports';

/** Thrown when a case needs something the model cannot do yet; the case is reported unsupported. */
export class UnsupportedOpError extends Error {
  constructor(public readonly reason: string) {
    super(reason);
    this.name = 'UnsupportedOpError';
  }
}

export interface Residency {
  readonly present: number;
  readonly swapped: number;
  readonly fileShared: number;
  readonly exclusive: number;
  readonly guard: number;
  /** distinct PFNs among present pages; null when PFNs are hidden */
  readonly distinctPfn: number | null;
}

export interface TouchResult {
  readonly pages: number;
  readonly done: number;
  readonly signal: 'SIGSEGV' | 'SIGBUS' | null;
  readonly faultPage: number | null;
  readonly minflt: number;
  /** histogram of the bytes read (reads only) */
  readonly values: ReadonlyMap<number, number> | null;
}

export interface Target {
  readonly mm: MmStruct;
  syscall(line: number, fn: (mm: MmStruct) => SyscallResult): Promise<SyscallResult>;
  /** pagemap summary of pages [firstPage, lastPage) */
  residency(firstPage: number, lastPage: number): Promise<Residency>;
  smaps(vma: Vma): Promise<SmapsPageStats>;
  /** Accesses the first byte of each page of [addr, addr+len), stopping at a signal. */
  touch(line: number, addr: number, len: number, write: boolean, value: number): Promise<TouchResult>;
  /** fork(): the child process */
  fork(line: number): Promise<Target>;
  /** the process exits */
  exit(): Promise<void>;
  /** Drops what this target cached of its page tables (another process changed page state). */
  forget(): void;
}

/** The VMA model without page tables. */
export class VmaOnlyTarget implements Target {
  readonly mm: MmStruct;
  private unknownSince: string | null = null;

  constructor(machine: MachineConfig) {
    this.mm = new MmStruct(new Machine(machine));
    this.mm.pageOps = [];
  }

  async syscall(line: number, fn: (mm: MmStruct) => SyscallResult): Promise<SyscallResult> {
    const r = fn(this.mm);
    const ops = this.mm.pageOps ?? [];
    if (!this.unknownSince && ops.some((o) => o.kind === 'populate')) {
      this.unknownSince = `line ${line} faults pages in (populate), and no page tables are wired`;
    }
    ops.length = 0;
    return r;
  }

  private check(): void {
    if (this.unknownSince) throw new UnsupportedOpError(`residency unknown: ${this.unknownSince}`);
  }

  async residency(): Promise<Residency> {
    this.check();
    return { present: 0, swapped: 0, fileShared: 0, exclusive: 0, guard: 0, distinctPfn: 0 };
  }

  async smaps(): Promise<SmapsPageStats> {
    this.check();
    return NO_PAGES;
  }

  async touch(line: number): Promise<TouchResult> {
    throw new UnsupportedOpError(
      `line ${line}: touch needs the page-fault path, and no page tables are wired`,
    );
  }

  async fork(line: number): Promise<Target> {
    throw new UnsupportedOpError(`line ${line}: fork needs page tables, and none are wired`);
  }

  async exit(): Promise<void> {
    // nothing to release: the VMA model alone holds no pages
  }

  forget(): void {
    // nothing cached
  }
}

const PAGE = 4096;

/** An MmProcess over the mmu and the page allocator. */
export class PortsTarget implements Target {
  /** The last pagemap read, valid until the next syscall or access (one output line reads it twice). */
  private cache: { start: number; end: number; entries: PagemapEntry[] } | null = null;

  constructor(private readonly proc: MmProcess) {}

  private async pagemap(start: number, end: number): Promise<PagemapEntry[]> {
    const c = this.cache;
    if (c && c.start <= start && end <= c.end) {
      return c.entries.slice((start - c.start) / PAGE, (end - c.start) / PAGE);
    }
    const entries = await this.proc.pagemap(start, end);
    this.cache = { start, end, entries };
    return entries;
  }

  get mm(): MmStruct {
    return this.proc.mm;
  }

  syscall(_line: number, fn: (mm: MmStruct) => SyscallResult): Promise<SyscallResult> {
    this.cache = null;
    return this.proc.syscall(fn);
  }

  async fork(): Promise<Target> {
    this.cache = null;
    return new PortsTarget(await this.proc.fork());
  }

  async exit(): Promise<void> {
    this.cache = null;
    await this.proc.exit();
  }

  forget(): void {
    this.cache = null;
  }

  async residency(firstPage: number, lastPage: number): Promise<Residency> {
    if (lastPage <= firstPage)
      return { present: 0, swapped: 0, fileShared: 0, exclusive: 0, guard: 0, distinctPfn: 0 };
    const entries = await this.pagemap(firstPage * PAGE, lastPage * PAGE);
    let present = 0;
    let exclusive = 0;
    let fileShared = 0;
    const pfns = new Set<number>();
    for (const e of entries) {
      if (!e.present) continue;
      present += 1;
      if (e.exclusive) exclusive += 1;
      if (e.pfn !== null) pfns.add(e.pfn);
      const v = this.mm.vmas.lookup(e.va);
      if (v && v.file && !e.special) fileShared += 1;
    }
    return { present, swapped: 0, fileShared, exclusive, guard: 0, distinctPfn: pfns.size };
  }

  async smaps(vma: Vma): Promise<SmapsPageStats> {
    const entries = (await this.pagemap(vma.start, vma.end)).filter((e) => e.present && !e.special);
    const pfns = entries.map((e) => e.pfn as number);
    const counts = entries.length ? await this.proc.pageAllocator.mapcounts(pfns) : [];
    // smaps: a page is dirty if its PTE or its folio is (shmem written through another mapping)
    const folioDirty = entries.length ? await this.proc.pageAllocator.dirtyFlags(pfns) : [];
    let rss = 0;
    let pssBytes = 0;
    let pssDirtyBytes = 0;
    let sharedClean = 0;
    let sharedDirty = 0;
    let privateClean = 0;
    let privateDirty = 0;
    let referenced = 0;
    entries.forEach((e, i) => {
      const mapcount = Math.max(1, counts[i]);
      const dirty = e.dirty || folioDirty[i];
      rss += 4;
      pssBytes += PAGE / mapcount;
      if (dirty) pssDirtyBytes += PAGE / mapcount;
      if (mapcount >= 2) {
        if (dirty) sharedDirty += 4;
        else sharedClean += 4;
      } else if (dirty) privateDirty += 4;
      else privateClean += 4;
      if (e.young) referenced += 4;
    });
    const pss = Math.floor(pssBytes / 1024);
    return {
      rss,
      pss,
      pssDirty: Math.floor(pssDirtyBytes / 1024),
      sharedClean,
      sharedDirty,
      privateClean,
      privateDirty,
      referenced,
      anonymous: vma.file ? 0 : rss,
      lazyFree: 0,
      anonHugePages: 0,
      swap: 0,
      swapPss: 0,
    };
  }

  async touch(_line: number, addr: number, len: number, write: boolean, value: number): Promise<TouchResult> {
    this.cache = null;
    const pages = Math.ceil(len / PAGE);
    const before = this.proc.minflt;
    const walk = await this.proc.access(addr, pages, write, value);
    let values: Map<number, number> | null = null;
    if (!write) {
      values = new Map();
      for (const b of walk.bytes) values.set(b, (values.get(b) ?? 0) + 1);
    }
    return {
      pages,
      done: walk.done,
      signal: walk.signal,
      faultPage: walk.signal ? walk.done : null,
      minflt: this.proc.minflt - before,
      values,
    };
  }
}
