import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  INIT_PATTERN,
  MMAP_DEV,
  MY_MAJOR,
  MY_MINOR,
  NPAGES,
  O_RDWR,
  PROC_ENTRY_NAME,
  WRITE_PATTERN,
} from '@pagemesh/device-drivers';
import { pgprotToWire } from '@pagemesh/device-drivers-rpc';
import { PROT_X86_64 } from '@pagemesh/mmu';
import { bootMachine } from '@pagemesh/page-allocator';
import {
  AccessOp,
  DeviceDriversServiceClient,
  DriverMemorySource,
  Errno,
  MmuServiceClient,
  PageAllocatorServiceClient,
  VmFlag,
  type Access,
  type StreamAccessesResponse,
  type Vma,
} from '@pagemesh/proto';
import {
  checkHealth,
  ClientPool,
  parseServiceConfig,
  promisifyUnary,
  startService,
  type RunningService,
  ephemeralServiceConfig,
} from '@pagemesh/service-kit';
import { buildDeviceDriversService, FLAGS } from './service';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';

const PAGE = 4096n;
const DEV_VA = 0x7f5500000000n;
const SHARED_READ_ONLY = [
  VmFlag.VM_FLAG_READ,
  VmFlag.VM_FLAG_SHARED,
  VmFlag.VM_FLAG_MAYREAD,
  VmFlag.VM_FLAG_MAYWRITE,
  VmFlag.VM_FLAG_MAYEXEC,
  VmFlag.VM_FLAG_MAYSHARE,
];
const PRIVATE_WRITABLE = [
  VmFlag.VM_FLAG_READ,
  VmFlag.VM_FLAG_WRITE,
  VmFlag.VM_FLAG_MAYREAD,
  VmFlag.VM_FLAG_MAYWRITE,
  VmFlag.VM_FLAG_MAYEXEC,
];
/** vm_get_page_prot on x86_64: PAGE_READONLY for a shared read-only VMA, PAGE_COPY (the same bits) for private. */
const PAGE_READONLY = pgprotToWire(PROT_X86_64.PAGE_READONLY);

function vma(pages: number, vmFlags: VmFlag[], start = DEV_VA): Vma {
  return { vmStart: start, vmEnd: start + BigInt(pages) * PAGE, vmFlags, vmPgoff: 0n, backing: undefined };
}

async function refused(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: ServiceError) => e,
  );
}

describe('device-drivers service over gRPC, against real page-allocator and mmu services', () => {
  let pageAllocator: RunningService;
  let mmu: RunningService;
  let drivers: RunningService;
  let pool: ClientPool;
  let dd: DeviceDriversServiceClient;
  let mmuClient: MmuServiceClient;
  let paClient: PageAllocatorServiceClient;

  beforeEach(async () => {
    pool = new ClientPool();
    pageAllocator = await startService(
      pageAllocatorServiceOptions(
        bootMachine({ memBytes: 64 * 2 ** 20 }),
        ephemeralServiceConfig('page-allocator'),
      ),
    );
    mmu = await startService(
      mmuServiceOptions(
        await bootMmuOverGrpc(pageAllocator.address, pool, { cpus: 2 }),
        ephemeralServiceConfig('mmu'),
      ),
    );
    const config = parseServiceConfig('device-drivers', {
      argv: [
        '--port=0',
        '--metrics-port=off',
        `--page-allocator-address=${pageAllocator.address}`,
        `--mmu-address=${mmu.address}`,
      ],
      env: {},
      extraFlags: FLAGS,
    });
    drivers = await startService(await buildDeviceDriversService(config, pool));
    dd = new DeviceDriversServiceClient(drivers.address, credentials.createInsecure());
    mmuClient = new MmuServiceClient(mmu.address, credentials.createInsecure());
    paClient = new PageAllocatorServiceClient(pageAllocator.address, credentials.createInsecure());
  });

  afterEach(async () => {
    dd.close();
    mmuClient.close();
    paClient.close();
    pool.close();
    await drivers.shutdown();
    await mmu.shutdown();
    await pageAllocator.shutdown();
  });

  const call = <K extends keyof DeviceDriversServiceClient & string>(method: K) => promisifyUnary(dd, method);
  const freePages = async () => (await promisifyUnary(paClient, 'getMachine')({})).freePages;

  /** insmod, mknod /dev/mymmap c 42 0, open O_RDWR: the file id. */
  async function openDevice(module: string): Promise<bigint> {
    expect((await call('loadModule')({ name: module, params: {} })).errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect((await call('mknod')({ path: MMAP_DEV, major: MY_MAJOR, minor: MY_MINOR })).errno).toBe(
      Errno.ERRNO_UNSPECIFIED,
    );
    const opened = await call('open')({ path: MMAP_DEV, flags: O_RDWR });
    expect(opened.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    return (opened.file as { id: bigint }).id;
  }

  async function accesses(batch: Access[]): Promise<StreamAccessesResponse> {
    const stream = mmuClient.streamAccesses();
    const out: StreamAccessesResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: StreamAccessesResponse) => out.push(r));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({ batchId: 1n, accesses: batch });
    stream.end();
    await done;
    return out[0];
  }

  /** Bytes 0..3 of every page of the buffer. */
  const pageStarts = (data: Uint8Array, pages = NPAGES) =>
    Array.from({ length: pages }, (_, i) => [...data.subarray(i * 4096, i * 4096 + 4)]);

  it('answers health and lists the lab modules', async () => {
    expect(await checkHealth(drivers.address, 'pagemesh.v1.DeviceDriversService')).toBe('SERVING');
    const { modules } = await call('listModules')({});
    expect(modules.map((m) => [m.name, m.loaded])).toEqual([
      ['kmmap', false],
      ['vmmap', false],
      ['pages', false],
    ]);
  });

  it('kmmap: read, write, mmap through the real mmu, /proc, EAGAIN while open, and no leak', async () => {
    const freeBefore = await freePages();
    const fileId = await openDevice('kmmap');

    const devices = await call('listDevices')({});
    expect(devices.nodes).toEqual([{ path: MMAP_DEV, major: MY_MAJOR, minor: MY_MINOR }]);
    expect(devices.regions).toEqual([{ major: MY_MAJOR, baseminor: 0, minorct: 1, name: 'mymap' }]);
    expect(devices.procDevices).toMatch(/^ 42 mymap$/m);

    // read(2): the init pattern at each page start
    const first = await call('read')({ fileId, count: BigInt(NPAGES) * PAGE });
    expect(first.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(first.data.length).toBe(NPAGES * 4096);
    expect(pageStarts(first.data)).toEqual(Array(NPAGES).fill([...INIT_PATTERN]));

    // write(2) of mmap-test's pattern, read back
    const image = Buffer.alloc(NPAGES * 4096);
    for (let i = 0; i < NPAGES; i++) image.set(WRITE_PATTERN, i * 4096);
    expect(await call('write')({ fileId, data: image })).toEqual({
      written: BigInt(image.length),
      errno: Errno.ERRNO_UNSPECIFIED,
    });
    const back = await call('read')({ fileId, count: BigInt(image.length), offset: 0n });
    expect(pageStarts(back.data)).toEqual(Array(NPAGES).fill([...WRITE_PATTERN]));

    // the driver's memory: 16 reserved pages of a kmalloc'd area
    const memory = await call('getDriverMemory')({ module: 'kmmap' });
    expect(memory).toMatchObject({
      loaded: true,
      source: DriverMemorySource.DRIVER_MEMORY_SOURCE_KMALLOC,
      allocationArg: BigInt((NPAGES + 2) * 4096),
    });
    expect(memory.pfns).toHaveLength(NPAGES);
    expect(memory.reserved).toEqual(Array(NPAGES).fill(true));
    expect(memory.allocation >= 0xffff888000000000n).toBe(true);
    expect(memory.kaddr).toBe(0xffff888000000000n + memory.pfns[0] * PAGE);

    // mmap of a 16-page shared read-only VMA: one remap over the whole VMA, the driver's pages
    const deviceVma = vma(NPAGES, SHARED_READ_ONLY);
    const mapped = await call('mmap')({ fileId, vma: deviceVma, vmPageProt: PAGE_READONLY });
    expect(mapped.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(mapped.requests).toEqual([
      {
        addressSpaceId: 0n,
        vma: deviceVma,
        addr: DEV_VA,
        pfn: memory.pfns[0],
        size: BigInt(NPAGES) * PAGE,
        pgprot: PAGE_READONLY,
      },
    ]);
    expect(memory.pfns).toEqual(memory.pfns.map((_, i) => memory.pfns[0] + BigInt(i)));
    // the VMA holds a reference to the file
    expect((await call('getFile')({ fileIds: [fileId] })).files[0].count).toBe(2);

    // applied through the mmu, user reads through the mapping see the driver's memory
    const { addressSpaceId } = await promisifyUnary(mmuClient, 'createAddressSpace')({});
    const remap = await promisifyUnary(mmuClient, 'remapPfnRange')({ ...mapped.requests[0], addressSpaceId });
    expect(remap.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(remap.vmFlags).toEqual(
      expect.arrayContaining([
        VmFlag.VM_FLAG_IO,
        VmFlag.VM_FLAG_PFNMAP,
        VmFlag.VM_FLAG_DONTEXPAND,
        VmFlag.VM_FLAG_DONTDUMP,
      ]),
    );
    await promisifyUnary(mmuClient, 'switchCpu')({ cpu: 0, addressSpaceId });
    const reads = await accesses([
      ...Array.from({ length: NPAGES }, (_, i) => ({
        cpu: 0,
        address: DEV_VA + BigInt(i) * PAGE,
        op: AccessOp.ACCESS_OP_READ,
        user: true,
        length: 4,
        data: Buffer.alloc(0),
      })),
      // read-only: a user write faults (P | W | U)
      {
        cpu: 0,
        address: DEV_VA,
        op: AccessOp.ACCESS_OP_WRITE,
        user: true,
        length: 0,
        data: Buffer.from([1]),
      },
    ]);
    expect(reads.results.slice(0, NPAGES).map((r) => r.result)).toEqual(
      Array(NPAGES).fill({ $case: 'data', value: Buffer.from(WRITE_PATTERN) }),
    );
    expect(reads.results[NPAGES].result).toEqual({
      $case: 'pageFault',
      value: { address: DEV_VA, errorCode: 7 },
    });

    // more than NPAGES pages: the driver's -EIO, nothing to map
    expect(
      await call('mmap')({ fileId, vma: vma(NPAGES + 1, SHARED_READ_ONLY), vmPageProt: PAGE_READONLY }),
    ).toEqual({
      requests: [],
      errno: Errno.ERRNO_EIO,
    });

    // /proc/my-proc-entry with the caller's VMAs; the driver's pr_info lines land in dmesg
    const proc = await call('readProc')({
      name: PROC_ENTRY_NAME,
      pid: 42,
      comm: 'mmap-test',
      vmas: [deviceVma],
      pos: 0n,
    });
    expect(proc).toEqual({ text: `${NPAGES * 4096} mmap-test\n`, errno: Errno.ERRNO_UNSPECIFIED });
    expect((await call('getKernelLog')({})).lines).toContain('7f5500000000 7f5500010000');
    expect((await call('readProc')({ name: 'nope', pid: 1, comm: 'x', vmas: [], pos: 0n })).errno).toBe(
      Errno.ERRNO_ENOENT,
    );

    // rmmod while the file is open: delete_module's EWOULDBLOCK
    expect((await call('unloadModule')({ name: 'kmmap' })).errno).toBe(Errno.ERRNO_EAGAIN);

    // munmap, close: the last put releases the file; then rmmod works and every page is back
    await promisifyUnary(mmuClient, 'unmapPages')({ addressSpaceId, address: DEV_VA, count: NPAGES });
    await promisifyUnary(mmuClient, 'switchCpu')({ cpu: 0, addressSpaceId: 0n });
    await promisifyUnary(mmuClient, 'destroyAddressSpace')({ addressSpaceId });
    expect((await call('putFile')({ fileIds: [fileId, fileId] })).released).toEqual([false, true]);
    expect((await call('unlink')({ path: MMAP_DEV })).errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect((await call('unloadModule')({ name: 'kmmap' })).errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect((await call('getDriverMemory')({ module: 'kmmap' })).loaded).toBe(false);
    expect(await freePages()).toBe(freeBefore);
  });

  it('refuses malformed requests with the right status, changing nothing', async () => {
    const fileId = await openDevice('kmmap');
    const freeBefore = await freePages();

    const unknownRead = await refused(call('read')({ fileId: 999n, count: 4n }));
    expect(unknownRead.code).toBe(status.NOT_FOUND);
    const unknownMmap = await refused(
      call('mmap')({ fileId: 999n, vma: vma(1, SHARED_READ_ONLY), vmPageProt: PAGE_READONLY }),
    );
    expect(unknownMmap.code).toBe(status.NOT_FOUND);

    const nonCanonical = await refused(
      call('mmap')({ fileId, vma: vma(1, SHARED_READ_ONLY, 0x0000800000000000n), vmPageProt: PAGE_READONLY }),
    );
    expect(nonCanonical.code).toBe(status.INVALID_ARGUMENT);
    expect(nonCanonical.details).toMatch(/vma\.vm_start/);

    // a batch naming an unknown id takes no reference; one putting more than it holds drops none
    expect((await refused(call('getFile')({ fileIds: [fileId, 999n] }))).code).toBe(status.NOT_FOUND);
    expect((await refused(call('putFile')({ fileIds: [fileId, fileId] }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    expect((await refused(call('loadModule')({ name: 'nope', params: {} }))).code).toBe(status.NOT_FOUND);

    const { modules } = await call('listModules')({});
    expect(modules.find((m) => m.name === 'kmmap')?.refcount).toBe(1);
    expect(await freePages()).toBe(freeBefore);
    // the file still holds exactly its one reference: one put releases it
    expect((await call('putFile')({ fileIds: [fileId] })).released).toEqual([true]);
    expect((await call('unloadModule')({ name: 'kmmap' })).errno).toBe(Errno.ERRNO_UNSPECIFIED);
  });

  it('pages with a module parameter, and the errnos of open, read and write as values', async () => {
    expect((await call('open')({ path: MMAP_DEV, flags: O_RDWR })).errno).toBe(Errno.ERRNO_ENOENT);
    expect((await call('loadModule')({ name: 'pages', params: { order: 'x' } })).errno).toBe(
      Errno.ERRNO_EINVAL,
    );
    const fileId = await openDevice('pages');
    expect((await call('loadModule')({ name: 'pages', params: {} })).errno).toBe(Errno.ERRNO_EEXIST);
    // the default order is 4: 16 pages from alloc_pages, named by the first PFN
    const memory = await call('getDriverMemory')({ module: 'pages' });
    expect(memory).toMatchObject({
      loaded: true,
      source: DriverMemorySource.DRIVER_MEMORY_SOURCE_ALLOC_PAGES,
      allocation: memory.pfns[0],
      allocationArg: 4n,
    });
    expect(memory.pfns).toHaveLength(16);

    // copy_from_user stopped after 2 of 8 bytes: a short count; before the first byte: EFAULT
    expect(await call('write')({ fileId, data: Buffer.from([1, 2]), count: 8n })).toEqual({
      written: 2n,
      errno: Errno.ERRNO_UNSPECIFIED,
    });
    expect(await call('write')({ fileId, data: Buffer.alloc(0), count: 8n })).toEqual({
      written: 0n,
      errno: Errno.ERRNO_EFAULT,
    });
    expect((await call('read')({ fileId, count: 2n, offset: 0n })).data).toEqual(Buffer.from([1, 2]));
    expect((await call('read')({ fileId, count: 4n, offset: -1n })).errno).toBe(Errno.ERRNO_EINVAL);
    const writeOnly = await call('open')({ path: MMAP_DEV, flags: 1 });
    const woId = writeOnly.file?.id ?? 0n;
    expect((await call('read')({ fileId: woId, count: 4n })).errno).toBe(Errno.ERRNO_EBADF);
    expect((await call('listModules')({})).modules.find((m) => m.name === 'pages')?.refcount).toBe(2);

    expect((await call('putFile')({ fileIds: [fileId, woId] })).released).toEqual([true, true]);
    expect((await call('unloadModule')({ name: 'pages' })).errno).toBe(Errno.ERRNO_UNSPECIFIED);
    // the node stays, but no driver serves 42:0 any more
    expect((await call('open')({ path: MMAP_DEV, flags: O_RDWR })).errno).toBe(Errno.ERRNO_ENXIO);
    expect((await call('unloadModule')({ name: 'pages' })).errno).toBe(Errno.ERRNO_ENOENT);
  });

  it('vmmap: page-by-page PAGE_SHARED requests; a private writable mapping gets EINVAL from remap_pfn_range', async () => {
    const fileId = await openDevice('vmmap');
    const memory = await call('getDriverMemory')({ module: 'vmmap' });
    expect(memory).toMatchObject({ loaded: true, source: DriverMemorySource.DRIVER_MEMORY_SOURCE_VMALLOC });
    expect(memory.reserved).toEqual(Array(NPAGES).fill(true));
    expect((memory.kaddr ?? 0n) >= 0xffffc90000000000n).toBe(true);

    const privateVma = vma(2, PRIVATE_WRITABLE);
    const mapped = await call('mmap')({ fileId, vma: privateVma, vmPageProt: PAGE_READONLY });
    expect(mapped.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    const PAGE_SHARED = pgprotToWire(PROT_X86_64.PAGE_SHARED);
    expect(mapped.requests.map((r) => [r.addr, r.pfn, r.size, r.pgprot])).toEqual([
      [DEV_VA, memory.pfns[0], PAGE, PAGE_SHARED],
      [DEV_VA + PAGE, memory.pfns[1], PAGE, PAGE_SHARED],
    ]);

    // is_cow_mapping: a private writable VMA must be remapped whole, so the first page-sized call fails
    const { addressSpaceId } = await promisifyUnary(mmuClient, 'createAddressSpace')({});
    const remap = await promisifyUnary(mmuClient, 'remapPfnRange')({ ...mapped.requests[0], addressSpaceId });
    expect(remap.errno).toBe(Errno.ERRNO_EINVAL);
    const pagemap = await promisifyUnary(mmuClient, 'pagemap')({ addressSpaceId, address: DEV_VA, count: 2 });
    expect(pagemap.entries.map((e) => e.present)).toEqual([false, false]);

    await promisifyUnary(mmuClient, 'destroyAddressSpace')({ addressSpaceId });
    expect((await call('putFile')({ fileIds: [fileId] })).released).toEqual([true]);
    expect((await call('unloadModule')({ name: 'vmmap' })).errno).toBe(Errno.ERRNO_UNSPECIFIED);
  });
});
