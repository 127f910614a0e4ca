/**
 * Virtual addresses inside pagemesh are `va48` numbers: the low 48 bits of an x86-64 canonical
 * address (see docs/architecture.md, "64-bit values"). These are the only conversions between
 * that form and the 64-bit form the outside world uses (protos, text).
 */

/** 2^48: one past the largest va48. */
export const VA48_LIMIT = 2 ** 48;
/** Bit 47: set for the kernel half of the canonical address space. */
const BIT47 = 2 ** 47;
const HIGH_BITS = 0xffff_0000_0000_0000n;
const LOW_MASK = 0xffff_ffff_ffffn;
const USER_HALF_END = 1n << 47n;

/** True when bits 63..48 of the 64-bit address are all copies of bit 47. */
export function isCanonical(address: bigint): boolean {
  if (address < 0n || address > 0xffff_ffff_ffff_ffffn) return false;
  const high = address & HIGH_BITS;
  return (address & (1n << 47n)) !== 0n ? high === HIGH_BITS : high === 0n;
}

/** The va48 form of a canonical address, or null for a non-canonical one (a #GP on real hardware). */
export function va48FromCanonical(address: bigint): number | null {
  // User addresses, the common case on access paths, need no masking.
  if (address >= 0n && address < USER_HALF_END) return Number(address);
  return isCanonical(address) ? Number(address & LOW_MASK) : null;
}

/** The canonical 64-bit form of a va48: bits 63..48 become copies of bit 47. */
export function canonicalFromVa48(va: number): bigint {
  const low = BigInt(va);
  return va >= BIT47 ? low | HIGH_BITS : low;
}

/** `0xffff888000000000` for a kernel va48, `0x7f0000000000` for a user one. */
export function formatVa48(va: number): string {
  return `0x${canonicalFromVa48(va).toString(16)}`;
}
