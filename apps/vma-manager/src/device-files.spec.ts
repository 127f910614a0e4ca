import { status, type ServiceError } from '@grpc/grpc-js';
import { DeviceDrivers, MMAP_DEV, NPAGES, PROC_ENTRY_NAME, WRITE_PATTERN } from '@pagemesh/device-drivers';
import { deviceDriversServiceOptions, grpcDriverPorts } from '@pagemesh/device-drivers-rpc';
import { bootMmuOverGrpc, mmuServiceOptions } from '@pagemesh/mmu-rpc';
import { bootMachine } from '@pagemesh/page-allocator';
import { pageAllocatorServiceOptions } from '@pagemesh/page-allocator-rpc';
import {
  Errno,
  MmuServiceClient,
  PageAllocatorServiceClient,
  ProcessProcFile,
  StreamSyscallsRequest,
  VmaManagerServiceClient,
  VmaManagerServiceReadProcFileRequest,
  type StreamSyscallsResponse,
} from '@pagemesh/proto';
import {
  ClientPool,
  ephemeralServiceConfig,
  parseServiceConfig,
  promisifyUnary,
  startService,
  type RunningService,
} from '@pagemesh/service-kit';
import { mman as M, type ProcessCall } from '@pagemesh/vma-manager';
import { syscallToWire } from '@pagemesh/vma-manager-rpc';
import { buildVmaManagerService, FLAGS } from './service';

const PAGE = 4096;
const O_RDWR = 2;
const NO_DATA = Buffer.alloc(0);

/**
 * The whole call DAG below the orchestrator as services on ephemeral ports: page allocator, mmu,
 * device drivers (over both), and the vma-manager service built from its flags, as its main does.
 */
async function boot() {
  const pool = new ClientPool();
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const services: RunningService[] = [];
  const stop = async () => {
    pool.close();
    for (const s of services.splice(0).reverse()) await s.shutdown();
  };
  services.push(
    await startService(pageAllocatorServiceOptions(pa, ephemeralServiceConfig('page-allocator'))),
  );
  const paAddress = services[0].address;
  const mmu = await bootMmuOverGrpc(paAddress, pool, { cpus: 1 });
  services.push(await startService(mmuServiceOptions(mmu, ephemeralServiceConfig('mmu'))));
  const mmuAddress = services[1].address;
  const dd = await DeviceDrivers.create(
    grpcDriverPorts(
      pool.client(paAddress, PageAllocatorServiceClient),
      pool.client(mmuAddress, MmuServiceClient),
    ),
  );
  services.push(
    await startService(deviceDriversServiceOptions(dd, ephemeralServiceConfig('device-drivers'))),
  );
  const config = parseServiceConfig('vma-manager', {
    argv: [
      '--port=0',
      '--metrics-port=off',
      `--page-allocator-address=${paAddress}`,
      `--mmu-address=${mmuAddress}`,
      `--device-drivers-address=${services[2].address}`,
    ],
    env: {},
    extraFlags: FLAGS,
  });
  services.push(await startService(await buildVmaManagerService(config, pool)));
  const client = pool.client(services[3].address, VmaManagerServiceClient);
  return { pa, dd, client, stop, [Symbol.asyncDispose]: stop };
}

type Booted = Awaited<ReturnType<typeof boot>>;

/** One StreamSyscalls batch of `pid`'s calls, on a stream of its own. */
async function batch(client: VmaManagerServiceClient, pid: number, calls: ProcessCall[]) {
  return batchOf(
    client,
    calls.map((c) => syscallToWire(pid, c)),
  );
}

async function batchOf(
  client: VmaManagerServiceClient,
  calls: ReturnType<typeof syscallToWire>[],
): Promise<StreamSyscallsResponse> {
  const stream = client.streamSyscalls();
  const answers: StreamSyscallsResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (r: StreamSyscallsResponse) => answers.push(r));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.write(StreamSyscallsRequest.fromPartial({ batchId: 1n, calls }));
  stream.end();
  await done;
  return answers[0];
}

const readProcFile = (m: Booted, req: Partial<VmaManagerServiceReadProcFileRequest>) =>
  promisifyUnary(m.client, 'readProcFile')(VmaManagerServiceReadProcFileRequest.fromPartial(req));

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: ServiceError) => e,
  );
}

describe('vma-manager service: device files through the device-drivers and mmu services', () => {
  jest.setTimeout(60_000);

  it('accepts --device-drivers-address among its flags', () => {
    expect(FLAGS).toContain('device-drivers-address');
  });

  it('open, mmap, write, read and close in one batch, in order; the driver proc entry sees the VMAs; nothing leaks', async () => {
    await using m = await boot();
    const free = m.pa.nrFreePages;
    expect(await m.dd.loadModule('kmmap')).toEqual({ errno: null });
    expect(await m.dd.mknod(MMAP_DEV, 42, 0)).toEqual({ errno: null });
    const { pid } = await promisifyUnary(m.client, 'createProcess')({ comm: 'mmap-test' });

    const pattern = new Uint8Array(NPAGES * PAGE);
    for (let p = 0; p < NPAGES; p++) pattern.set(WRITE_PATTERN, p * PAGE);
    const first = await batch(m.client, pid, [
      { kind: 'open', path: MMAP_DEV, flags: O_RDWR },
      { kind: 'mmap', addr: 0, length: NPAGES * PAGE, prot: M.PROT_READ, flags: M.MAP_SHARED, fd: 0 },
      { kind: 'mmap', addr: 0, length: (NPAGES + 1) * PAGE, prot: M.PROT_READ, flags: M.MAP_SHARED, fd: 0 },
      { kind: 'write', fd: 0, data: pattern },
      { kind: 'read', fd: 0, count: 8 },
      { kind: 'read', fd: 7, count: 8 },
    ]);
    expect(first.failure).toBe('');
    const [open, mapped, tooBig, written, read, badFd] = first.results;
    expect(open).toEqual({ ret: 0n, errno: Errno.ERRNO_UNSPECIFIED, data: NO_DATA });
    expect(mapped.errno).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(tooBig).toEqual({ ret: 0n, errno: Errno.ERRNO_EIO, data: NO_DATA });
    expect(written).toEqual({ ret: BigInt(NPAGES * PAGE), errno: Errno.ERRNO_UNSPECIFIED, data: NO_DATA });
    expect(read).toEqual({
      ret: 8n,
      errno: Errno.ERRNO_UNSPECIFIED,
      data: Buffer.from([0xa0, 0xb0, 0xc0, 0xd0, 0, 0, 0, 0]),
    });
    // an fd not open is the syscall's EBADF, a value
    expect(badFd).toEqual({ ret: 0n, errno: Errno.ERRNO_EBADF, data: NO_DATA });

    const maps = await readProcFile(m, { pid, file: ProcessProcFile.PROCESS_PROC_FILE_MAPS });
    expect(maps.text).toMatch(/^[0-9a-f]+-[0-9a-f]+ r--s 00000000 00:05 1000 +\/dev\/mymmap\n$/);
    expect(await readProcFile(m, { pid, entry: PROC_ENTRY_NAME })).toEqual({
      text: `${NPAGES * PAGE} mmap-test\n`,
      errno: Errno.ERRNO_UNSPECIFIED,
    });
    expect(await readProcFile(m, { pid, entry: 'no-such-entry' })).toEqual({
      text: '',
      errno: Errno.ERRNO_ENOENT,
    });

    // the fd and the VMA pin the module
    expect(await m.dd.unloadModule('kmmap')).toEqual({ errno: 'EAGAIN' });
    const closing = await batch(m.client, pid, [
      { kind: 'close', fd: 0 },
      { kind: 'close', fd: 0 },
      { kind: 'munmap', addr: mapped.ret, length: NPAGES * PAGE },
    ]);
    expect(closing.results.map((r) => r.errno)).toEqual([
      Errno.ERRNO_UNSPECIFIED,
      Errno.ERRNO_EBADF,
      Errno.ERRNO_UNSPECIFIED,
    ]);
    expect(m.dd.openFiles()).toEqual([]);
    await promisifyUnary(m.client, 'exitProcess')({ pid });
    expect(await m.dd.unlink(MMAP_DEV)).toEqual({ errno: null });
    expect(await m.dd.unloadModule('kmmap')).toEqual({ errno: null });
    expect(m.pa.nrFreePages).toBe(free);
  });

  it('refuses a batch with an unknown pid as a whole (no file opened), and a proc request naming a file and an entry', async () => {
    await using m = await boot();
    expect(await m.dd.loadModule('kmmap')).toEqual({ errno: null });
    expect(await m.dd.mknod(MMAP_DEV, 42, 0)).toEqual({ errno: null });
    const { pid } = await promisifyUnary(m.client, 'createProcess')({ comm: 't' });
    const refused = await batchOf(m.client, [
      syscallToWire(pid, { kind: 'open', path: MMAP_DEV, flags: O_RDWR }),
      syscallToWire(4242, { kind: 'close', fd: 0 }),
    ]);
    expect(refused.results).toEqual([]);
    expect(refused.failure).toMatch(/calls\[1\]\.pid/);
    expect(m.dd.openFiles()).toEqual([]);

    const unknown = await failure(readProcFile(m, { pid: 4242, entry: PROC_ENTRY_NAME }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    const both = await failure(
      readProcFile(m, { pid, file: ProcessProcFile.PROCESS_PROC_FILE_MAPS, entry: PROC_ENTRY_NAME }),
    );
    expect(both.code).toBe(status.INVALID_ARGUMENT);
    expect(both.details).toMatch(/file/);
    // the next batch goes through: the fd table is empty, so open gets fd 0
    const next = await batch(m.client, pid, [{ kind: 'open', path: MMAP_DEV, flags: O_RDWR }]);
    expect(next.results).toEqual([{ ret: 0n, errno: Errno.ERRNO_UNSPECIFIED, data: NO_DATA }]);
    await promisifyUnary(m.client, 'exitProcess')({ pid });
    expect(m.dd.openFiles()).toEqual([]);
  });

  it('answers ENOENT for a device node when no device-drivers service has it', async () => {
    await using m = await boot();
    const { pid } = await promisifyUnary(m.client, 'createProcess')({ comm: 't' });
    const r = await batch(m.client, pid, [{ kind: 'open', path: MMAP_DEV, flags: O_RDWR }]);
    expect(r.results).toEqual([{ ret: 0n, errno: Errno.ERRNO_ENOENT, data: NO_DATA }]);
  });
});
