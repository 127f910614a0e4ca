import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import type { DeviceFilesPort } from '../ports';
import { FIRST_DEVTMPFS_INO } from './devtmpfs';
import { isFileCall, runFileCall, type ProcessCall } from './file-call';
import { VmaManager } from './process-table';

/** A one-file device below the table: reads give back what was written. */
function echoDevice(): DeviceFilesPort {
  let data = new Uint8Array(0);
  return {
    open: async (path) =>
      path === '/dev/echo'
        ? { file: { id: 7, path, fMode: 3, devMajor: 0, devMinor: 5, ino: FIRST_DEVTMPFS_INO } }
        : { errno: 'ENOENT' },
    getFiles: async () => undefined,
    putFiles: async () => undefined,
    read: async (_id, count) => ({ data: data.slice(0, count) }),
    write: async (_id, bytes) => {
      data = bytes.slice();
      return { written: bytes.length };
    },
    mmap: async () => ({ errno: 'ENODEV' }),
    readProc: async () => ({ errno: 'ENOENT' }),
  };
}

describe('file calls on the process table', () => {
  it('tells file calls from memory syscalls', () => {
    const calls: ProcessCall[] = [
      { kind: 'open', path: '/dev/echo', flags: 2 },
      { kind: 'munmap', addr: 0, length: 4096 },
      { kind: 'close', fd: 0 },
    ];
    expect(calls.map(isFileCall)).toEqual([true, false, true]);
  });

  it('runs each on the fd method of its name, queued in call order', async () => {
    const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
    const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
    const vm = await VmaManager.create({
      mmu: inprocMmuPort(mmu),
      pages: inprocPagesPort(pa),
      files: echoDevice(),
    });
    const pid = await vm.createProcess('t');
    // not awaited one by one: the table runs them in the order they were made
    const results = await Promise.all([
      runFileCall(vm, pid, { kind: 'open', path: '/dev/echo', flags: 2 }),
      runFileCall(vm, pid, { kind: 'write', fd: 0, data: Uint8Array.of(1, 2, 3) }),
      runFileCall(vm, pid, { kind: 'read', fd: 0, count: 2 }),
      runFileCall(vm, pid, { kind: 'close', fd: 0 }),
      runFileCall(vm, pid, { kind: 'close', fd: 0 }),
      runFileCall(vm, pid, { kind: 'open', path: '/dev/none', flags: 0 }),
    ]);
    expect(results).toEqual([
      { ret: 0 },
      { ret: 3 },
      { ret: 2, data: Uint8Array.of(1, 2) },
      { ret: 0 },
      { errno: 'EBADF' },
      { errno: 'ENOENT' },
    ]);
  });
});
