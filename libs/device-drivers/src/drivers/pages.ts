import { GFP, MAX_PAGE_ORDER } from '@pagemesh/page-allocator';
import { PAGE_SIZE, type Errno } from '@pagemesh/uapi';

import { type Cdev, mkdev } from '../driver-model';
import { FailedPreconditionError } from '../errors';
import type { DriverFile, FileOperations, FilePos, ReadResult, WriteResult } from '../file';
import {
  type DriverMemory,
  type KernelServices,
  type ModuleDefinition,
  type ModuleInstance,
  parseIntParam,
} from '../module';
import { type DriverVma, type MmapResult, vmaPages } from '../vm';

import { CHRDEV_NAME, INIT_PATTERN, MY_MAJOR, MY_MINOR } from './lab-constants';
import { PageBuffer } from './page-buffer';

/** The default `order` parameter: 16 pages, as many as the lab's NPAGES. */
export const PAGES_DEFAULT_ORDER = 4;
/** alloc_pages flags: GFP_KERNEL | __GFP_ZERO, so nothing a previous owner left is visible through the device. */
export const PAGES_GFP = GFP.KERNEL | GFP.ZERO;

/**
 * A driver in the lab's shape over alloc_pages(GFP_KERNEL | __GFP_ZERO, order): 2^order contiguous
 * pages, reserved and patterned like the lab's, mapped with one remap_pfn_range from
 * page_to_pfn(page) + vm_pgoff. Unlike the lab drivers it honours the file position
 * (simple_read_from_buffer / simple_write_to_buffer) and the mapping offset.
 */
export class PagesDriver implements ModuleInstance {
  private pfn: number | null = null;
  private kaddr: number | null = null;
  private buffer: PageBuffer | null = null;
  private cdev: Cdev | null = null;

  constructor(
    readonly order: number,
    /** Map every stride-th page of a VMA (1: all of it, in one call). */
    readonly stride = 1,
  ) {}

  async init(k: KernelServices): Promise<Errno | null> {
    const err = k.chrdev.registerRegion(MY_MAJOR, MY_MINOR, 1, CHRDEV_NAME);
    if (err !== null) return err;
    const pa = k.ports.pageAllocator;
    const pfn = await pa.allocPages(PAGES_GFP, this.order);
    if (pfn === null) {
      k.chrdev.unregisterRegion(MY_MAJOR, MY_MINOR, 1);
      return 'ENOMEM';
    }
    this.pfn = pfn;
    [this.kaddr] = await pa.pageAddresses([pfn]);
    this.buffer = new PageBuffer(
      Array.from({ length: 2 ** this.order }, (_, i) => pfn + i),
      pa,
    );
    await pa.setPagesReserved(this.buffer.pfns);
    await this.buffer.fillPagePattern(INIT_PATTERN);
    this.cdev = { dev: mkdev(MY_MAJOR, MY_MINOR), count: 1, fops: this.fops, owner: 'pages' };
    k.chrdev.cdevAdd(this.cdev);
    return null;
  }

  async exit(k: KernelServices): Promise<void> {
    if (this.cdev) k.chrdev.cdevDel(this.cdev);
    this.cdev = null;
    const pa = k.ports.pageAllocator;
    if (this.buffer) await pa.clearPagesReserved(this.buffer.pfns);
    if (this.pfn !== null) await pa.freePages(this.pfn, this.order);
    this.pfn = null;
    this.kaddr = null;
    this.buffer = null;
    k.chrdev.unregisterRegion(MY_MAJOR, MY_MINOR, 1);
  }

  memory(): DriverMemory | null {
    if (!this.buffer || this.pfn === null) return null;
    return {
      source: 'alloc_pages',
      allocation: this.pfn,
      allocationArg: this.order,
      kaddr: this.kaddr,
      pfns: this.buffer.pfns,
    };
  }

  private get area(): PageBuffer {
    if (!this.buffer)
      throw new FailedPreconditionError(
        'module',
        'pages',
        'file operation on a module that is not initialised',
      );
    return this.buffer;
  }

  readonly fops: FileOperations = {
    open: async () => null,
    release: async () => undefined,
    read: (_f: DriverFile, count: number, pos: FilePos) => this.read(count, pos),
    write: (_f: DriverFile, data: Uint8Array, count: number, pos: FilePos) => this.write(data, count, pos),
    mmap: async (_f: DriverFile, vma: DriverVma) => this.mmap(vma),
  };

  /** simple_read_from_buffer: 0 at or past the end, else up to the end; advances the position. */
  private async read(count: number, pos: FilePos): Promise<ReadResult> {
    const available = this.area.size;
    if (pos.pos >= available || count === 0) return { data: new Uint8Array(0) };
    const n = Math.min(count, available - pos.pos);
    const data = await this.area.read(pos.pos, n);
    pos.pos += n;
    return { data };
  }

  /**
   * simple_write_to_buffer: 0 at or past the end (nothing written), else up to the end; a fault
   * before the first byte is EFAULT, a later one a short count.
   */
  private async write(data: Uint8Array, count: number, pos: FilePos): Promise<WriteResult> {
    const available = this.area.size;
    if (pos.pos >= available || count === 0) return { written: 0 };
    const n = Math.min(count, available - pos.pos);
    const copied = Math.min(n, data.length);
    if (copied === 0) return { errno: 'EFAULT' };
    await this.area.write(pos.pos, data.subarray(0, copied));
    pos.pos += copied;
    return { written: copied };
  }

  /**
   * EINVAL when [vm_pgoff, vm_pgoff + vma_pages) is not inside the buffer. With stride 1, one
   * remap_pfn_range over the whole VMA; with stride n > 1, one PAGE_SIZE call for every n-th page
   * (the pages in between stay unpopulated: an access there is the vma-manager's SIGBUS).
   */
  private mmap(vma: DriverVma): MmapResult {
    const npages = this.area.pfns.length;
    const pages = vmaPages(vma);
    if (vma.vmPgoff >= npages || pages > npages - vma.vmPgoff) return { errno: 'EINVAL' };
    if (this.stride === 1) {
      return {
        requests: [
          {
            addr: vma.vmStart,
            pfn: this.area.pfns[vma.vmPgoff],
            size: pages * PAGE_SIZE,
            pgprot: vma.vmPageProt,
          },
        ],
      };
    }
    const requests = [];
    for (let i = 0; i < pages; i += this.stride) {
      requests.push({
        addr: vma.vmStart + i * PAGE_SIZE,
        pfn: this.area.pfns[vma.vmPgoff + i],
        size: PAGE_SIZE,
        pgprot: vma.vmPageProt,
      });
    }
    return { requests };
  }
}

export const pagesModule: ModuleDefinition = {
  name: 'pages',
  description: 'mmap driver over alloc_pages memory, mapped with one remap_pfn_range from page_to_pfn',
  params: [
    {
      name: 'order',
      description: `allocation order, 0..${MAX_PAGE_ORDER} (2^order pages)`,
      defaultValue: String(PAGES_DEFAULT_ORDER),
    },
    {
      name: 'stride',
      description:
        'map every stride-th page of a VMA, one page per remap_pfn_range (1: the whole VMA in one call)',
      defaultValue: '1',
    },
  ],
  instantiate(params) {
    const raw = params.order ?? String(PAGES_DEFAULT_ORDER);
    const order = parseIntParam(raw);
    if (order === null) return { errno: 'EINVAL' };
    if (order < 0 || order > MAX_PAGE_ORDER) return { errno: 'EINVAL' };
    const stride = parseIntParam(params.stride ?? '1');
    if (stride === null || stride < 1) return { errno: 'EINVAL' };
    return new PagesDriver(order, stride);
  },
};
