/**
 * The file syscalls of a process (open, read, write, close of device nodes), as one vocabulary
 * for whoever forwards a process's calls to the process table: the in-process replay port and
 * the vma-manager service's StreamSyscalls. Memory syscalls (syscall.ts) go to the table in
 * batches; a file call goes to the table's fd method of the same name.
 */
import type { Errno } from '@pagemesh/uapi';
import type { Syscall } from './syscall';
import type { VmaManager } from './process-table';

export type FileCall =
  | { readonly kind: 'open'; readonly path: string; readonly flags: number }
  | { readonly kind: 'read'; readonly fd: number; readonly count: number }
  | { readonly kind: 'write'; readonly fd: number; readonly data: Uint8Array }
  | { readonly kind: 'close'; readonly fd: number };

/** Any call a process makes to the process table: a memory syscall or a file call. */
export type ProcessCall = Syscall | FileCall;

/** A call's return value (with read's bytes) or Linux's errno. */
export type ProcessCallResult =
  { readonly ret: number; readonly data?: Uint8Array } | { readonly errno: Errno };

const FILE_CALLS: ReadonlySet<string> = new Set<FileCall['kind']>(['open', 'read', 'write', 'close']);

export function isFileCall(call: ProcessCall): call is FileCall {
  return FILE_CALLS.has(call.kind);
}

/**
 * Runs a file call on the process table's fd methods. The table queues the call when this is
 * called (not when the promise is awaited), so calls made back to back run in that order.
 */
export function runFileCall(vm: VmaManager, pid: number, call: FileCall): Promise<ProcessCallResult> {
  switch (call.kind) {
    case 'open':
      return vm.open(pid, call.path, call.flags);
    case 'read':
      return vm.read(pid, call.fd, call.count);
    case 'write':
      return vm.write(pid, call.fd, call.data);
    case 'close':
      return vm.close(pid, call.fd);
  }
}
