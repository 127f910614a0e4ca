import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { bootMachine, GFP } from '@pagemesh/page-allocator';
import {
  AccessOp,
  AllocPagesRequest,
  FreePagesRequest,
  MapPagesRequest,
  MmuServiceClient,
  PageAllocatorServiceClient,
  ProcFile,
  type StreamAccessesResponse,
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
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';
import { buildMmuService, FLAGS } from './service';

/** P | RW | US, NX clear: a user read-write page. */
const PAGE_RW_USER = 0x7n;
/** P | US: user read-only. */
const PAGE_RO_USER = 0x5n;
const USER_VA = 0x7e0000000000n;

describe('mmu service over gRPC, against a real page-allocator service', () => {
  let pageAllocator: RunningService;
  let mmu: RunningService;
  let pool: ClientPool;
  let mmuClient: MmuServiceClient;
  let paClient: PageAllocatorServiceClient;

  beforeEach(async () => {
    pageAllocator = await startService(
      pageAllocatorServiceOptions(
        bootMachine({ memBytes: 64 * 2 ** 20, nrCpus: 3 }),
        ephemeralServiceConfig('page-allocator'),
      ),
    );
    pool = new ClientPool();
    const config = parseServiceConfig('mmu', {
      argv: [
        '--port=0',
        '--metrics-port=off',
        `--page-allocator-address=${pageAllocator.address}`,
        '--cpus=2',
      ],
      env: {},
      extraFlags: FLAGS,
    });
    mmu = await startService(await buildMmuService(config, pool));
    mmuClient = new MmuServiceClient(mmu.address, credentials.createInsecure());
    paClient = new PageAllocatorServiceClient(pageAllocator.address, credentials.createInsecure());
  });

  afterEach(async () => {
    mmuClient.close();
    paClient.close();
    pool.close();
    await mmu.shutdown();
    await pageAllocator.shutdown();
  });

  const meminfoKb = async (key: string) => {
    const text = (await promisifyUnary(paClient, 'readProcFile')({ file: ProcFile.PROC_FILE_MEMINFO })).text;
    return Number(new RegExp(`^${key}: +(\\d+) kB$`, 'm').exec(text)?.[1]);
  };

  async function accesses(batch: readonly object[]) {
    const stream = mmuClient.streamAccesses();
    const out: StreamAccessesResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: StreamAccessesResponse) => out.push(r));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({ batchId: 7n, accesses: batch as never });
    stream.end();
    await done;
    return out[0];
  }

  it('answers health and describes x86_64 paging', async () => {
    expect(await checkHealth(mmu.address, 'pagemesh.v1.MmuService')).toBe('SERVING');
    const info = await promisifyUnary(mmuClient, 'getPagingInfo')({});
    expect(info).toMatchObject({
      levels: 4,
      pageOffset: 0xffff888000000000n,
      taskSize: 0x7ffffffff000n,
      cpus: 2,
    });
    // the kernel's tables (init_mm) are there from boot; an address space adds its PGD
    expect(info.tablePages).toBeGreaterThan(0n);
    await promisifyUnary(mmuClient, 'createAddressSpace')({});
    const after = await promisifyUnary(mmuClient, 'getPagingInfo')({});
    expect(after.tablePages).toBe(info.tablePages + 1n);
  });

  it('sizes the 4 KiB TLB with --tlb-entries (4-way) and refuses a size that is no multiple of the ways', async () => {
    const flags = (tlb: string) =>
      parseServiceConfig('mmu', {
        argv: [
          '--port=0',
          '--metrics-port=off',
          `--page-allocator-address=${pageAllocator.address}`,
          `--tlb-entries=${tlb}`,
        ],
        env: {},
        extraFlags: FLAGS,
      });
    await expect(buildMmuService(flags('6'), pool)).rejects.toThrow(/--tlb-entries "6"/);
    const small = await startService(await buildMmuService(flags('8'), pool));
    try {
      const info = await promisifyUnary(pool.client(small.address, MmuServiceClient), 'getPagingInfo')({});
      // no --cpus: the machine's CPUs, as the page allocator was booted with them
      expect(info.cpus).toBe(3);
      expect(info.tlbEntries).toBe(8);
    } finally {
      await small.shutdown();
    }
  });

  it('maps pages, serves accesses with faults, and frees every table page on destroy', async () => {
    const tablesBefore = await meminfoKb('PageTables');
    const { addressSpaceId } = await promisifyUnary(mmuClient, 'createAddressSpace')({});
    const { pfns } = await promisifyUnary(
      paClient,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 2 }));
    await promisifyUnary(
      mmuClient,
      'mapPages',
    )(
      MapPagesRequest.fromPartial({
        addressSpaceId,
        address: USER_VA,
        pfns: [pfns[0]],
        pgprot: PAGE_RW_USER,
      }),
    );
    await promisifyUnary(
      mmuClient,
      'mapPages',
    )(
      MapPagesRequest.fromPartial({
        addressSpaceId,
        address: USER_VA + 4096n,
        pfns: [pfns[1]],
        pgprot: PAGE_RO_USER,
      }),
    );
    expect(await meminfoKb('PageTables')).toBeGreaterThan(tablesBefore);
    await promisifyUnary(mmuClient, 'switchCpu')({ cpu: 1, addressSpaceId });

    const res = await accesses([
      {
        cpu: 1,
        address: USER_VA + 8n,
        op: AccessOp.ACCESS_OP_WRITE,
        user: true,
        length: 0,
        data: Buffer.from([0xaa, 0xbb]),
      },
      {
        cpu: 1,
        address: USER_VA + 8n,
        op: AccessOp.ACCESS_OP_READ,
        user: true,
        length: 2,
        data: Buffer.alloc(0),
      },
      {
        cpu: 1,
        address: USER_VA + 4096n,
        op: AccessOp.ACCESS_OP_WRITE,
        user: true,
        length: 0,
        data: Buffer.from([1]),
      },
      { cpu: 1, address: USER_VA, op: AccessOp.ACCESS_OP_READ, user: true, length: 1, data: Buffer.alloc(0) },
      {
        cpu: 0,
        address: 0x0000900000000000n,
        op: AccessOp.ACCESS_OP_READ,
        user: true,
        length: 1,
        data: Buffer.alloc(0),
      },
    ]);
    expect(res.batchId).toBe(7n);
    expect(res.results[1].result).toEqual({ $case: 'data', value: Buffer.from([0xaa, 0xbb]) });
    // A user write to a present read-only page: P | W | U = 0x7, CR2 the faulting address.
    expect(res.results[2].result).toEqual({
      $case: 'pageFault',
      value: { address: USER_VA + 4096n, errorCode: 7 },
    });
    expect(res.results[3].result).toEqual({ $case: 'skipped', value: true });
    expect(res.results[4].result).toEqual({ $case: 'generalProtection', value: true });

    const walk = await promisifyUnary(mmuClient, 'walk')({ addressSpaceId, address: USER_VA });
    expect(walk.steps.map((s) => s.level)).toEqual(['PGD', 'PUD', 'PMD', 'PTE']);
    expect(walk.physAddr).toBe(pfns[0] * 4096n);
    // The hardware set Accessed and Dirty on the written page.
    expect(walk.steps[3].entry & 0x60n).toBe(0x60n);

    const removed = await promisifyUnary(
      mmuClient,
      'unmapPages',
    )({ addressSpaceId, address: USER_VA, count: 2 });
    expect(removed.removed.map((r) => r.pfn)).toEqual(pfns);
    await promisifyUnary(mmuClient, 'switchCpu')({ cpu: 1, addressSpaceId: 0n });
    const destroyed = await promisifyUnary(mmuClient, 'destroyAddressSpace')({ addressSpaceId });
    expect(destroyed.freedTablePages).toBeGreaterThan(0n);
    expect(await meminfoKb('PageTables')).toBe(tablesBefore);
    await promisifyUnary(paClient, 'freePages')(FreePagesRequest.fromPartial({ pfns }));
  });

  it('vmallocs page by page and shows it in /proc/vmallocinfo and VmallocUsed', async () => {
    const before = await meminfoKb('VmallocUsed');
    const { addr } = await promisifyUnary(mmuClient, 'vmalloc')({ size: 16n * 4096n });
    expect(addr >= 0xffffc90000000000n).toBe(true);
    expect(await meminfoKb('VmallocUsed')).toBe(before + 64);
    const { pfns } = await promisifyUnary(mmuClient, 'vmallocToPfn')({ addr, count: 16 });
    expect(new Set(pfns).size).toBe(16);
    const info = await promisifyUnary(mmuClient, 'readProcFile')({ file: 1 });
    expect(info.text).toContain(`0x${addr.toString(16)}-`);
    await promisifyUnary(mmuClient, 'vfree')({ addr });
    expect(await meminfoKb('VmallocUsed')).toBe(before);
  });

  it('kmaps a lowmem page at its direct-map address and marks entries special', async () => {
    const { pfns } = await promisifyUnary(
      paClient,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 1 }));
    const { addr } = await promisifyUnary(mmuClient, 'kmap')({ pfn: pfns[0] });
    expect(addr).toBe(0xffff888000000000n + pfns[0] * 4096n);
    await promisifyUnary(mmuClient, 'kunmap')({ pfn: pfns[0] });
    const local = await promisifyUnary(mmuClient, 'kmapLocal')({ cpu: 0, pfn: pfns[0] });
    expect(local.addr).toBe(addr);
    await promisifyUnary(mmuClient, 'kunmapLocal')({ cpu: 0, addr: local.addr });
    const { addressSpaceId } = await promisifyUnary(mmuClient, 'createAddressSpace')({});
    await promisifyUnary(
      mmuClient,
      'mapPages',
    )(MapPagesRequest.fromPartial({ addressSpaceId, address: USER_VA, pfns, pgprot: PAGE_RW_USER }));
    const marked = await promisifyUnary(
      mmuClient,
      'markSpecial',
    )({ addressSpaceId, address: USER_VA, count: 1, special: true });
    expect(marked.changed).toBe(1);
    const [entry] = (
      await promisifyUnary(mmuClient, 'pagemap')({ addressSpaceId, address: USER_VA, count: 1 })
    ).entries;
    expect(entry).toMatchObject({ present: true, special: true, exclusive: false });
  });

  it('refuses a malformed request with the status that names the field', async () => {
    const { addressSpaceId } = await promisifyUnary(mmuClient, 'createAddressSpace')({});
    const nonCanonical = (await promisifyUnary(
      mmuClient,
      'walk',
    )({ addressSpaceId, address: 0x0000800000000000n }).catch((e: ServiceError) => e)) as ServiceError;
    expect(nonCanonical.code).toBe(status.INVALID_ARGUMENT);
    expect(nonCanonical.details).toMatch(/address/);
    const unknown = (await promisifyUnary(
      mmuClient,
      'createAddressSpace',
    )({}).then(() =>
      promisifyUnary(
        mmuClient,
        'walk',
      )({ addressSpaceId: 999n, address: USER_VA }).catch((e: ServiceError) => e),
    )) as ServiceError;
    expect(unknown.code).toBe(status.NOT_FOUND);
    const unaligned = (await promisifyUnary(
      mmuClient,
      'mapPages',
    )(
      MapPagesRequest.fromPartial({
        addressSpaceId,
        address: USER_VA + 1n,
        firstPfn: 1000n,
        count: 1,
        pgprot: PAGE_RW_USER,
      }),
    ).catch((e: ServiceError) => e)) as ServiceError;
    expect(unaligned.code).toBe(status.INVALID_ARGUMENT);
  });

  it('maps scattered pages, reads, protects and unmaps several ranges in one call each', async () => {
    const { addressSpaceId } = await promisifyUnary(mmuClient, 'createAddressSpace')({});
    const { pfns } = await promisifyUnary(
      paClient,
      'allocPages',
    )(AllocPagesRequest.fromPartial({ gfpMask: GFP.KERNEL, count: 3 }));
    const far = USER_VA + 0x4000_0000n; // another PMD: tables for both come from one plan
    await promisifyUnary(
      mmuClient,
      'mapPageBatch',
    )({
      addressSpaceId,
      pages: [
        { address: USER_VA, pfn: pfns[0], pgprot: PAGE_RW_USER, special: false },
        { address: USER_VA + 0x2000n, pfn: pfns[1], pgprot: PAGE_RO_USER, special: false },
        { address: far, pfn: pfns[2], pgprot: PAGE_RW_USER, special: false },
      ],
      replace: false,
    });
    const ranges = [
      { address: USER_VA, count: 3 },
      { address: far, count: 1 },
    ];
    const { entries } = await promisifyUnary(mmuClient, 'pagemapRanges')({ addressSpaceId, ranges });
    expect(entries.map((e) => [e.present, e.pfn, e.writable])).toEqual([
      [true, pfns[0], true],
      [false, 0n, false],
      [true, pfns[1], false],
      [true, pfns[2], true],
    ]);
    const { changed } = await promisifyUnary(
      mmuClient,
      'protectRanges',
    )({
      addressSpaceId,
      ranges: ranges.map((r) => ({ ...r, pgprot: PAGE_RO_USER })),
    });
    expect(changed).toBe(2); // the read-only page already was
    const { removed } = await promisifyUnary(mmuClient, 'unmapRanges')({ addressSpaceId, ranges });
    expect(removed.map((r) => [r.address, r.pfn, r.writable])).toEqual([
      [USER_VA, pfns[0], false],
      [USER_VA + 0x2000n, pfns[1], false],
      [far, pfns[2], false],
    ]);
    const { freedTablePages } = await promisifyUnary(mmuClient, 'destroyAddressSpace')({ addressSpaceId });
    expect(freedTablePages).toBe(1n); // the unmaps freed the emptied tables but the PGD
  });
});
