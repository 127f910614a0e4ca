import { PAGE_SIZE, type Errno } from '@pagemesh/uapi';

import { type Cdev, mkdev } from '../driver-model';
import { FailedPreconditionError } from '../errors';
import type { DriverFile, FileOperations, FilePos, ReadResult, WriteResult } from '../file';
import type { DriverMemory, KernelServices, ModuleInstance } from '../module';
import { labProcShow } from '../proc-entry';
import type { DriverVma, MmapResult } from '../vm';

import { CHRDEV_NAME, INIT_PATTERN, MY_MAJOR, MY_MINOR, NPAGES, PROC_ENTRY_NAME } from './lab-constants';
import { PageBuffer } from './page-buffer';

/**
 * What kmmap and vmmap share: the init and exit sequence of the lab (proc entry, chrdev region,
 * memory, SetPageReserved, the page pattern, cdev), and read/write on the 16-page buffer. The
 * subclass says where the memory comes from and how mmap maps it.
 */
export abstract class LabDriver implements ModuleInstance {
  protected buffer: PageBuffer | null = null;
  private cdev: Cdev | null = null;

  constructor(private readonly moduleName: string) {}

  /** Allocates the area and returns its pages (first NPAGES), or null (-ENOMEM). */
  protected abstract allocate(k: KernelServices): Promise<readonly number[] | null>;
  /** Frees what allocate() got. */
  protected abstract freeArea(k: KernelServices): Promise<void>;
  protected abstract mapRequests(vma: DriverVma): MmapResult;
  abstract memory(): DriverMemory | null;

  async init(k: KernelServices): Promise<Errno | null> {
    if (!k.proc.create(PROC_ENTRY_NAME, this.moduleName, labProcShow)) return 'ENOMEM';
    const err = k.chrdev.registerRegion(MY_MAJOR, MY_MINOR, 1, CHRDEV_NAME);
    if (err !== null) {
      k.printk('could not register region');
      k.proc.remove(PROC_ENTRY_NAME);
      return err;
    }
    const pfns = await this.allocate(k);
    if (pfns === null) {
      k.printk('could not allocate memory');
      k.chrdev.unregisterRegion(MY_MAJOR, MY_MINOR, 1);
      k.proc.remove(PROC_ENTRY_NAME);
      return 'ENOMEM';
    }
    const pa = k.ports.pageAllocator;
    this.buffer = new PageBuffer(pfns.slice(0, NPAGES), pa);
    await pa.setPagesReserved(this.buffer.pfns);
    await this.buffer.fillPagePattern(INIT_PATTERN);
    // cdev_add only fails for lack of memory in kobj_map, which is not modelled
    this.cdev = { dev: mkdev(MY_MAJOR, MY_MINOR), count: 1, fops: this.fops, owner: this.moduleName };
    k.chrdev.cdevAdd(this.cdev);
    return null;
  }

  async exit(k: KernelServices): Promise<void> {
    if (this.cdev) k.chrdev.cdevDel(this.cdev);
    this.cdev = null;
    if (this.buffer) await k.ports.pageAllocator.clearPagesReserved(this.buffer.pfns);
    await this.freeArea(k);
    this.buffer = null;
    k.chrdev.unregisterRegion(MY_MAJOR, MY_MINOR, 1);
    k.proc.remove(PROC_ENTRY_NAME);
  }

  protected get area(): PageBuffer {
    if (!this.buffer)
      throw new FailedPreconditionError(
        'module',
        this.moduleName,
        'file operation on a module that is not initialised',
      );
    return this.buffer;
  }

  /** The lab's fops: open and release do nothing; read/write ignore the offset. */
  readonly fops: FileOperations = {
    open: async () => null,
    release: async () => undefined,
    read: (_file: DriverFile, count: number, _pos: FilePos) => this.read(count),
    write: (_file: DriverFile, data: Uint8Array, count: number, _pos: FilePos) => this.write(data, count),
    mmap: async (_file: DriverFile, vma: DriverVma) => this.mapRequests(vma),
  };

  /** my_read: at most NPAGES pages, always from the start of the area; *offset is neither read nor advanced. */
  private async read(count: number): Promise<ReadResult> {
    const size = Math.min(count, NPAGES * PAGE_SIZE);
    return { data: await this.area.read(0, size) };
  }

  /**
   * my_write: at most NPAGES pages; the whole area is zeroed, then the user's bytes copied to its
   * start. A fault part-way (fewer bytes than asked) leaves the copied prefix and returns EFAULT.
   */
  private async write(data: Uint8Array, count: number): Promise<WriteResult> {
    const size = Math.min(count, NPAGES * PAGE_SIZE);
    const image = new Uint8Array(NPAGES * PAGE_SIZE);
    const copied = Math.min(size, data.length);
    image.set(data.subarray(0, copied));
    await this.area.write(0, image);
    return copied < size ? { errno: 'EFAULT' } : { written: size };
  }
}
