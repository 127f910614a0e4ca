import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { bootMachine } from '@pagemesh/page-allocator';
import {
  Errno,
  FaultOutcome,
  PageAllocatorServiceClient,
  ProcessProcFile,
  StreamSyscallsRequest,
  VmaManagerServiceClient,
  VmaManagerServiceReadProcFileRequest,
  type StreamSyscallsResponse,
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
import { mman as M } from '@pagemesh/vma-manager';
import { syscallToWire } from '@pagemesh/vma-manager-rpc';
import { buildVmaManagerService, FLAGS } from './service';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';

const RW = M.PROT_READ | M.PROT_WRITE;
const ANON = M.MAP_PRIVATE | M.MAP_ANONYMOUS;
/** x86 error codes of user faults: not-present read, not-present write, write to a present page */
const READ = 0x4;
const WRITE = 0x6;
const WRITE_PROT = 0x7;

describe('vma-manager service over gRPC, against real page-allocator and mmu services', () => {
  let pageAllocator: RunningService;
  let mmu: RunningService;
  let vmaManager: RunningService;
  let pool: ClientPool;
  let client: VmaManagerServiceClient;
  let paClient: PageAllocatorServiceClient;

  beforeEach(async () => {
    pool = new ClientPool();
    pageAllocator = await startService(
      pageAllocatorServiceOptions(
        bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 }),
        ephemeralServiceConfig('page-allocator'),
      ),
    );
    mmu = await startService(
      mmuServiceOptions(
        await bootMmuOverGrpc(pageAllocator.address, pool, { cpus: 2 }),
        ephemeralServiceConfig('mmu'),
      ),
    );
    const config = parseServiceConfig('vma-manager', {
      argv: [
        '--port=0',
        '--metrics-port=off',
        `--page-allocator-address=${pageAllocator.address}`,
        `--mmu-address=${mmu.address}`,
        '--device-drivers-address=127.0.0.1:1',
      ],
      env: {},
      extraFlags: FLAGS,
    });
    vmaManager = await startService(await buildVmaManagerService(config, pool));
    client = new VmaManagerServiceClient(vmaManager.address, credentials.createInsecure());
    paClient = new PageAllocatorServiceClient(pageAllocator.address, credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    paClient.close();
    pool.close();
    await vmaManager.shutdown();
    await mmu.shutdown();
    await pageAllocator.shutdown();
  });

  const call = <
    M extends 'createProcess' | 'exitProcess' | 'readProcFile' | 'fork' | 'handleFaults' | 'pagemap',
  >(
    m: M,
  ) => promisifyUnary(client, m);
  const readProcFile = (req: Partial<VmaManagerServiceReadProcFileRequest>) =>
    call('readProcFile')(VmaManagerServiceReadProcFileRequest.fromPartial(req));
  const freePages = async () => (await promisifyUnary(paClient, 'getMachine')({})).freePages;
  const maps = async (pid: number) =>
    (await readProcFile({ pid, file: ProcessProcFile.PROCESS_PROC_FILE_MAPS })).text;

  /** Sends the batches down one StreamSyscalls call; its answers in order. */
  async function syscalls(batches: StreamSyscallsRequest[]): Promise<StreamSyscallsResponse[]> {
    const stream = client.streamSyscalls();
    const out: StreamSyscallsResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: StreamSyscallsResponse) => out.push(r));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const b of batches) stream.write(b);
    stream.end();
    await done;
    return out;
  }

  async function failure(p: Promise<unknown>): Promise<ServiceError> {
    return (await p.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: ServiceError) => e,
    )) as ServiceError;
  }

  it("answers each process's address space, and its pagemap: present pages with their PFNs", async () => {
    const parent = await call('createProcess')({ comm: 'pm' });
    expect(parent.addressSpaceId).toBeGreaterThan(0n);
    const [answer] = await syscalls([
      StreamSyscallsRequest.fromPartial({
        batchId: 1n,
        calls: [syscallToWire(parent.pid, { kind: 'mmap', addr: 0, length: 0x3000, prot: RW, flags: ANON })],
      }),
    ]);
    const start = answer.results[0].ret;
    // fault in the first and third page only
    const outcomes = await call('handleFaults')({
      faults: [
        { pid: parent.pid, address: start, errorCode: WRITE },
        { pid: parent.pid, address: start + 0x2000n, errorCode: WRITE },
      ],
    });
    expect(outcomes.outcomes).toEqual([
      FaultOutcome.FAULT_OUTCOME_HANDLED,
      FaultOutcome.FAULT_OUTCOME_HANDLED,
    ]);
    const { entries } = await call('pagemap')({ pid: parent.pid, address: start, count: 3 });
    expect(entries.map((e) => e.present)).toEqual([true, false, true]);
    expect(entries[0].pfn).toBeGreaterThan(0n);
    expect(entries[1].pfn).toBe(0n);
    expect(entries[2].pfn).not.toBe(entries[0].pfn);

    const child = await call('fork')({ pid: parent.pid });
    expect(child.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(child.pid).not.toBe(parent.pid);
    expect(child.addressSpaceId).toBeGreaterThan(0n);
    expect(child.addressSpaceId).not.toBe(parent.addressSpaceId);
    // COW: the child maps the parent's frames
    const childMap = await call('pagemap')({ pid: child.pid, address: start, count: 3 });
    expect(childMap.entries).toEqual(entries);
  });

  it('refuses a pagemap of an unaligned address, or of an unknown pid', async () => {
    const { pid } = await call('createProcess')({ comm: 'pm' });
    const unaligned = await failure(call('pagemap')({ pid, address: 0x1001n, count: 1 }));
    expect(unaligned.code).toBe(status.INVALID_ARGUMENT);
    expect(unaligned.details).toMatch(/address/);
    const unknown = await failure(call('pagemap')({ pid: 999, address: 0x1000n, count: 1 }));
    expect(unknown.code).not.toBe(status.OK);
  });

  it('answers health', async () => {
    expect(await checkHealth(vmaManager.address, 'pagemesh.v1.VmaManagerService')).toBe('SERVING');
  });

  it('creates a process, maps anonymous memory, handles its faults, prints its maps, and exit frees it', async () => {
    const free = await freePages();
    const { pid } = await call('createProcess')({ comm: 'demo' });
    expect(pid).toBe(1);

    const [answer] = await syscalls([
      StreamSyscallsRequest.fromPartial({
        batchId: 5n,
        calls: [syscallToWire(pid, { kind: 'mmap', addr: 0, length: 0x2000, prot: RW, flags: ANON })],
      }),
    ]);
    expect(answer.batchId).toBe(5n);
    expect(answer.failure).toBe('');
    expect(answer.results).toHaveLength(1);
    expect(answer.results[0].errno).toBe(Errno.ERRNO_UNSPECIFIED);
    const start = answer.results[0].ret;
    // top-down from mmap_base (TASK_SIZE - 128 MiB, no randomisation): the highest gap that fits
    expect(start).toBe(0x7ffff7ffd000n);

    const { outcomes } = await call('handleFaults')({
      faults: [
        { pid, address: start, errorCode: READ },
        { pid, address: start, errorCode: WRITE_PROT },
        { pid, address: start + 0x1000n, errorCode: WRITE },
        { pid, address: 0x1000n, errorCode: READ },
      ],
    });
    expect(outcomes).toEqual([
      FaultOutcome.FAULT_OUTCOME_HANDLED,
      FaultOutcome.FAULT_OUTCOME_HANDLED,
      FaultOutcome.FAULT_OUTCOME_HANDLED,
      FaultOutcome.FAULT_OUTCOME_SIGSEGV_MAPERR,
    ]);
    expect(await freePages()).toBeLessThan(free);

    // show_map_vma: hex addresses (at least 8 digits), perms, offset 0 for private anon,
    // dev 00:00, inode 0, and the trailing space of an unnamed line
    expect(await maps(pid)).toBe('7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 \n');
    const smaps = (await readProcFile({ pid, file: ProcessProcFile.PROCESS_PROC_FILE_SMAPS })).text;
    expect(smaps).toContain('Rss:                   8 kB\n');
    expect(smaps).toContain('VmFlags: rd wr mr mw me ac \n');
    const status = (await readProcFile({ pid, file: ProcessProcFile.PROCESS_PROC_FILE_STATUS })).text;
    expect(status).toMatch(/^Name:\tdemo\n/);

    await call('exitProcess')({ pid });
    expect(await freePages()).toBe(free);
  });

  it('forks copy-on-write and answers a refused batch in the stream without stopping it', async () => {
    const free = await freePages();
    const { pid: parent } = await call('createProcess')({ comm: 'parent' });
    const A = 0x7e0000000000;
    await syscalls([
      StreamSyscallsRequest.fromPartial({
        batchId: 1n,
        calls: [
          syscallToWire(parent, {
            kind: 'mmap',
            addr: A,
            length: 0x1000,
            prot: RW,
            flags: ANON | M.MAP_FIXED,
          }),
        ],
      }),
    ]);
    await call('handleFaults')({ faults: [{ pid: parent, address: BigInt(A), errorCode: WRITE }] });
    const { pid: child } = await call('fork')({ pid: parent });
    expect(child).toBe(parent + 1);
    expect(await maps(child)).toBe(await maps(parent));
    const { outcomes } = await call('handleFaults')({
      faults: [
        { pid: child, address: BigInt(A), errorCode: WRITE_PROT },
        { pid: parent, address: BigInt(A), errorCode: WRITE_PROT },
      ],
    });
    expect(outcomes).toEqual([FaultOutcome.FAULT_OUTCOME_HANDLED, FaultOutcome.FAULT_OUTCOME_HANDLED]);

    const answers = await syscalls([
      StreamSyscallsRequest.fromPartial({
        batchId: 2n,
        calls: [
          syscallToWire(child, { kind: 'munmap', addr: A, length: 0x1000 }),
          syscallToWire(99, { kind: 'munmap', addr: A, length: 0x1000 }),
        ],
      }),
      StreamSyscallsRequest.fromPartial({
        batchId: 3n,
        calls: [
          syscallToWire(child, { kind: 'mprotect', addr: A, length: 0x1000, prot: M.PROT_READ }),
          syscallToWire(child, { kind: 'munmap', addr: A + 1, length: 0x1000 }),
        ],
      }),
    ]);
    expect(answers.map((a) => a.batchId)).toEqual([2n, 3n]);
    expect(answers[0]).toMatchObject({ results: [] });
    expect(answers[0].failure).toMatch(/calls\[1\]\.pid/);
    expect(answers[1].failure).toBe('');
    expect(answers[1].results).toEqual([
      { ret: 0n, errno: Errno.ERRNO_UNSPECIFIED, data: Buffer.alloc(0) },
      { ret: 0n, errno: Errno.ERRNO_EINVAL, data: Buffer.alloc(0) },
    ]);
    // the refused batch left the child's mapping in place
    expect(await maps(child)).toBe('7e0000000000-7e0000001000 r--p 00000000 00:00 0 \n');

    await call('exitProcess')({ pid: child });
    await call('exitProcess')({ pid: parent });
    expect(await freePages()).toBe(free);
  });

  it('refuses malformed requests with the status naming the field, changing nothing', async () => {
    const { pid } = await call('createProcess')({ comm: 'p' });
    const A = 0x7e0000000000;
    await syscalls([
      StreamSyscallsRequest.fromPartial({
        calls: [
          syscallToWire(pid, { kind: 'mmap', addr: A, length: 0x1000, prot: RW, flags: ANON | M.MAP_FIXED }),
        ],
      }),
    ]);
    const before = await maps(pid);
    const free = await freePages();

    const unknown = await failure(readProcFile({ pid: 42, file: ProcessProcFile.PROCESS_PROC_FILE_MAPS }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/pid/);
    expect((await failure(call('exitProcess')({ pid: 42 }))).code).toBe(status.NOT_FOUND);
    expect((await failure(call('fork')({ pid: 42 }))).code).toBe(status.NOT_FOUND);

    const unknownFault = await failure(
      call('handleFaults')({
        faults: [
          { pid, address: BigInt(A), errorCode: WRITE },
          { pid: 42, address: BigInt(A), errorCode: WRITE },
        ],
      }),
    );
    expect(unknownFault.code).toBe(status.NOT_FOUND);
    expect(unknownFault.details).toMatch(/faults\[1\]\.pid/);

    const nonCanonical = await failure(
      call('handleFaults')({
        faults: [
          { pid, address: BigInt(A), errorCode: WRITE },
          { pid, address: 0x0000800000000000n, errorCode: READ },
        ],
      }),
    );
    expect(nonCanonical.code).toBe(status.INVALID_ARGUMENT);
    expect(nonCanonical.details).toMatch(/faults\[1\]\.address/);

    const badFile = await failure(readProcFile({ pid, file: ProcessProcFile.PROCESS_PROC_FILE_UNSPECIFIED }));
    expect(badFile.code).toBe(status.INVALID_ARGUMENT);

    // nothing was faulted in, mapped or freed by the refused requests
    expect(await maps(pid)).toBe(before);
    expect(await freePages()).toBe(free);
    const smaps = (await readProcFile({ pid, file: ProcessProcFile.PROCESS_PROC_FILE_SMAPS })).text;
    expect(smaps).toContain('Rss:                   0 kB\n');

    await call('exitProcess')({ pid });
    const exited = await failure(
      call('handleFaults')({ faults: [{ pid, address: BigInt(A), errorCode: READ }] }),
    );
    expect(exited.code).toBe(status.FAILED_PRECONDITION);
  });

  it('refuses to start without the mmu address', async () => {
    const config = parseServiceConfig('vma-manager', {
      argv: ['--port=0', '--metrics-port=off', `--page-allocator-address=${pageAllocator.address}`],
      env: {},
      extraFlags: FLAGS,
    });
    await expect(buildVmaManagerService(config, pool)).rejects.toThrow(/--mmu-address/);
  });
});
