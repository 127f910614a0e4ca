/**
 * One simulated CPU's TLB: set-associative arrays of translations, one per page size (4 KiB,
 * 2 MiB or 4 MiB, 1 GiB), as x86 cores keep separate L1 DTLBs per size.
 *
 * An entry is keyed by (PCID, virtual page number); entries made from a global (G) leaf are keyed
 * by GLOBAL_PCID so that they match in every address space and survive a CR3 switch. The entry
 * keeps the physical page base and the accesses it allows without a walk, as access-code bits
 * (the same bits as the page-fault error code): WRITE only when the leaf is writable and already
 * Dirty (a first write must walk to set D, as hardware does), USER when every level has US, FETCH
 * when no level has NX. Not-present translations are never cached.
 */

export const ACC_WRITE = 0x2;
export const ACC_USER = 0x4;
export const ACC_FETCH = 0x10;
/** The access-code bits a TLB entry can grant. */
export const ACC_CHECKED = ACC_WRITE | ACC_USER | ACC_FETCH;
/**
 * Internal access bit: a supervisor access that SMAP/SMEP forbids on user pages. `>> 5` turns it
 * into ACC_USER, so a hit checks it against the entry's USER bit without a branch.
 */
export const ACC_SUPERVISOR_CHECK = 0x80;

/** PCID tag of global entries. Real PCIDs are 12 bits (0..4095). */
export const GLOBAL_PCID = 4096;
const VPN_SPACE = 2 ** 36;

export interface TlbGeometry {
  /** Total entries; a multiple of `ways` with a power-of-two number of sets. */
  readonly entries: number;
  readonly ways: number;
}

export interface TlbConfig {
  /** 4 KiB translations (default 64 entries, 4-way, like an L1 DTLB). */
  readonly small?: TlbGeometry;
  /** 2 MiB (x86: 4 MiB) translations (default 32 entries, 4-way). */
  readonly large?: TlbGeometry;
  /** 1 GiB translations (default 4 entries, fully associative). */
  readonly huge?: TlbGeometry;
}

export interface TlbStats {
  hits: number;
  misses: number;
  /** Hits on an entry that did not allow the access (stale after a permission upgrade, or D clear): re-walked. */
  permissionMisses: number;
  invlpg: number;
  fullFlushes: number;
  /** Flush requests received from other CPUs (TLB shootdown IPIs). */
  shootdowns: number;
  /** Entries currently valid. */
  valid: number;
}

export function validateGeometry(g: TlbGeometry, field: string): string | null {
  if (!Number.isInteger(g.entries) || !Number.isInteger(g.ways) || g.ways < 1 || g.entries < g.ways) {
    return `${field}: entries and ways must be positive integers with entries >= ways`;
  }
  const sets = g.entries / g.ways;
  if (!Number.isInteger(sets) || (sets & (sets - 1)) !== 0) {
    return `${field}: entries / ways must be a power of two, got ${g.entries} / ${g.ways}`;
  }
  return null;
}

/** One set-associative array for one page size. */
export class TlbArray {
  readonly tags: Float64Array;
  readonly base: Float64Array;
  readonly allow: Uint8Array;
  readonly stamp: Float64Array;
  readonly setMask: number;
  readonly ways: number;
  /** Entries of the array (sets × ways). */
  readonly capacity: number;
  clock = 0;
  /** False while the array holds nothing since the last full flush: lookups skip it. */
  used = false;

  constructor(
    geometry: TlbGeometry,
    /** Bytes per page of this array: 4096, 2 MiB, 4 MiB or 1 GiB. */
    readonly pageBytes: number,
  ) {
    this.ways = geometry.ways;
    this.capacity = geometry.entries;
    this.setMask = geometry.entries / geometry.ways - 1;
    this.tags = new Float64Array(geometry.entries).fill(-1);
    this.base = new Float64Array(geometry.entries);
    this.allow = new Uint8Array(geometry.entries);
    this.stamp = new Float64Array(geometry.entries);
  }

  /** Index of the entry for (key, vpn), or -1. */
  find(key: number, vpn: number): number {
    const start = (vpn & this.setMask) * this.ways;
    const end = start + this.ways;
    const tags = this.tags;
    for (let i = start; i < end; i++) {
      if (tags[i] === key) {
        this.stamp[i] = ++this.clock;
        return i;
      }
    }
    return -1;
  }

  /** Inserts or refreshes, evicting the least recently used way of the set. */
  insert(key: number, vpn: number, base: number, allow: number): void {
    const start = (vpn & this.setMask) * this.ways;
    let victim = start;
    for (let i = start; i < start + this.ways; i++) {
      if (this.tags[i] === key || this.tags[i] === -1) {
        victim = i;
        break;
      }
      if (this.stamp[i] < this.stamp[victim]) victim = i;
    }
    this.used = true;
    this.tags[victim] = key;
    this.base[victim] = base;
    this.allow[victim] = allow;
    this.stamp[victim] = ++this.clock;
  }

  /** Drops the entries of `vpn` under `key`; returns how many were valid. */
  invalidate(key: number, vpn: number): number {
    const start = (vpn & this.setMask) * this.ways;
    let n = 0;
    for (let i = start; i < start + this.ways; i++) {
      if (this.tags[i] === key) {
        this.tags[i] = -1;
        n++;
      }
    }
    return n;
  }

  /** Drops every entry whose PCID matches `pcid` (-1: every non-global entry; -2: everything). */
  flushPcid(pcid: number): void {
    const tags = this.tags;
    if (pcid === -2) this.used = false;
    for (let i = 0; i < tags.length; i++) {
      const t = tags[i];
      if (t < 0) continue;
      const p = Math.floor(t / VPN_SPACE);
      if (pcid === -2 || (pcid === -1 && p !== GLOBAL_PCID) || p === pcid) tags[i] = -1;
    }
  }

  validCount(): number {
    let n = 0;
    for (let i = 0; i < this.tags.length; i++) if (this.tags[i] >= 0) n++;
    return n;
  }

  /** Every valid entry as (pcid, vpn, base, allow), for invariant checks. */
  *entries(): Generator<{ pcid: number; vpn: number; base: number; allow: number }> {
    for (let i = 0; i < this.tags.length; i++) {
      const t = this.tags[i];
      if (t < 0) continue;
      const pcid = Math.floor(t / VPN_SPACE);
      yield { pcid, vpn: t - pcid * VPN_SPACE, base: this.base[i], allow: this.allow[i] };
    }
  }
}

/** The TLB of one CPU. `pcidKey` is the current PCID times 2^36, added to a VPN to form a key. */
export class Tlb {
  readonly arrays: readonly TlbArray[];
  pcidKey = 0;
  readonly stats: TlbStats = {
    hits: 0,
    misses: 0,
    permissionMisses: 0,
    invlpg: 0,
    fullFlushes: 0,
    shootdowns: 0,
    valid: 0,
  };

  private readonly small: TlbArray;

  constructor(
    config: TlbConfig,
    largePageBytes: number,
    hugePageBytes: number | null,
    /** Lowest address that can have global entries (the kernel half: user entries are never global). */
    private readonly globalFrom = 0,
  ) {
    const arrays = [
      new TlbArray(config.small ?? { entries: 64, ways: 4 }, 4096),
      new TlbArray(config.large ?? { entries: 32, ways: 4 }, largePageBytes),
    ];
    if (hugePageBytes !== null)
      arrays.push(new TlbArray(config.huge ?? { entries: 4, ways: 4 }, hugePageBytes));
    this.arrays = arrays;
    this.small = arrays[0];
  }

  static keyOf(pcid: number, vpn: number): number {
    return pcid * VPN_SPACE + vpn;
  }

  /**
   * The physical address for (va, access) if a cached translation allows the access, -1 on a
   * miss, -2 when an entry exists but does not allow it (the caller re-walks, as the CPU does
   * after the spurious fault such a stale entry causes). The 4 KiB array is probed inline: it
   * is the hot path of every access.
   */
  lookup(va: number, acc: number): number {
    const s = this.small;
    const vpn = Math.floor(va / 4096);
    const key = this.pcidKey + vpn;
    const tags = s.tags;
    const start = (vpn & s.setMask) * s.ways;
    const end = start + s.ways;
    for (let i = start; i < end; i++) {
      if (tags[i] === key) {
        if (((acc & ~s.allow[i] & ACC_CHECKED) | ((acc >> 5) & s.allow[i] & ACC_USER)) === 0) {
          s.stamp[i] = ++s.clock;
          this.stats.hits++;
          return s.base[i] + (va - vpn * 4096);
        }
        this.stats.permissionMisses++;
        return -2;
      }
    }
    return this.lookupRest(va, acc);
  }

  /** Global 4 KiB entries and the large-page arrays. */
  private lookupRest(va: number, acc: number): number {
    const arrays = this.arrays;
    const kernel = va >= this.globalFrom;
    for (let a = 0; a < arrays.length; a++) {
      const arr = arrays[a];
      if (!arr.used) continue;
      const vpn = Math.floor(va / arr.pageBytes);
      let i = a === 0 ? -1 : arr.find(this.pcidKey + vpn, vpn);
      if (i < 0 && kernel) i = arr.find(GLOBAL_PCID * VPN_SPACE + vpn, vpn);
      if (i >= 0) {
        if (((acc & ~arr.allow[i] & ACC_CHECKED) | ((acc >> 5) & arr.allow[i] & ACC_USER)) === 0) {
          this.stats.hits++;
          return arr.base[i] + (va - vpn * arr.pageBytes);
        }
        this.stats.permissionMisses++;
        return -2;
      }
    }
    this.stats.misses++;
    return -1;
  }

  /** Caches a translation of a page of `pageBytes` (which array) at `va`. */
  fill(va: number, pageBytes: number, base: number, allow: number, global: boolean): void {
    for (const arr of this.arrays) {
      if (arr.pageBytes !== pageBytes) continue;
      const vpn = Math.floor(va / pageBytes);
      // a translation lives in one place: drop a copy under the other key before inserting
      if (global) arr.invalidate(this.pcidKey + vpn, vpn);
      else arr.invalidate(GLOBAL_PCID * VPN_SPACE + vpn, vpn);
      arr.insert((global ? GLOBAL_PCID * VPN_SPACE : this.pcidKey) + vpn, vpn, base, allow);
      return;
    }
  }

  /**
   * INVLPG-like invalidation of the page containing `va` for `pcid` (the current one for INVLPG,
   * another one for INVPCID-style shootdowns) and of global entries, in every page-size array.
   */
  invalidatePage(va: number, pcid: number): void {
    this.stats.invlpg++;
    for (const arr of this.arrays) {
      const vpn = Math.floor(va / arr.pageBytes);
      arr.invalidate(pcid * VPN_SPACE + vpn, vpn);
      arr.invalidate(GLOBAL_PCID * VPN_SPACE + vpn, vpn);
    }
  }

  /** Flush all entries of one PCID (-1: all non-global, as a CR3 write; -2: everything incl. global). */
  flush(pcid: number): void {
    this.stats.fullFlushes++;
    for (const arr of this.arrays) arr.flushPcid(pcid);
  }

  snapshotStats(): TlbStats {
    let valid = 0;
    for (const arr of this.arrays) valid += arr.validCount();
    return { ...this.stats, valid };
  }
}
