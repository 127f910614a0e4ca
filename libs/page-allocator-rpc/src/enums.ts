import { PageFlag, PageType, Zone } from '@pagemesh/page-allocator';
import {
  Arch as ProtoArch,
  MappingKind,
  PageFlag as ProtoPageFlag,
  PageState as ProtoPageState,
  PageType as ProtoPageType,
  Zone as ProtoZone,
} from '@pagemesh/proto';
import { DomainError } from '@pagemesh/service-kit';

/** proto PageFlag ↔ domain PageFlag. Flags the proto names but the model does not keep are absent. */
const PAGE_FLAGS: ReadonlyArray<[ProtoPageFlag, PageFlag]> = [
  [ProtoPageFlag.PAGE_FLAG_LOCKED, PageFlag.Locked],
  [ProtoPageFlag.PAGE_FLAG_REFERENCED, PageFlag.Referenced],
  [ProtoPageFlag.PAGE_FLAG_UPTODATE, PageFlag.Uptodate],
  [ProtoPageFlag.PAGE_FLAG_DIRTY, PageFlag.Dirty],
  [ProtoPageFlag.PAGE_FLAG_LRU, PageFlag.Lru],
  [ProtoPageFlag.PAGE_FLAG_ACTIVE, PageFlag.Active],
  [ProtoPageFlag.PAGE_FLAG_SLAB, PageFlag.Slab],
  [ProtoPageFlag.PAGE_FLAG_RESERVED, PageFlag.Reserved],
  [ProtoPageFlag.PAGE_FLAG_PRIVATE, PageFlag.Private],
  [ProtoPageFlag.PAGE_FLAG_HEAD, PageFlag.Head],
  [ProtoPageFlag.PAGE_FLAG_SWAPBACKED, PageFlag.SwapBacked],
  [ProtoPageFlag.PAGE_FLAG_MLOCKED, PageFlag.Mlocked],
  [ProtoPageFlag.PAGE_FLAG_ANON_EXCLUSIVE, PageFlag.AnonExclusive],
  [ProtoPageFlag.PAGE_FLAG_WRITEBACK, PageFlag.Writeback],
];
const toDomainFlag = new Map(PAGE_FLAGS);

/** Kernel spelling (PageInfo.flags) → proto flag. */
const BY_NAME: ReadonlyMap<string, ProtoPageFlag> = new Map([
  ['locked', ProtoPageFlag.PAGE_FLAG_LOCKED],
  ['referenced', ProtoPageFlag.PAGE_FLAG_REFERENCED],
  ['uptodate', ProtoPageFlag.PAGE_FLAG_UPTODATE],
  ['dirty', ProtoPageFlag.PAGE_FLAG_DIRTY],
  ['lru', ProtoPageFlag.PAGE_FLAG_LRU],
  ['active', ProtoPageFlag.PAGE_FLAG_ACTIVE],
  ['slab', ProtoPageFlag.PAGE_FLAG_SLAB],
  ['reserved', ProtoPageFlag.PAGE_FLAG_RESERVED],
  ['private', ProtoPageFlag.PAGE_FLAG_PRIVATE],
  ['head', ProtoPageFlag.PAGE_FLAG_HEAD],
  ['swapbacked', ProtoPageFlag.PAGE_FLAG_SWAPBACKED],
  ['mlocked', ProtoPageFlag.PAGE_FLAG_MLOCKED],
  ['anon_exclusive', ProtoPageFlag.PAGE_FLAG_ANON_EXCLUSIVE],
  ['writeback', ProtoPageFlag.PAGE_FLAG_WRITEBACK],
]);

export function domainPageFlag(field: string, flag: ProtoPageFlag): PageFlag {
  const f = toDomainFlag.get(flag);
  if (f === undefined) {
    throw new DomainError(
      'invalid-argument',
      `${field}=${ProtoPageFlag[flag] ?? flag}: not a flag the model keeps`,
      {
        field,
        value: flag,
      },
    );
  }
  return f;
}

export function protoPageFlags(names: readonly string[], tail: boolean): ProtoPageFlag[] {
  const out: ProtoPageFlag[] = [];
  for (const n of names) {
    const f = BY_NAME.get(n);
    if (f !== undefined) out.push(f);
  }
  if (tail) out.push(ProtoPageFlag.PAGE_FLAG_TAIL);
  return out;
}

export function protoPageType(name: string | null): ProtoPageType {
  switch (name) {
    case null:
      return ProtoPageType.PAGE_TYPE_NONE;
    case 'buddy':
      return ProtoPageType.PAGE_TYPE_BUDDY;
    case 'table':
      return ProtoPageType.PAGE_TYPE_TABLE;
    case 'slab':
      return ProtoPageType.PAGE_TYPE_SLAB;
    case 'large_kmalloc':
      return ProtoPageType.PAGE_TYPE_LARGE_KMALLOC;
    default:
      return ProtoPageType.PAGE_TYPE_UNSPECIFIED;
  }
}

export function protoZone(name: string): ProtoZone {
  switch (name) {
    case 'DMA':
      return ProtoZone.ZONE_DMA;
    case 'DMA32':
      return ProtoZone.ZONE_DMA32;
    case 'Normal':
      return ProtoZone.ZONE_NORMAL;
    case 'HighMem':
      return ProtoZone.ZONE_HIGHMEM;
    case 'Movable':
      return ProtoZone.ZONE_MOVABLE;
    default:
      return ProtoZone.ZONE_UNSPECIFIED;
  }
}

export function protoZoneOf(zone: Zone): ProtoZone {
  return (zone + 1) as ProtoZone;
}

export function protoMapping(mapping: 'anon' | 'file' | 'none'): MappingKind {
  return mapping === 'anon'
    ? MappingKind.MAPPING_KIND_ANON
    : mapping === 'file'
      ? MappingKind.MAPPING_KIND_FILE
      : MappingKind.MAPPING_KIND_NONE;
}

/** page(pfn).state → proto PageState. */
export function protoPageState(state: 'free' | 'allocated' | 'reserved'): ProtoPageState {
  return state === 'free'
    ? ProtoPageState.PAGE_STATE_FREE
    : state === 'allocated'
      ? ProtoPageState.PAGE_STATE_ALLOCATED
      : ProtoPageState.PAGE_STATE_RESERVED;
}

export function protoArch(arch: 'x86_64' | 'x86'): ProtoArch {
  return arch === 'x86_64' ? ProtoArch.ARCH_X86_64 : ProtoArch.ARCH_X86;
}

export { PageType };
