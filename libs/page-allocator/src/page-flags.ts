/**
 * PG_* flags (enum pageflags, include/linux/page-flags.h). The bit numbers are pagemesh's own:
 * the kernel's differ across versions and configs, so nothing outside should depend on them
 * (use kpageflags() for the stable user-visible KPF_* numbering).
 */
export enum PageFlag {
  Locked = 0,
  Referenced = 1,
  Uptodate = 2,
  Dirty = 3,
  Lru = 4,
  Active = 5,
  /** PG_slab (≤ v6.9; a page type since). Set by the slab allocator only. */
  Slab = 6,
  Reserved = 7,
  Private = 8,
  /** PG_head: first page of a compound page. Set by the allocator only (__GFP_COMP). */
  Head = 9,
  SwapBacked = 10,
  Writeback = 11,
  Unevictable = 12,
  Mlocked = 13,
  Workingset = 14,
  /** PG_anon_exclusive (alias of PG_owner_2 / PG_mappedtodisk). */
  AnonExclusive = 15,
}

export const PAGE_FLAG_COUNT = 16;

/** Kernel spelling of each flag, for dumps. */
export const PAGE_FLAG_NAMES: readonly string[] = [
  'locked',
  'referenced',
  'uptodate',
  'dirty',
  'lru',
  'active',
  'slab',
  'reserved',
  'private',
  'head',
  'swapbacked',
  'writeback',
  'unevictable',
  'mlocked',
  'workingset',
  'anon_exclusive',
];

/**
 * Page types (PGTY_*, include/linux/page-flags.h, v6.12): kept in the top byte of page_type,
 * valid only on pages that are not mapped to user space.
 */
export enum PageType {
  Buddy = 0xf0,
  Offline = 0xf1,
  Table = 0xf2,
  Guard = 0xf3,
  LargeKmalloc = 0xf8,
}

export const PAGE_TYPE_NAMES: Readonly<Record<PageType, string>> = {
  [PageType.Buddy]: 'buddy',
  [PageType.Offline]: 'offline',
  [PageType.Table]: 'table',
  [PageType.Guard]: 'guard',
  [PageType.LargeKmalloc]: 'large_kmalloc',
};

/** What page->mapping points at: an anon_vma (PAGE_MAPPING_ANON), a file's address_space, or nothing. */
export type PageMapping = 'anon' | 'file' | 'none';
