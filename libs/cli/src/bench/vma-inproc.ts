import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort } from '@pagemesh/mmu';
import { VmaManager, inprocMmuPort, inprocPagesPort } from '@pagemesh/vma-manager';
import type { Benchmark } from './benchmark';

/** PROT_READ | PROT_WRITE and MAP_PRIVATE | MAP_ANONYMOUS (include/uapi/asm-generic/mman*.h). */
const PROT_RW = 0x3;
const MAP_PRIVATE_ANON = 0x22;
/** A user write to a not-present page: X86_PF_WRITE | X86_PF_USER. */
const WRITE_FAULT = 0x6;
const PAGE = 4096;
/** 512 MiB of the 2 GiB machine: enough work per run that the JIT's first compilations do not weigh on it. */
const PAGES = 131_072;
/** Faults per handleFaults call: what a HandleFaults call takes at most (MAX_FAULTS_PER_BATCH). */
const BATCH = 4096;

/**
 * This process's CPU time in milliseconds (user + system): the handler, the mmu and the
 * allocator all run here, and the other processes of a shared machine do not count against it.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Write faults per second end to end in one process: the vma-manager's handler over the real mmu
 * and page allocator (a zeroed page from the allocator, mapped writable), 131072 pages (512 MiB)
 * of a fresh anonymous mapping faulted in batches of 4096, timed in CPU time; the process's exit
 * (which frees them) is not timed.
 */
async function writeFaults(): Promise<number> {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 2 * 2 ** 30 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const vma = await VmaManager.create({ mmu: inprocMmuPort(mmu), pages: inprocPagesPort(pa) });
  const pid = await vma.createProcess('bench');
  const [mapped] = await vma.syscalls([
    { pid, call: { kind: 'mmap', addr: 0, length: PAGES * PAGE, prot: PROT_RW, flags: MAP_PRIVATE_ANON } },
  ]);
  if (!('ret' in mapped)) throw new Error(`mmap for the fault benchmark failed: ${JSON.stringify(mapped)}`);
  const base = Number(mapped.ret);
  const t0 = cpuMs();
  for (let first = 0; first < PAGES; first += BATCH) {
    const outcomes = await vma.handleFaults(
      Array.from({ length: BATCH }, (_, i) => ({
        pid,
        address: base + (first + i) * PAGE,
        errorCode: WRITE_FAULT,
      })),
    );
    if (outcomes.some((o) => o !== 'handled')) throw new Error('a benchmark write fault was not handled');
  }
  const seconds = (cpuMs() - t0) / 1000;
  await vma.exitProcess(pid);
  return Math.round(PAGES / seconds);
}

export const vmaInprocBenchmarks: Benchmark[] = [
  { id: 'vma.write_faults_per_s', unit: 'faults/s', goal: { op: '>=', value: 1_000_000 }, run: writeFaults },
];
