import { InvalidArgumentError } from './errors';
import { Zone } from './zone-type';

/**
 * GFP bits with Linux's values (include/linux/gfp_types.h, v6.3+: ___GFP_*_BIT enum, no
 * __GFP_ATOMIC). Composite masks as the same header builds them.
 */
const DMA = 0x1;
const HIGHMEM = 0x2;
const DMA32 = 0x4;
const MOVABLE = 0x8;
const RECLAIMABLE = 0x10;
const HIGH = 0x20;
const IO = 0x40;
const FS = 0x80;
const ZERO = 0x100;
const DIRECT_RECLAIM = 0x400;
const KSWAPD_RECLAIM = 0x800;
const WRITE = 0x1000;
const NOWARN = 0x2000;
const RETRY_MAYFAIL = 0x4000;
const NOFAIL = 0x8000;
const NORETRY = 0x10000;
const MEMALLOC = 0x20000;
const COMP = 0x40000;
const NOMEMALLOC = 0x80000;
const HARDWALL = 0x100000;
const THISNODE = 0x200000;
const ACCOUNT = 0x400000;
const ZEROTAGS = 0x800000;
const RECLAIM = DIRECT_RECLAIM | KSWAPD_RECLAIM;

export const GFP = {
  // modifiers (__GFP_*)
  DMA,
  HIGHMEM,
  DMA32,
  MOVABLE,
  RECLAIMABLE,
  HIGH,
  IO,
  FS,
  ZERO,
  DIRECT_RECLAIM,
  KSWAPD_RECLAIM,
  RECLAIM,
  WRITE,
  NOWARN,
  RETRY_MAYFAIL,
  NOFAIL,
  NORETRY,
  MEMALLOC,
  COMP,
  NOMEMALLOC,
  HARDWALL,
  THISNODE,
  ACCOUNT,
  ZEROTAGS,
  // composite masks (GFP_*)
  /** GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS = 0xcc0 */
  KERNEL: RECLAIM | IO | FS,
  KERNEL_ACCOUNT: RECLAIM | IO | FS | ACCOUNT,
  /** GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM = 0x820 */
  ATOMIC: HIGH | KSWAPD_RECLAIM,
  /** GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN (v6.15+) */
  NOWAIT: KSWAPD_RECLAIM | NOWARN,
  NOIO: RECLAIM,
  NOFS: RECLAIM | IO,
  /** GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL = 0x100cc0 */
  USER: RECLAIM | IO | FS | HARDWALL,
  /** GFP_DMA = __GFP_DMA (combine with GFP_KERNEL) */
  DMA_ZONE: DMA,
  DMA32_ZONE: DMA32,
  /** GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM = 0x100cc2 */
  HIGHUSER: RECLAIM | IO | FS | HARDWALL | HIGHMEM,
  /** GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE = 0x100cca (without the config-dependent __GFP_SKIP_KASAN) */
  HIGHUSER_MOVABLE: RECLAIM | IO | FS | HARDWALL | HIGHMEM | MOVABLE,
  /** GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM */
  TRANSHUGE_LIGHT: (IO | FS | HARDWALL | HIGHMEM | MOVABLE | COMP | NOMEMALLOC | NOWARN) & ~RECLAIM,
} as const;

/** GFP_ZONEMASK: the four zone modifier bits. */
export const GFP_ZONEMASK = DMA | HIGHMEM | DMA32 | MOVABLE;
/** GFP_SLAB_BUG_MASK: kmalloc strips __GFP_DMA32 | __GFP_HIGHMEM (with a warning) (mm/slub.c kmalloc_fix_flags). */
export const GFP_SLAB_BUG_MASK = DMA32 | HIGHMEM;
/** Highest bit we accept (___GFP_LAST_BIT is config-dependent; __GFP_NOLOCKDEP etc. live at 24..27). */
export const GFP_VALID_MASK = (1 << 28) - 1;

/**
 * gfp_zone(): the highest zone a request may use (GFP_ZONE_TABLE, include/linux/gfp.h). Zones not
 * configured collapse as OPT_ZONE_* do: HighMem → Normal without CONFIG_HIGHMEM, DMA32 → Normal
 * without CONFIG_ZONE_DMA32 (i386). Combinations in GFP_ZONE_BAD are refused.
 */
export function gfpZone(gfp: number, configured: ReadonlySet<Zone>): Zone {
  const bits = gfp & GFP_ZONEMASK;
  let zone: Zone;
  switch (bits) {
    case 0:
    case MOVABLE:
      zone = Zone.Normal;
      break;
    case DMA:
    case DMA | MOVABLE:
      zone = Zone.DMA;
      break;
    case HIGHMEM:
      zone = Zone.HighMem;
      break;
    case HIGHMEM | MOVABLE:
      zone = Zone.Movable;
      break;
    case DMA32:
    case DMA32 | MOVABLE:
      zone = Zone.DMA32;
      break;
    default:
      throw new InvalidArgumentError(
        'gfp',
        `0x${gfp.toString(16)}`,
        'zone modifiers are a GFP_ZONE_BAD combination (at most one of __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM)',
      );
  }
  if (!configured.has(zone)) zone = Zone.Normal;
  return zone;
}

export function validateGfp(gfp: number): void {
  if (!Number.isInteger(gfp) || gfp < 0 || (gfp & ~GFP_VALID_MASK) !== 0) {
    throw new InvalidArgumentError(
      'gfp',
      gfp,
      'must be a non-negative integer of known __GFP_* bits (below bit 28)',
    );
  }
}

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [DMA, '__GFP_DMA'],
  [HIGHMEM, '__GFP_HIGHMEM'],
  [DMA32, '__GFP_DMA32'],
  [MOVABLE, '__GFP_MOVABLE'],
  [RECLAIMABLE, '__GFP_RECLAIMABLE'],
  [HIGH, '__GFP_HIGH'],
  [IO, '__GFP_IO'],
  [FS, '__GFP_FS'],
  [ZERO, '__GFP_ZERO'],
  [DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
  [KSWAPD_RECLAIM, '__GFP_KSWAPD_RECLAIM'],
  [WRITE, '__GFP_WRITE'],
  [NOWARN, '__GFP_NOWARN'],
  [RETRY_MAYFAIL, '__GFP_RETRY_MAYFAIL'],
  [NOFAIL, '__GFP_NOFAIL'],
  [NORETRY, '__GFP_NORETRY'],
  [MEMALLOC, '__GFP_MEMALLOC'],
  [COMP, '__GFP_COMP'],
  [NOMEMALLOC, '__GFP_NOMEMALLOC'],
  [HARDWALL, '__GFP_HARDWALL'],
  [THISNODE, '__GFP_THISNODE'],
  [ACCOUNT, '__GFP_ACCOUNT'],
  [ZEROTAGS, '__GFP_ZEROTAGS'],
];

/** "%pGg"-style rendering of a mask, e.g. GFP_KERNEL|__GFP_ZERO (include/trace/events/mmflags.h names). */
export function formatGfp(gfp: number): string {
  const parts: string[] = [];
  let rest = gfp;
  const composites: ReadonlyArray<[number, string]> = [
    [GFP.HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'],
    [GFP.HIGHUSER, 'GFP_HIGHUSER'],
    [GFP.USER, 'GFP_USER'],
    [GFP.KERNEL, 'GFP_KERNEL'],
    [GFP.ATOMIC, 'GFP_ATOMIC'],
  ];
  for (const [mask, name] of composites) {
    if ((rest & mask) === mask) {
      parts.push(name);
      rest &= ~mask;
      break;
    }
  }
  for (const [bit, name] of FLAG_NAMES) {
    if (rest & bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.length ? parts.join('|') : '0';
}
