import { formatVa48, va48FromCanonical } from '@pagemesh/uapi';

/**
 * Where a 64-bit address enters (proto uint64 decoded as bigint, a CLI argument) it is checked for
 * canonical form once and becomes a va48 number (docs/architecture.md, "64-bit values"; the
 * conversions are @pagemesh/uapi's). A non-canonical value never becomes a va48: for an access
 * it becomes NON_CANONICAL, which the mmu turns into a general-protection fault.
 */

/** Sentinel address for a non-canonical 64-bit value: any access through it is #GP. */
export const NON_CANONICAL = -1;

/** The va48 of an incoming 64-bit access address, or NON_CANONICAL. */
export function accessAddress(addr: bigint): number {
  return va48FromCanonical(BigInt.asUintN(64, addr)) ?? NON_CANONICAL;
}

/** An address as the kernel prints it: canonical 64-bit form, or 8 hex digits on 32-bit x86. */
export function formatVa(va: number, vaBits = 48): string {
  return vaBits === 32 ? `0x${va.toString(16).padStart(8, '0')}` : formatVa48(va);
}
