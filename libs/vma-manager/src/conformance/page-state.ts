/**
 * Page-level answers the conformance runner needs (pagemap counts, smaps page figures). Until
 * the mmu and page-allocator are wired, the only state the model knows for certain is "no page
 * was ever mapped": that holds until the first populate, after which residency is unknown and
 * any op that prints it makes the case unsupported.
 */
import type { PageTableOp } from '../mm-struct';
import type { Vma } from '../vma';
import { NO_PAGES, type SmapsPageStats } from '../proc-smaps';

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

export interface PageState {
  /** Take the page-table work a syscall queued. */
  apply(ops: readonly PageTableOp[], line: number): void;
  /** pagemap summary of pages [firstPage, lastPage) */
  residency(firstPage: number, lastPage: number): Residency;
  smaps(vma: Vma): SmapsPageStats;
}

/** The process has never had a page mapped: every query answers "nothing present". */
export class NoPageTables implements PageState {
  private unknownSince: string | null = null;

  apply(ops: readonly PageTableOp[], line: number): void {
    if (this.unknownSince) return;
    const p = ops.find((o) => o.kind === 'populate');
    if (p) this.unknownSince = `line ${line} faults pages in (populate), and the fault path is not wired yet`;
  }

  private check(): void {
    if (this.unknownSince) throw new UnsupportedOpError(`residency unknown: ${this.unknownSince}`);
  }

  residency(): Residency {
    this.check();
    return { present: 0, swapped: 0, fileShared: 0, exclusive: 0, guard: 0, distinctPfn: 0 };
  }

  smaps(): SmapsPageStats {
    this.check();
    return NO_PAGES;
  }
}
