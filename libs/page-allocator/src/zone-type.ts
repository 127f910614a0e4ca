/**
 * enum zone_type (include/linux/mmzone.h). The numeric values here are pagemesh's stable ids;
 * the kernel's zone index depends on the config, so each machine profile lists its configured
 * zones in kernel order and a zone's index is its position in that list.
 */
export enum Zone {
  DMA = 0,
  DMA32 = 1,
  Normal = 2,
  HighMem = 3,
  Movable = 4,
}

/** zone_names[] as printed in /proc/buddyinfo and /proc/zoneinfo (mm/page_alloc.c). */
export const ZONE_NAMES: Readonly<Record<Zone, string>> = {
  [Zone.DMA]: 'DMA',
  [Zone.DMA32]: 'DMA32',
  [Zone.Normal]: 'Normal',
  [Zone.HighMem]: 'HighMem',
  [Zone.Movable]: 'Movable',
};

/**
 * sysctl_lowmem_reserve_ratio defaults (mm/page_alloc.c): DMA 256, DMA32 256, Normal 32,
 * HighMem 0, Movable 0.
 */
export const LOWMEM_RESERVE_RATIO: Readonly<Record<Zone, number>> = {
  [Zone.DMA]: 256,
  [Zone.DMA32]: 256,
  [Zone.Normal]: 32,
  [Zone.HighMem]: 0,
  [Zone.Movable]: 0,
};
