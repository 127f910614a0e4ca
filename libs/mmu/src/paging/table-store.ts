/**
 * Where page-table entries live: one growable arena of 32-bit words, 1024 words (4 KiB) per
 * table, whatever the profile (512 two-word entries on x86_64, 1024 one-word entries on x86).
 *
 * Each table is backed by a real frame from the page allocator (zeroed, marked PageType.Table);
 * the frame's PFN is what parent entries and CR3 hold, exactly as on hardware. The mmu keeps the
 * entries themselves here because it must read them synchronously on every TLB miss while RAM
 * lives in another service, and because it is their only writer (see docs/architecture.md,
 * "mmu: where page tables live"). `pfnToSlot` turns the PFN in an entry into its arena slot.
 */

const TABLE_WORDS = 1024;

/** Owner tag of tables that belong to init_mm (the kernel page tables). */
export const KERNEL_OWNER = 0;

export class TableStore {
  /** The entries: table `slot` occupies words [slot * 1024, slot * 1024 + 1024). */
  words: Uint32Array;
  /** PFN -> slot, -1 when the frame holds no page table. */
  readonly pfnToSlot: Int32Array;
  private slotPfn: Int32Array;
  /** Non-none entries per table: the table is empty (and freeable) at 0. */
  private slotUsed: Uint16Array;
  private slotLevel: Uint8Array;
  private slotOwner: Int32Array;
  private freeSlots: number[] = [];
  private capacity: number;
  private liveTables = 0;

  constructor(
    maxPfn: number,
    readonly entryWords: 1 | 2,
    initialTables = 64,
  ) {
    this.pfnToSlot = new Int32Array(maxPfn).fill(-1);
    this.capacity = initialTables;
    this.words = new Uint32Array(initialTables * TABLE_WORDS);
    this.slotPfn = new Int32Array(initialTables).fill(-1);
    this.slotUsed = new Uint16Array(initialTables);
    this.slotLevel = new Uint8Array(initialTables);
    this.slotOwner = new Int32Array(initialTables);
    for (let s = initialTables - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  get tableCount(): number {
    return this.liveTables;
  }

  /** Takes a zeroed frame into use as a table at `level` owned by `owner`; returns its slot. */
  attach(pfn: number, level: number, owner: number): number {
    if (this.freeSlots.length === 0) this.grow();
    const slot = this.freeSlots.pop() as number;
    this.words.fill(0, slot * TABLE_WORDS, (slot + 1) * TABLE_WORDS);
    this.slotPfn[slot] = pfn;
    this.slotUsed[slot] = 0;
    this.slotLevel[slot] = level;
    this.slotOwner[slot] = owner;
    this.pfnToSlot[pfn] = slot;
    this.liveTables++;
    return slot;
  }

  /** Forgets a table; its frame goes back to the page allocator. Returns the PFN. */
  detach(slot: number): number {
    const pfn = this.slotPfn[slot];
    this.pfnToSlot[pfn] = -1;
    this.slotPfn[slot] = -1;
    this.slotUsed[slot] = 0;
    this.freeSlots.push(slot);
    this.liveTables--;
    return pfn;
  }

  pfnOf(slot: number): number {
    return this.slotPfn[slot];
  }

  levelOf(slot: number): number {
    return this.slotLevel[slot];
  }

  ownerOf(slot: number): number {
    return this.slotOwner[slot];
  }

  usedEntries(slot: number): number {
    return this.slotUsed[slot];
  }

  /** Word offset of entry `index` of table `slot`. */
  offset(slot: number, index: number): number {
    return slot * TABLE_WORDS + index * this.entryWords;
  }

  lo(slot: number, index: number): number {
    return this.words[slot * TABLE_WORDS + index * this.entryWords];
  }

  hi(slot: number, index: number): number {
    return this.entryWords === 2 ? this.words[slot * TABLE_WORDS + index * 2 + 1] : 0;
  }

  /** Writes an entry, keeping the table's count of non-none entries. */
  set(slot: number, index: number, lo: number, hi: number): void {
    const off = slot * TABLE_WORDS + index * this.entryWords;
    const wasNone = this.words[off] === 0 && (this.entryWords === 1 || this.words[off + 1] === 0);
    this.words[off] = lo;
    if (this.entryWords === 2) this.words[off + 1] = hi;
    const isNone = lo === 0 && (this.entryWords === 1 || hi === 0);
    if (wasNone && !isNone) this.slotUsed[slot]++;
    else if (!wasNone && isNone) this.slotUsed[slot]--;
  }

  /** Slots of every live table, for invariant checks. */
  liveSlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.capacity; s++) if (this.slotPfn[s] >= 0) out.push(s);
    return out;
  }

  /** Recounts the non-none entries of a table (invariant check). */
  recount(slot: number, entries: number): number {
    let n = 0;
    for (let i = 0; i < entries; i++) if (this.lo(slot, i) !== 0 || this.hi(slot, i) !== 0) n++;
    return n;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const words = new Uint32Array(cap * TABLE_WORDS);
    words.set(this.words);
    this.words = words;
    const slotPfn = new Int32Array(cap).fill(-1);
    slotPfn.set(this.slotPfn);
    this.slotPfn = slotPfn;
    const used = new Uint16Array(cap);
    used.set(this.slotUsed);
    this.slotUsed = used;
    const level = new Uint8Array(cap);
    level.set(this.slotLevel);
    this.slotLevel = level;
    const owner = new Int32Array(cap);
    owner.set(this.slotOwner);
    this.slotOwner = owner;
    for (let s = cap - 1; s >= old; s--) this.freeSlots.push(s);
    this.capacity = cap;
  }
}
