/**
 * What the conformance runner asks of the process it replays a script on: syscalls as data, the
 * /proc/PID/maps lines and smaps figures of its VMAs, pagemap residency and user accesses. The
 * runner holds no mm_struct of its own, so the process can live anywhere: here (the two targets
 * below) or in the vma-manager service (a target in the CLI, over gRPC).
 *
 * Two local targets: `VmaOnlyTarget` runs the VMA model alone (no page tables); the only page
 * state it knows for certain is "no page was ever mapped", which holds until the first populate,
 * after which any op that prints residency makes the case unsupported. `PortsTarget` runs an
 * MmProcess over the mmu and the page allocator: faults, residency and smaps are real.
 */
import { Machine, type MachineConfig } from '../machine';
import { MmStruct } from '../mm-struct';
import type { SyscallResult } from '../mman';
import type { Vma } from '../vma';
import { formatMapsLine } from '../proc-maps';
import { NO_PAGES, smapsEntry, type SmapsPageStats } from '../proc-smaps';
import type { MmProcess } from '../process';
import type { PagemapEntry } from '../ports';
import { runSyscall, type Syscall } from '../tasks/syscall';
import { mmap } from '../mmap';
import { munmap } from '../munmap';
import { mprotect } from '../mprotect';
import { mremap } from '../mremap';
import { madvise } from '../madvise';
import { mlock, munlock } from '../mlock';
import { mseal } from '../mseal';

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

export const NOTHING_RESIDENT: Residency = {
  present: 0,
  swapped: 0,
  fileShared: 0,
  exclusive: 0,
  guard: 0,
  distinctPfn: 0,
};

export interface TouchResult {
  readonly pages: number;
  readonly done: number;
  readonly signal: 'SIGSEGV' | 'SIGBUS' | null;
  readonly faultPage: number | null;
  readonly minflt: number;
  /** histogram of the bytes read (reads only) */
  readonly values: ReadonlyMap<number, number> | null;
}

/** One line of /proc/PID/maps (no newline) and the VMA's bounds. */
export interface MapsLine {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** One VMA's /proc/PID/smaps figures, in kB, as vmtrace prints them. */
export interface SmapsFigures {
  readonly start: number;
  readonly end: number;
  readonly size: number;
  readonly stats: SmapsPageStats;
  readonly locked: number;
  /** the VmFlags mnemonics, space-separated, without the trailing space */
  readonly vmFlags: string;
}

export interface Target {
  /** A memory syscall of the process; Linux's refusals are errno values. */
  syscall(line: number, call: Syscall): Promise<SyscallResult>;
  /** Every line of /proc/PID/maps, in address order. */
  maps(): Promise<MapsLine[]>;
  /** smaps figures of these VMAs (lines of the last `maps()`, no op in between), in their order. */
  smapsOf(vmas: readonly MapsLine[]): Promise<SmapsFigures[]>;
  /** pagemap summary of pages [firstPage, lastPage) */
  residency(firstPage: number, lastPage: number): Promise<Residency>;
  /** Accesses the first byte of each page of [addr, addr+len), stopping at a signal. */
  touch(line: number, addr: number, len: number, write: boolean, value: number): Promise<TouchResult>;
  /** fork(): the child process */
  fork(line: number): Promise<Target>;
  /** the process exits */
  exit(): Promise<void>;
  /** Drops what this target cached of its page tables (another process changed page state). */
  forget(): void;
}

/** A syscall on the VMA model alone (the page-table work it queues is the caller's). */
export function applySyscall(mm: MmStruct, call: Syscall): SyscallResult {
  switch (call.kind) {
    case 'mmap':
      return mmap(mm, call.addr, call.length, call.prot, call.flags, call.fd ?? -1, call.offset ?? 0);
    case 'munmap':
      return munmap(mm, call.addr, call.length);
    case 'mprotect':
      return mprotect(mm, call.addr, call.length, call.prot);
    case 'mremap':
      return mremap(mm, call.oldAddr, call.oldLength, call.newLength, call.flags, call.newAddr ?? 0);
    case 'madvise':
      return madvise(mm, call.addr, call.length, call.advice);
    case 'mlock':
      return mlock(mm, call.addr, call.length);
    case 'munlock':
      return munlock(mm, call.addr, call.length);
    case 'mseal':
      return mseal(mm, call.addr, call.length, call.flags ?? 0);
  }
}

function mapsOfMm(mm: MmStruct): MapsLine[] {
  return mm.vmas.all().map((v) => ({ start: v.start, end: v.end, text: formatMapsLine(v) }));
}

/** The VMAs of `mm` the lines name (a line names the VMA that starts where it starts). */
function vmasOf(mm: MmStruct, lines: readonly MapsLine[]): Vma[] {
  return lines.map((l) => {
    const v = mm.vmas.lookup(l.start);
    if (!v || v.start !== l.start || v.end !== l.end)
      throw new Error(`no VMA ${l.start.toString(16)}-${l.end.toString(16)}: the maps lines are stale`);
    return v;
  });
}

function figures(vma: Vma, stats: SmapsPageStats): SmapsFigures {
  const e = smapsEntry(vma, () => stats);
  return { start: vma.start, end: vma.end, size: e.size, stats, locked: e.locked, vmFlags: e.vmFlags };
}

/** The VMA model without page tables. */
export class VmaOnlyTarget implements Target {
  readonly mm: MmStruct;
  private unknownSince: string | null = null;

  constructor(machine: MachineConfig) {
    this.mm = new MmStruct(new Machine(machine));
    this.mm.pageOps = [];
  }

  async syscall(line: number, call: Syscall): Promise<SyscallResult> {
    const r = applySyscall(this.mm, call);
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

  async maps(): Promise<MapsLine[]> {
    return mapsOfMm(this.mm);
  }

  async smapsOf(vmas: readonly MapsLine[]): Promise<SmapsFigures[]> {
    if (vmas.length) this.check();
    return vmasOf(this.mm, vmas).map((v) => figures(v, NO_PAGES));
  }

  async residency(): Promise<Residency> {
    this.check();
    return NOTHING_RESIDENT;
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

  syscall(_line: number, call: Syscall): Promise<SyscallResult> {
    this.cache = null;
    return runSyscall(this.proc, call);
  }

  async maps(): Promise<MapsLine[]> {
    return mapsOfMm(this.mm);
  }

  async smapsOf(vmas: readonly MapsLine[]): Promise<SmapsFigures[]> {
    const out: SmapsFigures[] = [];
    for (const v of vmasOf(this.mm, vmas)) out.push(figures(v, await this.smaps(v)));
    return out;
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
    if (lastPage <= firstPage) return NOTHING_RESIDENT;
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

  /** The smaps page figures of one VMA (also what the vma-manager's /proc/PID/smaps prints). */
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
      anonHugePages: this.proc.anonHugeKb(vma),
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
