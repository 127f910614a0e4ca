import type { Errno } from '@pagemesh/uapi';

import { CharDevices, type ChrdevRegion, type DeviceNode, majorOf, minorOf, mkdev } from './driver-model';
import { kmmapModule } from './drivers/kmmap';
import { pagesModule } from './drivers/pages';
import { vmmapModule } from './drivers/vmmap';
import { InvalidArgumentError, InvariantViolationError, NotFoundError } from './errors';
import { DriverFile, type ReadResult, type WriteResult, vfsRead, vfsWrite } from './file';
import {
  type DriverMemory,
  type KernelServices,
  type ModuleDefinition,
  type ModuleInfo,
  Modules,
} from './module';
import type { DriverPorts } from './ports';
import { type ProcContext, ProcEntries } from './proc-entry';
import type { DriverVma, MmapResult } from './vm';

/** The modules a DeviceDrivers can load unless told otherwise. */
export const DEFAULT_MODULES: readonly ModuleDefinition[] = [kmmapModule, vmmapModule, pagesModule];
/** Kernel log lines kept (the oldest go first, like the printk ring buffer). */
export const DMESG_LINES = 1024;

export interface DeviceDriversOptions {
  readonly modules?: readonly ModuleDefinition[];
}

/** An open file as the caller sees it. */
export interface FileInfo {
  readonly id: number;
  readonly path: string;
  readonly major: number;
  readonly minor: number;
  readonly flags: number;
  /** FMODE_READ | FMODE_WRITE bits. */
  readonly fMode: number;
  readonly pos: number;
  /** f_count: the references (fd, VMAs) holding the file open. */
  readonly count: number;
  /** The module the file pins. */
  readonly module: string;
}

/** A driver's memory and the PG_reserved bit of each of its pages. */
export interface DriverMemoryView extends DriverMemory {
  readonly module: string;
  readonly reserved: readonly boolean[];
}

export type OpenResult = { readonly file: FileInfo } | { readonly errno: Errno };

/**
 * The device-drivers layer: modules, character devices and their nodes, open files and their
 * file_operations, /proc entries, and each driver's memory. Mutating calls run one at a time in
 * call order; each validates its request first, so a typed error means nothing changed.
 */
export class DeviceDrivers {
  private readonly chrdev = new CharDevices();
  private readonly proc = new ProcEntries();
  private readonly modules: Modules;
  private readonly files = new Map<number, DriverFile>();
  private readonly log: string[] = [];
  private nextFileId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly kernel: KernelServices;

  private constructor(ports: DriverPorts, arch: KernelServices['arch'], options: DeviceDriversOptions) {
    this.modules = new Modules(options.modules ?? DEFAULT_MODULES);
    this.kernel = {
      ports,
      arch,
      chrdev: this.chrdev,
      proc: this.proc,
      printk: (line) => this.printk(line),
    };
  }

  static async create(ports: DriverPorts, options: DeviceDriversOptions = {}): Promise<DeviceDrivers> {
    return new DeviceDrivers(ports, await ports.mmu.arch(), options);
  }

  // ---------------------------------------------------------------------------------------------
  // Modules

  listModules(): ModuleInfo[] {
    return this.modules.list();
  }

  /** insmod name [param=value ...]: EEXIST when loaded, EINVAL for a bad parameter, or init's errno. */
  loadModule(name: string, params: Readonly<Record<string, string>> = {}): Promise<{ errno: Errno | null }> {
    return this.serialize(async () => ({ errno: await this.modules.load(name, params, this.kernel) }));
  }

  /** rmmod name: ENOENT when not loaded, EAGAIN (-EWOULDBLOCK) while one of its files is open. */
  unloadModule(name: string): Promise<{ errno: Errno | null }> {
    return this.serialize(async () => ({ errno: await this.modules.unload(name, this.kernel) }));
  }

  // ---------------------------------------------------------------------------------------------
  // Device numbers and nodes

  chrdevRegions(): ChrdevRegion[] {
    return this.chrdev.regionList();
  }

  /** The "Character devices:" section of /proc/devices. */
  procDevices(): string {
    return this.chrdev.procDevices();
  }

  /** mknod(path, S_IFCHR, makedev(major, minor)): EEXIST when the path exists. */
  mknod(path: string, major: number, minor: number): Promise<{ errno: Errno | null }> {
    return this.serialize(async () => ({ errno: this.chrdev.mknod(path, major, minor) }));
  }

  /** unlink(path): ENOENT when absent. Files already open stay usable. */
  unlink(path: string): Promise<{ errno: Errno | null }> {
    return this.serialize(async () => ({ errno: this.chrdev.unlink(path) }));
  }

  deviceNodes(): DeviceNode[] {
    return this.chrdev.nodeList();
  }

  // ---------------------------------------------------------------------------------------------
  // Files

  /**
   * open(path, flags) of a character device node (chrdev_open): ENOENT without the node, ENXIO
   * when no cdev serves its number (or its module is going), else the driver's open. The file
   * pins the module until its last reference is put.
   */
  open(path: string, flags: number): Promise<OpenResult> {
    return this.serialize(async () => {
      if (!Number.isInteger(flags) || flags < 0)
        throw new InvalidArgumentError('flags', flags, 'must be a non-negative integer of O_* bits');
      const node = this.chrdev.node(path);
      if (!node) return { errno: 'ENOENT' };
      const cdev = this.chrdev.lookup(mkdev(node.major, node.minor));
      if (!cdev || !this.modules.get(cdev.owner)) return { errno: 'ENXIO' };
      const file = new DriverFile(
        this.nextFileId,
        path,
        node.major,
        node.minor,
        flags,
        cdev.fops,
        cdev.owner,
      );
      if (cdev.fops.open) {
        let err: Errno | null;
        try {
          err = await cdev.fops.open(file);
        } catch (e) {
          this.modules.put(cdev.owner);
          throw e;
        }
        if (err !== null) {
          this.modules.put(cdev.owner);
          return { errno: err };
        }
      }
      this.nextFileId++;
      this.files.set(file.id, file);
      return { file: info(file) };
    });
  }

  /** get_file(): one more reference (a dup'd fd, a VMA mapping the file). */
  getFile(fileId: number): Promise<FileInfo> {
    return this.serialize(async () => {
      const f = this.file(fileId);
      f.count++;
      return info(f);
    });
  }

  /**
   * fput(): drops one reference; the last one calls the driver's release and unpins the module.
   * Returns whether the file was released.
   */
  fput(fileId: number): Promise<{ released: boolean }> {
    return this.serialize(async () => {
      const f = this.file(fileId);
      if (--f.count > 0) return { released: false };
      this.files.delete(f.id);
      try {
        if (f.fops.release) await f.fops.release(f);
      } finally {
        this.modules.put(f.owner);
      }
      return { released: true };
    });
  }

  fileInfo(fileId: number): FileInfo {
    return info(this.file(fileId));
  }

  openFiles(): FileInfo[] {
    return [...this.files.values()].map(info);
  }

  /**
   * read(fd, buf, count), or pread(fd, buf, count, offset) with `offset`. The bytes are what the
   * driver copied to the user; the caller writes them to user memory (EFAULT there is the caller's).
   */
  read(fileId: number, count: number, offset?: number): Promise<ReadResult> {
    return this.serialize(async () => {
      const f = this.file(fileId);
      checkCount(count);
      if (offset !== undefined) checkOffset(offset);
      const pos = { pos: offset ?? f.fPos };
      const r = await vfsRead(f, count, pos);
      if (offset === undefined && 'data' in r) f.fPos = pos.pos;
      return r;
    });
  }

  /**
   * write(fd, buf, count), or pwrite with `offset`. `data` is what the caller could copy from user
   * memory: shorter than `count` (default data.length) means copy_from_user faulted after it.
   */
  write(
    fileId: number,
    data: Uint8Array,
    count: number = data?.length,
    offset?: number,
  ): Promise<WriteResult> {
    return this.serialize(async () => {
      const f = this.file(fileId);
      if (!(data instanceof Uint8Array))
        throw new InvalidArgumentError('data', typeof data, 'must be a Uint8Array');
      checkCount(count);
      if (offset !== undefined) checkOffset(offset);
      const pos = { pos: offset ?? f.fPos };
      const r = await vfsWrite(f, data, count, pos);
      if (offset === undefined && 'written' in r) f.fPos = pos.pos;
      return r;
    });
  }

  /**
   * The driver's mmap for a VMA the vma-manager has set up: the remap_pfn_range calls it makes, in
   * order, or its errno (ENODEV when the driver has no mmap). Nothing is mapped here; the caller
   * applies the requests (applyRemapRequests) and keeps the file referenced while the VMA exists.
   */
  mmap(fileId: number, vma: DriverVma): Promise<MmapResult> {
    return this.serialize(async () => {
      const f = this.file(fileId);
      checkVma(vma);
      if (!f.fops.mmap) return { errno: 'ENODEV' };
      return f.fops.mmap(f, vma);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // /proc and the kernel log

  procEntries(): string[] {
    return this.proc.names();
  }

  /** Reads /proc/<name> for the process described by `ctx`: ENOENT when no module created it. */
  readProc(
    name: string,
    ctx: ProcContext,
    count?: number,
    pos?: number,
  ): Promise<{ readonly text: string } | { readonly errno: Errno }> {
    return this.serialize(async () => this.proc.read(name, ctx, (l) => this.printk(l), count, pos));
  }

  /** The kernel log lines drivers printed (pr_info, pr_err), oldest first. */
  dmesg(): readonly string[] {
    return [...this.log];
  }

  // ---------------------------------------------------------------------------------------------
  // Driver memory

  /** The memory of a loaded driver with the PG_reserved bit of each page; null when not loaded. */
  driverMemory(name: string): Promise<DriverMemoryView | null> {
    return this.serialize(async () => {
      this.modules.definition(name);
      const mem = this.modules.instance(name)?.memory() ?? null;
      if (!mem) return null;
      const reserved = await this.kernel.ports.pageAllocator.testPagesReserved(mem.pfns);
      return { ...mem, pfns: [...mem.pfns], module: name, reserved };
    });
  }

  /**
   * Checks the layer's own bookkeeping; throws InvariantViolationError. Each loaded module's
   * refcount is the number of open files it serves, every open file belongs to a loaded module
   * and has references, and every live cdev belongs to a loaded module.
   */
  checkInvariants(): void {
    const perModule = new Map<string, number>();
    for (const f of this.files.values()) {
      if (f.count < 1) throw new InvariantViolationError(`file ${f.id} is open with f_count ${f.count}`);
      if (!this.modules.isLoaded(f.owner))
        throw new InvariantViolationError(`file ${f.id} pins module ${f.owner}, which is not loaded`);
      perModule.set(f.owner, (perModule.get(f.owner) ?? 0) + 1);
    }
    for (const m of this.modules.list()) {
      if (m.refcount !== (perModule.get(m.name) ?? 0))
        throw new InvariantViolationError(
          `module ${m.name} has refcount ${m.refcount} but ${perModule.get(m.name) ?? 0} open files`,
        );
    }
    for (const c of this.chrdev.cdevList()) {
      if (!this.modules.isLoaded(c.owner))
        throw new InvariantViolationError(
          `cdev ${majorOf(c.dev)}:${minorOf(c.dev)} belongs to unloaded ${c.owner}`,
        );
    }
  }

  // ---------------------------------------------------------------------------------------------

  private file(fileId: number): DriverFile {
    const f = this.files.get(fileId);
    if (!f) throw new NotFoundError('fileId', fileId, 'no open file with this id');
    return f;
  }

  private printk(line: string): void {
    this.log.push(line);
    if (this.log.length > DMESG_LINES) this.log.shift();
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function info(f: DriverFile): FileInfo {
  return {
    id: f.id,
    path: f.path,
    major: f.major,
    minor: f.minor,
    flags: f.flags,
    fMode: f.fMode,
    pos: f.fPos,
    count: f.count,
    module: f.owner,
  };
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new InvalidArgumentError('count', count, 'must be a non-negative integer (size_t)');
}

/** A negative offset is Linux's EINVAL (rw_verify_area), so only a non-integer is malformed. */
function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset))
    throw new InvalidArgumentError('offset', offset, 'must be an integer (loff_t)');
}

function checkVma(vma: DriverVma): void {
  const ok =
    typeof vma === 'object' &&
    vma !== null &&
    Number.isSafeInteger(vma.vmStart) &&
    Number.isSafeInteger(vma.vmEnd) &&
    vma.vmStart >= 0 &&
    vma.vmStart < vma.vmEnd &&
    vma.vmStart % 4096 === 0 &&
    vma.vmEnd % 4096 === 0 &&
    vma.vmEnd <= 2 ** 47;
  if (!ok)
    throw new InvalidArgumentError('vma', vma, 'vmStart < vmEnd must be page-aligned user addresses (va48)');
  if (!Number.isSafeInteger(vma.vmFlags) || vma.vmFlags < 0)
    throw new InvalidArgumentError('vma.vmFlags', vma.vmFlags, 'must be a non-negative integer of VM_* bits');
  if (!Number.isSafeInteger(vma.vmPgoff) || vma.vmPgoff < 0)
    throw new InvalidArgumentError('vma.vmPgoff', vma.vmPgoff, 'must be a non-negative integer');
  const p = vma.vmPageProt;
  if (typeof p !== 'object' || p === null || !Number.isInteger(p.lo) || !Number.isInteger(p.hi))
    throw new InvalidArgumentError('vma.vmPageProt', p, 'must be { lo, hi } PTE protection words');
}
