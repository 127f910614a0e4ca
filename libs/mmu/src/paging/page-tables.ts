import type { LevelName, PagingProfile } from './paging-profile';
import {
  _PAGE_NX_HI,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_USER,
  describeEntry,
  formatEntry,
} from './pte-bits';
import { TableStore } from './table-store';

/** One level of a walk trace. */
export interface WalkStep {
  readonly level: LevelName;
  readonly index: number;
  /** PFN of the table page that holds the entry. */
  readonly tablePfn: number;
  /** Physical address of the entry: table base + entry size * index. */
  readonly entryPaddr: number;
  readonly lo: number;
  readonly hi: number;
  /** The raw entry in hex, 64-bit on x86_64 and 32-bit on x86. */
  readonly entry: string;
  readonly flags: readonly string[];
}

/** The result of a software walk (no Accessed/Dirty update, no TLB). */
export interface WalkTrace {
  readonly steps: readonly WalkStep[];
  /** A leaf with P set was reached. */
  readonly present: boolean;
  /** The leaf level when present (PTE, or PMD/PUD/PGD for a huge leaf). */
  readonly leafLevel?: LevelName;
  readonly pageBytes?: number;
  readonly pfn?: number;
  readonly physAddr?: number;
  /** Effective rights along the walk (RW and US ANDed across levels, NX ORed). */
  readonly writable?: boolean;
  readonly user?: boolean;
  readonly nx?: boolean;
}

/** The PFN field of an entry (bits 51..12; a huge leaf's low PFN bits are the PAT/reserved bits and are masked by the caller). */
export function entryPfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * 0x100000;
}

/**
 * Structural operations over a tree of tables in a {@link TableStore}: walk, find or create the
 * table at a level, count the tables a range would need, free tables that became empty.
 */
export class PageTables {
  constructor(
    readonly profile: PagingProfile,
    readonly store: TableStore,
  ) {}

  get leafLevel(): number {
    return this.profile.shifts.length - 1;
  }

  /** Whether the entry (lo) at `level` is a leaf: the last level, or PS set where huge pages exist. */
  isLeaf(level: number, lo: number): boolean {
    return level === this.leafLevel || (this.profile.hugeAt[level] && (lo & _PAGE_PSE) !== 0);
  }

  /** Bytes mapped by one entry at `level`. */
  spanAt(level: number): number {
    return this.profile.spans[level];
  }

  index(va: number, level: number): number {
    return Math.floor(va / this.profile.spans[level]) & (this.profile.entriesPerTable - 1);
  }

  /** The child table slot an entry points to, or -1. */
  childSlot(lo: number, hi: number): number {
    return this.store.pfnToSlot[entryPfn(lo, hi)] ?? -1;
  }

  /** A software walk from a root table, for traces and pagemap. */
  walk(rootSlot: number, va: number): WalkTrace {
    const p = this.profile;
    const steps: WalkStep[] = [];
    let slot = rootSlot;
    let writable = true;
    let user = true;
    let nx = false;
    for (let level = 0; level < p.shifts.length; level++) {
      const index = this.index(va, level);
      const lo = this.store.lo(slot, index);
      const hi = this.store.hi(slot, index);
      const tablePfn = this.store.pfnOf(slot);
      const leaf = this.isLeaf(level, lo);
      steps.push({
        level: p.levelNames[level],
        index,
        tablePfn,
        entryPaddr: tablePfn * 4096 + index * 4 * p.entryWords,
        lo,
        hi,
        entry: formatEntry(lo, hi, p.entryWords === 2),
        flags: describeEntry(lo, hi, level === this.leafLevel),
      });
      if ((lo & _PAGE_PRESENT) === 0) return { steps, present: false };
      writable &&= (lo & _PAGE_RW) !== 0;
      user &&= (lo & _PAGE_USER) !== 0;
      nx ||= (hi & _PAGE_NX_HI) !== 0;
      if (leaf) {
        const pageBytes = p.spans[level];
        const pagesPer = pageBytes / 4096;
        const pfn = Math.floor(entryPfn(lo, hi) / pagesPer) * pagesPer;
        const offset = va % pageBytes;
        return {
          steps,
          present: true,
          leafLevel: p.levelNames[level],
          pageBytes,
          pfn: pfn + Math.floor(offset / 4096),
          physAddr: pfn * 4096 + offset,
          writable,
          user,
          nx,
        };
      }
      slot = this.childSlot(lo, hi);
      if (slot < 0) return { steps, present: false };
    }
    return { steps, present: false };
  }

  /**
   * The slot of the table at `level` covering `va`, or -1 when a table on the way is missing
   * (`out.missingLevel`: the level of the none entry) or a huge leaf covers `va`
   * (`out.hugeLevel`).
   */
  tableAt(
    rootSlot: number,
    va: number,
    level: number,
    out?: { hugeLevel: number; missingLevel: number },
  ): number {
    let slot = rootSlot;
    for (let l = 0; l < level; l++) {
      const i = this.index(va, l);
      const lo = this.store.lo(slot, i);
      if (lo === 0 && this.store.hi(slot, i) === 0) {
        if (out) out.missingLevel = l;
        return -1;
      }
      if (this.isLeaf(l, lo)) {
        if (out) out.hugeLevel = l;
        return -1;
      }
      slot = this.childSlot(lo, this.store.hi(slot, i));
      if (slot < 0) {
        if (out) out.missingLevel = l;
        return -1;
      }
    }
    return slot;
  }

  /**
   * The table at `level` covering `va`, creating missing tables from `takeFrame` (which must
   * not run dry: callers count with missingTables first). `onNewTable` reports each new table.
   */
  ensureTable(
    rootSlot: number,
    va: number,
    level: number,
    owner: number,
    tableEntryLo: number,
    takeFrame: () => number,
    onNewTable?: (parentSlot: number, index: number, level: number) => void,
  ): number {
    let slot = rootSlot;
    for (let l = 0; l < level; l++) {
      const i = this.index(va, l);
      const lo = this.store.lo(slot, i);
      const hi = this.store.hi(slot, i);
      if (lo === 0 && hi === 0) {
        const pfn = takeFrame();
        const child = this.store.attach(pfn, l + 1, owner);
        const paddr = pfn * 4096;
        this.store.set(slot, i, (paddr % 2 ** 32) + tableEntryLo, Math.floor(paddr / 2 ** 32));
        onNewTable?.(slot, i, l);
        slot = child;
      } else {
        slot = this.childSlot(lo, hi);
      }
    }
    return slot;
  }

  /** Every table slot under `slot` (excluding it), depth first, children before parents. */
  collectBelow(slot: number, level: number, fromIndex: number, toIndex: number, out: number[]): void {
    if (level >= this.leafLevel) return;
    for (let i = fromIndex; i < toIndex; i++) {
      const lo = this.store.lo(slot, i);
      if (lo === 0 || this.isLeaf(level, lo) || (lo & _PAGE_PRESENT) === 0) continue;
      const child = this.childSlot(lo, this.store.hi(slot, i));
      if (child < 0) continue;
      this.collectBelow(child, level + 1, 0, this.profile.entriesPerTable, out);
      out.push(child);
    }
  }

  /** Calls `fn` for every non-none leaf entry under entries [fromIndex, toIndex) of a table at `level` whose first address is `base`. */
  forEachLeaf(
    slot: number,
    level: number,
    fromIndex: number,
    toIndex: number,
    fn: (va: number, lo: number, hi: number) => void,
    base = 0,
  ): void {
    const span = this.profile.spans[level];
    for (let i = fromIndex; i < toIndex; i++) {
      const lo = this.store.lo(slot, i);
      const hi = this.store.hi(slot, i);
      if (lo === 0 && hi === 0) continue;
      const va = base + i * span;
      if (this.isLeaf(level, lo) || (lo & _PAGE_PRESENT) === 0) fn(va, lo, hi);
      else {
        const child = this.childSlot(lo, hi);
        if (child >= 0) this.forEachLeaf(child, level + 1, 0, this.profile.entriesPerTable, fn, va);
      }
    }
  }

  /** The first table under `slot` whose recorded level is not where it hangs, or -1. */
  misplacedTable(slot: number, level: number, fromIndex: number, toIndex: number): number {
    if (level >= this.leafLevel) return -1;
    for (let i = fromIndex; i < toIndex; i++) {
      const lo = this.store.lo(slot, i);
      if (lo === 0 || this.isLeaf(level, lo) || (lo & _PAGE_PRESENT) === 0) continue;
      const child = this.childSlot(lo, this.store.hi(slot, i));
      if (child < 0) continue;
      if (this.store.levelOf(child) !== level + 1) return child;
      const bad = this.misplacedTable(child, level + 1, 0, this.profile.entriesPerTable);
      if (bad >= 0) return bad;
    }
    return -1;
  }

  /**
   * The leaf entry covering `va` (a PTE, or a huge PMD/PUD/PGD entry) into `out`; returns its
   * level, or -1 when a table on the way is missing. No strings, no allocation: for bulk queries.
   */
  leafOf(rootSlot: number, va: number, out: { lo: number; hi: number }): number {
    let slot = rootSlot;
    for (let l = 0; l <= this.leafLevel; l++) {
      const i = this.index(va, l);
      const lo = this.store.lo(slot, i);
      const hi = this.store.hi(slot, i);
      if (this.isLeaf(l, lo)) {
        out.lo = lo;
        out.hi = hi;
        return l;
      }
      if ((lo & _PAGE_PRESENT) === 0) return -1;
      slot = this.childSlot(lo, hi);
      if (slot < 0) return -1;
    }
    return -1;
  }
}
