import {
  applyRemapRequests,
  type DriverVma,
  type RemapMmuPort,
  type RemapRequest,
} from '@pagemesh/device-drivers';
import { MAX_FILES_PER_CALL, pgprotToWire } from '@pagemesh/device-drivers-rpc';
import { PROT_X86, PROT_X86_64, vmGetPageProt, type ProtectionSet } from '@pagemesh/mmu';
import {
  MAX_PAGES_PER_CALL,
  pgprotFromWire,
  vmFlagsFromWire,
  vmFlagsToWire,
  wireVa,
} from '@pagemesh/mmu-rpc';
import { toNumber } from '@pagemesh/page-allocator-rpc';
import {
  Errno,
  type DeviceDriversServiceClient,
  type DeviceFile,
  type MmuServiceClient,
  type Vma,
} from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { PAGE_SIZE, canonicalFromVa48 } from '@pagemesh/uapi';
import {
  DEVTMPFS_DEV,
  DevtmpfsInodes,
  type DeviceFileInfo,
  type DeviceFilesPort,
  type DeviceVma,
} from '@pagemesh/vma-manager';
import { errnoFromWire } from './wire';

/** PAGETABLE_LEVELS of non-PAE x86, as GetPagingInfo answers it; x86_64 has 4. */
const X86_LEVELS = 2;

/** A VMA as the device-drivers and mmu services take it (user addresses, canonical). */
function vmaToWire(v: { start: number; end: number; flags: number; pgoff: number }): Vma {
  return {
    vmStart: canonicalFromVa48(v.start),
    vmEnd: canonicalFromVa48(v.end),
    vmFlags: vmFlagsToWire(v.flags),
    vmPgoff: BigInt(v.pgoff),
    backing: undefined,
  };
}

async function inChunks<T>(items: readonly T[], size: number, fn: (chunk: T[]) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

/**
 * remap_pfn_range and the zap that undoes it, over the mmu service: what applyRemapRequests
 * needs, so that a driver's requests are applied over gRPC exactly as in-process.
 */
export function grpcRemapMmuPort(mmuClient: MmuServiceClient): RemapMmuPort {
  const remap = promisifyUnary(mmuClient, 'remapPfnRange');
  const unmap = promisifyUnary(mmuClient, 'unmapPages');
  return {
    async remapPfnRange(asid, vma, addr, pfn, size, prot) {
      const r = await remap({
        addressSpaceId: BigInt(asid),
        vma: vmaToWire(vma),
        addr: canonicalFromVa48(addr),
        pfn: BigInt(pfn),
        size: BigInt(size),
        pgprot: pgprotToWire(prot),
      });
      return {
        errno: r.errno === Errno.ERRNO_UNSPECIFIED ? null : errnoFromWire(r.errno),
        vmFlags: vmFlagsFromWire(r.vmFlags),
        vmPgoff: toNumber('vm_pgoff', r.vmPgoff),
      };
    },
    async unmapPages(asid, va, count) {
      const removed = [];
      for (let done = 0; done < count; done += MAX_PAGES_PER_CALL) {
        const r = await unmap({
          addressSpaceId: BigInt(asid),
          address: canonicalFromVa48(va + done * PAGE_SIZE),
          count: Math.min(MAX_PAGES_PER_CALL, count - done),
        });
        for (const p of r.removed)
          removed.push({
            va: wireVa('removed.address', p.address),
            pfn: toNumber('removed.pfn', p.pfn),
            special: p.special,
            dirty: p.dirty,
            accessed: p.accessed,
            writable: p.writable,
            // The wire does not carry NX; undoing a remap only needs the entries gone.
            executable: false,
            protNone: p.protNone,
          });
      }
      return removed;
    },
  };
}

/**
 * The vma-manager's device-files port over the device-drivers service (Open, GetFile, PutFile,
 * Read, Write, Mmap, ReadProc), with the driver's remap_pfn_range requests applied through the
 * mmu service: in call order, vm_flags and vm_pgoff carried from one to the next, the earlier
 * ones zapped at the first refusal (applyRemapRequests, as inprocDeviceFilesPort does). The
 * device-drivers service never calls up: a proc entry gets the caller's pid, comm and VMAs with
 * the request. Maps prints devtmpfs's device and an inode numbered here per node path.
 */
export function grpcDeviceFilesPort(
  deviceDriversClient: DeviceDriversServiceClient,
  mmuClient: MmuServiceClient,
): DeviceFilesPort {
  const openCall = promisifyUnary(deviceDriversClient, 'open');
  const getFile = promisifyUnary(deviceDriversClient, 'getFile');
  const putFile = promisifyUnary(deviceDriversClient, 'putFile');
  const readCall = promisifyUnary(deviceDriversClient, 'read');
  const writeCall = promisifyUnary(deviceDriversClient, 'write');
  const mmapCall = promisifyUnary(deviceDriversClient, 'mmap');
  const readProc = promisifyUnary(deviceDriversClient, 'readProc');
  const pagingInfo = promisifyUnary(mmuClient, 'getPagingInfo');
  const remapMmu = grpcRemapMmuPort(mmuClient);
  const inodes = new DevtmpfsInodes();

  // vm_get_page_prot depends on the architecture (PAGE_SHARED has NX on x86_64 only); the
  // machine does not change once booted: ask the mmu once.
  let protections: Promise<ProtectionSet> | null = null;
  const prot = (): Promise<ProtectionSet> => {
    protections ??= pagingInfo({}).then(
      (info) => (info.levels === X86_LEVELS ? PROT_X86 : PROT_X86_64),
      (err: unknown) => {
        protections = null;
        throw err;
      },
    );
    return protections;
  };

  const fileInfo = (f: DeviceFile): DeviceFileInfo => ({
    id: toNumber('file.id', f.id),
    path: f.path,
    fMode: f.fMode,
    devMajor: DEVTMPFS_DEV.major,
    devMinor: DEVTMPFS_DEV.minor,
    ino: inodes.ino(f.path),
  });

  return {
    async open(path, flags) {
      const r = await openCall({ path, flags });
      if (r.errno !== Errno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
      if (!r.file) throw new Error(`device-drivers answered open(${JSON.stringify(path)}) with no file`);
      return { file: fileInfo(r.file) };
    },
    async getFiles(ids) {
      await inChunks(ids, MAX_FILES_PER_CALL, (chunk) => getFile({ fileIds: chunk.map((id) => BigInt(id)) }));
    },
    async putFiles(ids) {
      await inChunks(ids, MAX_FILES_PER_CALL, (chunk) => putFile({ fileIds: chunk.map((id) => BigInt(id)) }));
    },
    async read(id, count) {
      const r = await readCall({ fileId: BigInt(id), count: BigInt(count), offset: undefined });
      if (r.errno !== Errno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
      return { data: new Uint8Array(r.data) };
    },
    async write(id, bytes) {
      const r = await writeCall({
        fileId: BigInt(id),
        data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        count: undefined,
        offset: undefined,
      });
      if (r.errno !== Errno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
      return { written: toNumber('written', r.written) };
    },
    async mmap(id, asid, vma: DeviceVma) {
      const driverVma: DriverVma = {
        vmStart: vma.start,
        vmEnd: vma.end,
        vmFlags: vma.vmFlags,
        vmPgoff: vma.pgoff,
        vmPageProt: vmGetPageProt(vma.vmFlags, await prot()),
      };
      const r = await mmapCall({
        fileId: BigInt(id),
        vma: vmaToWire({ start: vma.start, end: vma.end, flags: vma.vmFlags, pgoff: vma.pgoff }),
        vmPageProt: pgprotToWire(driverVma.vmPageProt),
      });
      if (r.errno !== Errno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
      const requests: RemapRequest[] = r.requests.map((q, i) => ({
        addr: wireVa(`requests[${i}].addr`, q.addr),
        pfn: toNumber(`requests[${i}].pfn`, q.pfn),
        size: toNumber(`requests[${i}].size`, q.size),
        pgprot: pgprotFromWire(q.pgprot),
      }));
      const out = await applyRemapRequests(remapMmu, asid, driverVma, requests);
      if (out.errno !== null) return { errno: out.errno };
      return { vmFlags: out.vmFlags, pgoff: out.vmPgoff };
    },
    async readProc(name, caller) {
      const r = await readProc({
        name,
        pid: caller.pid,
        comm: caller.comm,
        // only vm_start and vm_end are read
        vmas: caller.vmas.map((v) => vmaToWire({ start: v.start, end: v.end, flags: 0, pgoff: 0 })),
        count: undefined,
        pos: 0n,
      });
      if (r.errno !== Errno.ERRNO_UNSPECIFIED) return { errno: errnoFromWire(r.errno) };
      return { text: r.text };
    },
  };
}
