import { DomainError } from '@pagemesh/service-kit';
import { VmFlag } from '@pagemesh/proto';

/**
 * VM_* bit values (include/linux/mm.h, 6.18) of each proto VmFlag. vm_flags use bits above 31
 * (VM_DROPPABLE is bit 40), so they are held as a number up to 2^53, never with bitwise ops.
 */
const VM_FLAG_BITS: ReadonlyArray<readonly [VmFlag, number]> = [
  [VmFlag.VM_FLAG_READ, 0],
  [VmFlag.VM_FLAG_WRITE, 1],
  [VmFlag.VM_FLAG_EXEC, 2],
  [VmFlag.VM_FLAG_SHARED, 3],
  [VmFlag.VM_FLAG_MAYREAD, 4],
  [VmFlag.VM_FLAG_MAYWRITE, 5],
  [VmFlag.VM_FLAG_MAYEXEC, 6],
  [VmFlag.VM_FLAG_MAYSHARE, 7],
  [VmFlag.VM_FLAG_GROWSDOWN, 8],
  [VmFlag.VM_FLAG_UFFD_MISSING, 9],
  [VmFlag.VM_FLAG_PFNMAP, 10],
  [VmFlag.VM_FLAG_MAYBE_GUARD, 11],
  [VmFlag.VM_FLAG_UFFD_WP, 12],
  [VmFlag.VM_FLAG_LOCKED, 13],
  [VmFlag.VM_FLAG_IO, 14],
  [VmFlag.VM_FLAG_SEQ_READ, 15],
  [VmFlag.VM_FLAG_RAND_READ, 16],
  [VmFlag.VM_FLAG_DONTCOPY, 17],
  [VmFlag.VM_FLAG_DONTEXPAND, 18],
  [VmFlag.VM_FLAG_LOCKONFAULT, 19],
  [VmFlag.VM_FLAG_ACCOUNT, 20],
  [VmFlag.VM_FLAG_NORESERVE, 21],
  [VmFlag.VM_FLAG_HUGETLB, 22],
  [VmFlag.VM_FLAG_SYNC, 23],
  [VmFlag.VM_FLAG_ARCH_1, 24],
  [VmFlag.VM_FLAG_WIPEONFORK, 25],
  [VmFlag.VM_FLAG_DONTDUMP, 26],
  [VmFlag.VM_FLAG_SOFTDIRTY, 27],
  [VmFlag.VM_FLAG_MIXEDMAP, 28],
  [VmFlag.VM_FLAG_HUGEPAGE, 29],
  [VmFlag.VM_FLAG_NOHUGEPAGE, 30],
  [VmFlag.VM_FLAG_MERGEABLE, 31],
  [VmFlag.VM_FLAG_DROPPABLE, 40],
  [VmFlag.VM_FLAG_UFFD_MINOR, 41],
  [VmFlag.VM_FLAG_SEALED, 42],
];

const BIT_OF = new Map(VM_FLAG_BITS);

/** Named flags → the vm_flags number. Unknown enum values are refused by the caller's check. */
export function vmFlagsFromWire(flags: readonly VmFlag[]): number {
  let bits = 0;
  const seen = new Set<number>();
  for (const f of flags) {
    const bit = BIT_OF.get(f);
    if (bit === undefined) {
      throw new DomainError('invalid-argument', `vm_flags: ${VmFlag[f] ?? f} is not a VM_* flag`, {
        field: 'vm_flags',
        value: f,
      });
    }
    if (!seen.has(bit)) bits += 2 ** bit;
    seen.add(bit);
  }
  return bits;
}

/** The vm_flags number → named flags, in bit order (as smaps lists them). */
export function vmFlagsToWire(bits: number): VmFlag[] {
  const out: VmFlag[] = [];
  for (const [flag, bit] of VM_FLAG_BITS) {
    if (Math.floor(bits / 2 ** bit) % 2 === 1) out.push(flag);
  }
  return out;
}
