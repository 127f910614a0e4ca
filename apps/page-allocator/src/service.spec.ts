import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { bootMachine, GFP } from '@pagemesh/page-allocator';
import {
  PageAllocatorServiceClient,
  PageRefOp,
  ProcFile,
  Zone,
  Errno,
  type PageAllocatorServiceClient as Client,
  AllocPagesRequest,
  FreePagesRequest,
  PageState,
  PageType,
  PageUse,
} from '@pagemesh/proto';
import {
  checkHealth,
  parseServiceConfig,
  promisifyUnary,
  startService,
  type RunningService,
} from '@pagemesh/service-kit';
import { buildPageAllocatorService } from './service';
import { parseSize, machineFromFlags } from './machine-flags';

const MiB = 2 ** 20;

async function start(argv: string[] = ['--mem=64M']): Promise<{ service: RunningService; client: Client }> {
  const config = parseServiceConfig('page-allocator', {
    argv: ['--port=0', '--metrics-port=off', ...argv],
    env: {},
    extraFlags: ['arch', 'mem', 'min-free-kbytes'],
  });
  const service = await startService(buildPageAllocatorService(config));
  const client = new PageAllocatorServiceClient(service.address, credentials.createInsecure());
  return { service, client };
}

function call<K extends keyof Client & string>(client: Client, method: K) {
  return promisifyUnary(client, method);
}

describe('page-allocator service over gRPC', () => {
  let service: RunningService;
  let client: Client;

  beforeEach(async () => {
    ({ service, client } = await start());
  });

  afterEach(async () => {
    client.close();
    await service.shutdown();
  });

  it('answers health and describes the machine it booted', async () => {
    expect(await checkHealth(service.address, 'pagemesh.v1.PageAllocatorService')).toBe('SERVING');
    const machine = await call(client, 'getMachine')({});
    expect(machine.memBytes).toBe(BigInt(64 * MiB));
    expect(machine.pageOffset).toBe(0xffff888000000000n);
    expect(machine.zones.map((z) => z.zone)).toEqual([
      Zone.ZONE_DMA,
      Zone.ZONE_DMA32,
      Zone.ZONE_NORMAL,
      Zone.ZONE_MOVABLE,
    ]);
    expect(machine.totalPages).toBe(BigInt((64 * MiB) / 4096));
  });

  it("answers each page's state and the pages allocated per zone (pgalloc)", async () => {
    const before = await call(client, 'getMachine')({});
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 1 }));
    const [page] = (await call(client, 'getPages')({ startPfn: pfns[0], count: 1 })).pages;
    expect(page.state).toBe(PageState.PAGE_STATE_ALLOCATED);
    // PFN 0 is reserved (the BIOS page); the last PFN is free
    const [first] = (await call(client, 'getPages')({ startPfn: 0n, count: 1 })).pages;
    expect(first.state).toBe(PageState.PAGE_STATE_RESERVED);
    await call(client, 'freePages')(FreePagesRequest.fromPartial({ pfns }));
    const [freed] = (await call(client, 'getPages')({ startPfn: pfns[0], count: 1 })).pages;
    expect(freed.state).toBe(PageState.PAGE_STATE_FREE);
    const after = await call(client, 'getMachine')({});
    const allocated = (m: typeof after) => m.zones.reduce((sum, z) => sum + z.pagesAllocated, 0n);
    expect(allocated(after)).toBe(allocated(before) + 1n);
  });

  it('allocates, reports and frees pages in batches, and buddyinfo comes back', async () => {
    const before = (await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_BUDDYINFO })).text;
    const alloc = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 0, count: 64 }));
    expect(alloc.pfns).toHaveLength(64);
    expect(alloc.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    const pages = await call(client, 'getPages')({ startPfn: alloc.pfns[0], count: 1 });
    expect(pages.pages[0].refcount).toBe(1);
    await call(client, 'changePageRefs')({ op: PageRefOp.PAGE_REF_OP_GET, pfns: alloc.pfns.slice(0, 4) });
    await call(client, 'changePageRefs')({ op: PageRefOp.PAGE_REF_OP_PUT, pfns: alloc.pfns.slice(0, 4) });
    await call(client, 'freePages')(FreePagesRequest.fromPartial({ pfns: alloc.pfns, order: 0 }));
    expect((await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_BUDDYINFO })).text).toBe(before);
  });

  it('reads back what it wrote to RAM', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 0, count: 1 }));
    const paddr = pfns[0] * 4096n + 16n;
    await call(client, 'writePhys')({ writes: [{ paddr, data: Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]) }] });
    const read = await call(client, 'readPhys')({ ranges: [{ paddr, length: 4 }] });
    expect([...read.data[0]]).toEqual([0xaa, 0xbb, 0xcc, 0xdd]);
  });

  it('kmallocs in the direct map, kfrees, and refuses a pointer that is not live', async () => {
    const small = await call(client, 'kmalloc')({ size: 100n, gfpMask: GFP.KERNEL });
    expect(small.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(small.ksize).toBe(128n);
    expect(small.addr >= 0xffff888000000000n).toBe(true);
    const lab = await call(client, 'kmalloc')({ size: 73728n, gfpMask: GFP.KERNEL });
    expect(lab.ksize).toBe(32n * 4096n);
    expect((await call(client, 'kmalloc')({ size: 0n, gfpMask: GFP.KERNEL })).addr).toBe(16n);
    const slabinfo = (await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_SLABINFO })).text;
    expect(slabinfo).toMatch(/^kmalloc-128 /m);
    await call(client, 'kfree')({ addr: small.addr });
    await call(client, 'kfree')({ addr: lab.addr });
    const err = (await call(
      client,
      'kfree',
    )({ addr: small.addr }).catch((e: ServiceError) => e)) as ServiceError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/addr/);
    const meminfo = (await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_MEMINFO })).text;
    expect(meminfo).toMatch(/^MemTotal: +\d+ kB$/m);
  });

  it('accounts page-table and vmalloc pages as Linux does, and undoes it on free', async () => {
    const meminfo = async () =>
      (await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_MEMINFO })).text;
    const kb = (text: string, key: string) => Number(new RegExp(`^${key}: +(\\d+) kB$`, 'm').exec(text)?.[1]);
    const before = await meminfo();
    const tables = await call(
      client,
      'allocPages',
    )(
      AllocPagesRequest.fromPartial({
        gfpMask: GFP.KERNEL | GFP.ZERO,
        count: 3,
        use: PageUse.PAGE_USE_PAGE_TABLE,
        allOrNothing: true,
      }),
    );
    const vm = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 2, use: PageUse.PAGE_USE_VMALLOC }));
    const during = await meminfo();
    expect(kb(during, 'PageTables') - kb(before, 'PageTables')).toBe(12);
    expect(kb(during, 'VmallocUsed') - kb(before, 'VmallocUsed')).toBe(8);
    const [page] = (await call(client, 'getPages')({ startPfn: tables.pfns[0], count: 1 })).pages;
    expect(page.pageType).toBe(PageType.PAGE_TYPE_TABLE);
    const notTables = (await call(
      client,
      'freePages',
    )(FreePagesRequest.fromPartial({ pfns: vm.pfns, use: PageUse.PAGE_USE_PAGE_TABLE })).catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect(notTables.code).toBe(status.FAILED_PRECONDITION);
    expect(notTables.details).toMatch(/not a page-table page/);
    await call(
      client,
      'freePages',
    )(FreePagesRequest.fromPartial({ pfns: tables.pfns, use: PageUse.PAGE_USE_PAGE_TABLE }));
    await call(
      client,
      'freePages',
    )(FreePagesRequest.fromPartial({ pfns: vm.pfns, use: PageUse.PAGE_USE_VMALLOC }));
    expect(await meminfo()).toBe(before);
  });

  it('transfers RAM in order and reports page counts', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 1 }));
    const paddr = pfns[0] * 4096n;
    const out = await call(
      client,
      'transferPhys',
    )({
      ops: [
        { op: { $case: 'write', value: { paddr, data: Buffer.from([1, 2, 3]) } } },
        { op: { $case: 'read', value: { paddr, length: 3 } } },
        { op: { $case: 'write', value: { paddr: paddr + 1n, data: Buffer.from([9]) } } },
        { op: { $case: 'read', value: { paddr, length: 3 } } },
      ],
    });
    expect(out.data.map((d) => [...d])).toEqual([
      [1, 2, 3],
      [1, 9, 3],
    ]);
    const counts = await call(client, 'getPageCounts')({ pfns });
    expect(counts).toEqual({ refcounts: [1], mapcounts: [0] });
  });

  it('copies within RAM in order (copy_user_highpage), refusing a copy from beyond RAM', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 2 }));
    const [src, dst] = pfns.map((pfn) => pfn * 4096n);
    const copy = (srcPaddr: bigint, dstPaddr: bigint) => ({
      op: { $case: 'copy' as const, value: { srcPaddr, dstPaddr, length: 4096 } },
    });
    const out = await call(
      client,
      'transferPhys',
    )({
      ops: [
        { op: { $case: 'write', value: { paddr: src + 4095n, data: Buffer.from([7]) } } },
        copy(src, dst),
        { op: { $case: 'read', value: { paddr: dst + 4095n, length: 1 } } },
      ],
    });
    expect(out.data.map((d) => [...d])).toEqual([[7]]);
    const refused = (await call(
      client,
      'transferPhys',
    )({ ops: [copy(2n ** 40n, dst)] }).catch((e: ServiceError) => e)) as ServiceError;
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toContain('ops[0].src_paddr');
  });

  it('streams transfer batches in order, and a refused batch writes nothing', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 1 }));
    const paddr = pfns[0] * 4096n;
    const stream = client.streamTransferPhys();
    const answers: { batchId: bigint; data: Buffer[]; failure: string }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (a) => answers.push(a));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const write = (at: bigint, byte: number) => ({
      op: { $case: 'write' as const, value: { paddr: at, data: Buffer.from([byte]) } },
    });
    const read = { op: { $case: 'read' as const, value: { paddr, length: 1 } } };
    stream.write({ batchId: 1n, ops: [write(paddr, 5), read] });
    stream.write({ batchId: 2n, ops: [write(paddr, 6), write(64n * 2n ** 20n, 1)] });
    stream.write({ batchId: 3n, ops: [read] });
    stream.end();
    await done;
    expect(answers.map((a) => a.batchId)).toEqual([1n, 2n, 3n]);
    expect([...answers[0].data[0]]).toEqual([5]);
    expect(answers[1].failure).toMatch(/beyond RAM/);
    expect([...answers[2].data[0]]).toEqual([5]);
  });

  it('splits a non-compound block and answers ksize', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 2 }));
    await call(client, 'splitPage')({ pfn: pfns[0], order: 2 });
    const pages = (await call(client, 'getPages')({ startPfn: pfns[0], count: 4 })).pages;
    expect(pages.map((p) => [p.refcount, p.order])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    await call(
      client,
      'freePages',
    )(FreePagesRequest.fromPartial({ pfns: pages.map((p) => p.pfn), order: 0 }));
    const { addr } = await call(client, 'kmalloc')({ size: 90n, gfpMask: GFP.KERNEL });
    expect((await call(client, 'ksize')({ addr })).size).toBe(96n);
  });

  it('refuses a malformed request with INVALID_ARGUMENT naming the field', async () => {
    const err = (await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 11, count: 1 })).catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/order/);
    const big = (await call(
      client,
      'getPages',
    )({ startPfn: 1n << 60n, count: 1 }).catch((e: ServiceError) => e)) as ServiceError;
    expect(big.code).toBe(status.INVALID_ARGUMENT);
    expect(big.details).toMatch(/start_pfn/);
  });

  it('refuses a double free with FAILED_PRECONDITION and changes nothing', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 0, count: 2 }));
    await call(client, 'freePages')(FreePagesRequest.fromPartial({ pfns: [pfns[0]], order: 0 }));
    const before = (await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_BUDDYINFO })).text;
    const err = (await call(
      client,
      'freePages',
    )(FreePagesRequest.fromPartial({ pfns: [pfns[1], pfns[0]], order: 0 })).catch(
      (e: ServiceError) => e,
    )) as ServiceError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/double free/);
    expect((await call(client, 'readProcFile')({ file: ProcFile.PROC_FILE_BUDDYINFO })).text).toBe(before);
    const page = await call(client, 'getPages')({ startPfn: pfns[1], count: 1 });
    expect(page.pages[0].refcount).toBe(1);
  });

  it('refuses a put batch that would underflow a refcount before changing anything', async () => {
    const { pfns } = await call(
      client,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 0, count: 2 }));
    await call(client, 'changePageRefs')({ op: PageRefOp.PAGE_REF_OP_GET, pfns: [pfns[0]] });
    const err = (await call(
      client,
      'changePageRefs',
    )({
      op: PageRefOp.PAGE_REF_OP_PUT,
      pfns: [pfns[0], pfns[1], pfns[1]],
    }).catch((e: ServiceError) => e)) as ServiceError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    const pages = await call(client, 'getPages')({ startPfn: pfns[0], count: 1 });
    expect(pages.pages[0].refcount).toBe(2);
  });

  it('streams page-op batches and reports the first refused op', async () => {
    const stream = client.streamPageOps();
    const answers: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (a) => answers.push(a));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({
      batchId: 1n,
      ops: [
        {
          op: {
            $case: 'alloc',
            value: AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 0, count: 8 }),
          },
        },
      ],
    });
    stream.write({
      batchId: 2n,
      ops: [
        {
          op: {
            $case: 'alloc',
            value: AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, order: 12, count: 1 }),
          },
        },
      ],
    });
    stream.end();
    await done;
    const [first, second] = answers as {
      batchId: bigint;
      results: unknown[];
      failedOpIndex: number;
      failure: string;
    }[];
    expect(first.batchId).toBe(1n);
    expect(first.results).toHaveLength(1);
    expect(second.failure).toMatch(/order/);
    expect(second.failedOpIndex).toBe(0);
  });
});

describe('machine flags', () => {
  it('parse sizes and profiles', () => {
    expect(parseSize('mem', '4G')).toBe(4 * 2 ** 30);
    expect(parseSize('mem', '512MiB')).toBe(512 * MiB);
    expect(machineFromFlags({ arch: 'x86', mem: '1G' })).toEqual({ arch: 'x86', memBytes: 2 ** 30 });
    expect(machineFromFlags({ cpus: '4' })).toEqual({ nrCpus: 4 });
    expect(() => machineFromFlags({ cpus: 'two' })).toThrow(/--cpus "two"/);
    expect(() => parseSize('mem', 'lots')).toThrow(/--mem "lots"/);
    expect(() => machineFromFlags({ arch: 'arm64' })).toThrow(/--arch "arm64"/);
    expect(bootMachine(machineFromFlags({ mem: '32M' })).profile.memBytes).toBe(32 * MiB);
  });
});
