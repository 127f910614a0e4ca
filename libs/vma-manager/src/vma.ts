import { PAGE_SHIFT } from '@pagemesh/uapi';

/**
 * struct anon_vma, reduced to what decides merges: its identity, and whether the VMA that holds it
 * inherited it through fork (a non-singular anon_vma_chain, vma_had_uncowed_parents()).
 */
export class AnonVma {
  constructor(public readonly id: number) {}
}

/**
 * The file behind a VMA: the shmem object behind a shared anonymous mapping, or an open device
 * file (a character device node such as /dev/mymmap) whose driver's mmap remapped its memory.
 */
export interface VmFile {
  readonly kind: 'shmem' | 'device';
  /** the device-drivers layer's id of the open file (struct file) a device VMA holds a reference on */
  readonly fileId?: number;
  /** s_dev of the filesystem: shared anonymous memory lives on the internal shm mount (00:01 on the oracle). */
  readonly devMajor: number;
  readonly devMinor: number;
  readonly ino: number;
  /** What /proc/PID/maps prints for it. */
  readonly path: string;
  /** i_size in pages: a shared anonymous object is exactly the length of its mmap (0 for a device). */
  sizePages: number;
}

/** struct vm_area_struct: [start, end), both page aligned, start < end. */
export class Vma {
  constructor(
    public start: number,
    public end: number,
    /** vm_flags (see vm-flags.ts for how bits above 31 are held) */
    public vmFlags: number,
    /** vm_pgoff, in pages */
    public pgoff: number,
    /** vm_file (null: anonymous private) */
    public file: VmFile | null,
    /** anon_vma (null until the first write fault, writable populate or COW) */
    public anonVma: AnonVma | null,
    /** the anon_vma_chain is not singular: anon_vma inherited through fork */
    public anonVmaInherited = false,
  ) {}

  get pages(): number {
    return (this.end - this.start) / 4096;
  }

  /** vma_is_anonymous(): no vm_ops, i.e. private anonymous memory. */
  get isAnonymous(): boolean {
    return this.file === null;
  }

  /** A copy of this VMA's state over another range (split_vma / copy_vma). */
  clone(start: number, end: number, pgoff: number): Vma {
    return new Vma(start, end, this.vmFlags, pgoff, this.file, this.anonVma, this.anonVmaInherited);
  }

  /** vm_pgoff of the page at `addr` inside this VMA. */
  pgoffAt(addr: number): number {
    return this.pgoff + (addr - this.start) / (1 << PAGE_SHIFT);
  }
}
