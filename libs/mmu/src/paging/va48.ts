/**
 * Where a 64-bit address enters (proto uint64 decoded as bigint, a CLI argument) it is checked for
 * canonical form once and becomes a va48 number (docs/architecture.md, "64-bit values"). A
 * non-canonical value never becomes a va48: it becomes NON_CANONICAL, which an access turns
 * into a general-protection fault.
 */

/** Sentinel address for a non-canonical 64-bit value: any access through it is #GP. */
export const NON_CANONICAL = -1;

const VA48_LIMIT = 2n ** 48n;
const SIGN_BIT = 2n ** 47n;
const HIGH_HALF = 0xffff000000000000n;

/** A 64-bit address as va48, or NON_CANONICAL when bits 63..48 differ from bit 47. */
export function va48FromCanonical(addr: bigint): number {
  const a = BigInt.asUintN(64, addr);
  const low = a & (VA48_LIMIT - 1n);
  const expectedHigh = low & SIGN_BIT ? HIGH_HALF : 0n;
  if ((a & HIGH_HALF) !== expectedHigh) return NON_CANONICAL;
  return Number(low);
}

/** The canonical 64-bit form of a va48 (sign-extended from bit 47). */
export function canonicalFromVa48(va: number): bigint {
  const v = BigInt(va);
  return v & SIGN_BIT ? v | HIGH_HALF : v;
}

/** `0xffff888000000000` for 0x888000000000; 32-bit values print as 8 digits. */
export function formatVa(va: number, vaBits = 48): string {
  if (vaBits === 32) return `0x${va.toString(16).padStart(8, '0')}`;
  if (va >= 2 ** 47) return `0xffff${va.toString(16).padStart(12, '0')}`;
  return `0x${va.toString(16).padStart(16, '0')}`;
}
