/**
 * The pages a process has PTEs for, as far as its own requests to the mmu go, and which RSS
 * counter each counts in: a shadow of its page tables' leaf level, one small array per PTE table.
 *
 * Laid out like the tables themselves (a Uint8Array of 512 kinds per 2 MiB span, found by the
 * span's index, which is a small integer) rather than as one map keyed by address: addresses are
 * 48-bit numbers, which a Map hashes as doubles, and the fault path asks for every page. The
 * layout also answers "is there a PTE table for this address" (a span with a page has one) and
 * "is anything mapped in this range" span by span.
 */

const PAGE = 4096;
/** PTRS_PER_PTE on x86-64: the pages one PTE table maps */
const SPAN_PAGES = 512;
/**
 * The span of one x86-64 PTE table (2 MiB). x86's 2-level tables span 4 MiB, each made of whole
 * 2 MiB spans, so a page mapped in the same 2 MiB proves on both profiles that the PTE table
 * (and every table above it) exists.
 */
export const PTE_TABLE_SPAN = SPAN_PAGES * PAGE;

/** Which RSS counter a mapped page counts in (the zero page and PFN maps count in none). */
export type PageKind = 'anon' | 'shmem' | 'none';

const KINDS: readonly (PageKind | undefined)[] = [undefined, 'anon', 'shmem', 'none'];
const CODE: Record<PageKind, number> = { anon: 1, shmem: 2, none: 3 };

interface Span {
  readonly kinds: Uint8Array;
  count: number;
}

/** A span mapped by one huge PMD leaf instead of a PTE table. */
export interface HugeSpan {
  /** the folio's first pfn */
  readonly pfn: number;
  /** the huge zero folio (no RSS, no struct page bookkeeping) */
  readonly special: boolean;
  /** the PMD is writable (a write to it takes no fault) */
  readonly writable: boolean;
}

export class MappedPages {
  private readonly spans = new Map<number, Span>();
  /** the spans mapped by a huge PMD (their pages are in `spans` too, all 512 of them) */
  private readonly huge = new Map<number, HugeSpan>();
  private total = 0;

  /** pages mapped */
  get size(): number {
    return this.total;
  }

  has(va: number): boolean {
    const s = this.spans.get(Math.floor(va / PTE_TABLE_SPAN));
    return s !== undefined && s.kinds[Math.floor(va / PAGE) % SPAN_PAGES] !== 0;
  }

  get(va: number): PageKind | undefined {
    const s = this.spans.get(Math.floor(va / PTE_TABLE_SPAN));
    return s === undefined ? undefined : KINDS[s.kinds[Math.floor(va / PAGE) % SPAN_PAGES]];
  }

  /** Records the page at `va` as mapped with `kind`; returns what it was before. */
  set(va: number, kind: PageKind): PageKind | undefined {
    const index = Math.floor(va / PTE_TABLE_SPAN);
    let s = this.spans.get(index);
    if (s === undefined) this.spans.set(index, (s = { kinds: new Uint8Array(SPAN_PAGES), count: 0 }));
    const i = Math.floor(va / PAGE) % SPAN_PAGES;
    const old = s.kinds[i];
    if (old === 0) {
      s.count += 1;
      this.total += 1;
    }
    s.kinds[i] = CODE[kind];
    return KINDS[old];
  }

  /** Forgets the page at `va`; returns what it was. */
  delete(va: number): PageKind | undefined {
    const index = Math.floor(va / PTE_TABLE_SPAN);
    const s = this.spans.get(index);
    if (s === undefined) return undefined;
    const i = Math.floor(va / PAGE) % SPAN_PAGES;
    const old = s.kinds[i];
    if (old === 0) return undefined;
    s.kinds[i] = 0;
    this.total -= 1;
    // a huge PMD is zapped as a whole: once its pages are gone, so is the mark
    this.huge.delete(index);
    if (--s.count === 0) this.spans.delete(index);
    return KINDS[old];
  }

  clear(): void {
    this.spans.clear();
    this.huge.clear();
    this.total = 0;
  }

  /** Whether the PTE table covering `va` exists (some page of its span is mapped by a PTE). */
  hasTable(va: number): boolean {
    const index = Math.floor(va / PTE_TABLE_SPAN);
    return this.spans.has(index) && !this.huge.has(index);
  }

  /** The huge PMD mapping the span of `va`, if one does. */
  hugeAt(va: number): HugeSpan | undefined {
    return this.huge.get(Math.floor(va / PTE_TABLE_SPAN));
  }

  /** Marks the span of `va` as mapped by a huge PMD (its pages are recorded with set). */
  setHuge(va: number, span: HugeSpan): void {
    this.huge.set(Math.floor(va / PTE_TABLE_SPAN), span);
  }

  /** The span of `va` is mapped by PTEs now (split): its pages stay. */
  clearHuge(va: number): void {
    this.huge.delete(Math.floor(va / PTE_TABLE_SPAN));
  }

  /** The first addresses of the huge-PMD spans that [start, end) touches, ascending. */
  hugeIn(start: number, end: number): number[] {
    if (end <= start || this.huge.size === 0) return [];
    const first = Math.floor(start / PTE_TABLE_SPAN);
    const last = Math.floor((end - 1) / PTE_TABLE_SPAN);
    const out: number[] = [];
    for (const i of this.huge.keys()) if (i >= first && i <= last) out.push(i * PTE_TABLE_SPAN);
    return out.sort((a, b) => a - b);
  }

  /** The mapped pages of [start, end), in address order. */
  vasIn(start: number, end: number): number[] {
    const out: number[] = [];
    if (end <= start || this.total === 0) return out;
    for (const index of this.spanIndexesIn(start, end)) {
      const s = this.spans.get(index) as Span;
      const base = index * PTE_TABLE_SPAN;
      const from = Math.max(0, (start - base) / PAGE);
      const to = Math.min(SPAN_PAGES, (end - base) / PAGE);
      for (let i = from; i < to; i++) if (s.kinds[i] !== 0) out.push(base + i * PAGE);
    }
    return out;
  }

  /** Whether any page of [start, end) is mapped. */
  anyIn(start: number, end: number): boolean {
    if (end <= start || this.total === 0) return false;
    for (const index of this.spanIndexesIn(start, end)) {
      const s = this.spans.get(index) as Span;
      const base = index * PTE_TABLE_SPAN;
      const from = Math.max(0, (start - base) / PAGE);
      const to = Math.min(SPAN_PAGES, (end - base) / PAGE);
      if (from === 0 && to === SPAN_PAGES) return true;
      for (let i = from; i < to; i++) if (s.kinds[i] !== 0) return true;
    }
    return false;
  }

  /** The indexes of the spans with pages that [start, end) touches, ascending (span i is [i, i + 1) * PTE_TABLE_SPAN). */
  spanIndexesIn(start: number, end: number): number[] {
    const first = Math.floor(start / PTE_TABLE_SPAN);
    const last = Math.floor((end - 1) / PTE_TABLE_SPAN);
    const out: number[] = [];
    if (last - first < this.spans.size) {
      for (let i = first; i <= last; i++) if (this.spans.has(i)) out.push(i);
    } else {
      for (const i of this.spans.keys()) if (i >= first && i <= last) out.push(i);
      out.sort((a, b) => a - b);
    }
    return out;
  }
}
