import { AllocPagesResponse, ChangePageFlagsRequest, PageFlag } from '@pagemesh/proto';
import { toNumbers } from '@pagemesh/page-allocator-rpc';
import type { Benchmark } from './benchmark';

/** 256 items per message, the batch size the services use. */
const ITEMS = 256;
const ROUNDS = 4_000;

/**
 * The cost of 64-bit fields at the proto edge (docs/architecture.md, "64-bit values"): decode
 * 256 PFNs as uint64 (bigint in ts-proto) and convert them to numbers, the way every rpc
 * adapter receives a page batch.
 */
function pfnBatchDecode(): number {
  const bytes = AllocPagesResponse.encode({
    pfns: Array.from({ length: ITEMS }, (_, i) => BigInt(0x100000 + i * 3)),
    errno: 0,
  }).finish();
  let sink = 0;
  const t0 = performance.now();
  for (let r = 0; r < ROUNDS; r++)
    sink += toNumbers('pfns', AllocPagesResponse.decode(bytes).pfns)[ITEMS - 1];
  const seconds = (performance.now() - t0) / 1000;
  if (sink === 0) throw new Error('unreachable');
  return Math.round((ROUNDS * ITEMS) / seconds);
}

/** Baseline for the same run: 256 varint enums (plain numbers in ts-proto), no conversion. */
function enumBatchDecode(): number {
  const bytes = ChangePageFlagsRequest.encode({
    pfns: [],
    set: Array.from({ length: ITEMS }, (_, i) => (i % 14) + 1) as PageFlag[],
    clear: [],
  }).finish();
  let sink = 0;
  const t0 = performance.now();
  for (let r = 0; r < ROUNDS; r++) sink += ChangePageFlagsRequest.decode(bytes).set[ITEMS - 1];
  const seconds = (performance.now() - t0) / 1000;
  if (sink === 0) throw new Error('unreachable');
  return Math.round((ROUNDS * ITEMS) / seconds);
}

export const wireBenchmarks: Benchmark[] = [
  { id: 'wire.pfn_batch_decode_bigint_items_per_s', unit: 'items/s', run: pfnBatchDecode },
  { id: 'wire.enum_batch_decode_number_items_per_s', unit: 'items/s', run: enumBatchDecode },
];
