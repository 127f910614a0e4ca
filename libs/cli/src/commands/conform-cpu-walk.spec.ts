import type { MapsLine } from '@pagemesh/vma-manager';
import { walkPages, type WalkFaultOutcome, type WalkMachine } from './conform-cpu-walk';

const PAGE = 4096;
const A = 0x7e00_0000_0000;
/** x86 error code bits (arch/x86/include/asm/trap_pf.h) */
const PF_PROT = 1;
const PF_WRITE = 2;
const PF_USER = 4;

const line = (start: number, pages: number, perms: string, ino = 0): MapsLine => {
  const end = start + pages * PAGE;
  return { start, end, text: `${start.toString(16)}-${end.toString(16)} ${perms} 00000000 00:00 ${ino} ` };
};

/**
 * A machine whose handler maps any page of a VMA that allows the access, except pages listed as
 * SIGBUS or as refused; it records every batch of faults it is given.
 */
function fakeMachine(
  vmas: MapsLine[],
  opts: { present?: number[]; sigbus?: number[]; refuse?: number[]; readOnly?: number[] } = {},
) {
  const present = new Set(opts.present ?? []);
  const readOnly = new Set(opts.readOnly ?? []);
  const batches: number[][] = [];
  const vmaAt = (va: number) => vmas.find((v) => v.start <= va && va < v.end);
  const m: WalkMachine = {
    async access(accesses) {
      const done: { data?: Uint8Array }[] = [];
      for (const a of accesses) {
        const p = (a.va - A) / PAGE;
        if (!present.has(p) || (a.op === 'write' && readOnly.has(p))) {
          const code = PF_USER | (a.op === 'write' ? PF_WRITE : 0) | (present.has(p) ? PF_PROT : 0);
          return { done, fault: { kind: 'page-fault', address: a.va, errorCode: code } };
        }
        done.push(a.op === 'read' ? { data: Uint8Array.of(p) } : {});
      }
      return { done };
    },
    async handleFaults(faults) {
      batches.push(faults.map((f) => (f.address - A) / PAGE));
      return faults.map((f): WalkFaultOutcome => {
        const p = (f.address - A) / PAGE;
        const v = vmaAt(f.address);
        if (!v || opts.refuse?.includes(p)) return 'sigsegv';
        if (opts.sigbus?.includes(p)) return 'sigbus';
        present.add(p);
        readOnly.delete(p);
        return 'handled';
      });
    },
    async present(va, count) {
      return Array.from({ length: count }, (_, k) => present.has((va - A) / PAGE + k));
    },
    async maps() {
      return vmas;
    },
  };
  return { m, batches };
}

describe('the CPU walk of touch', () => {
  it('delivers the not-present faults of a private anonymous VMA ahead, in order, each once', async () => {
    const { m, batches } = fakeMachine([line(A, 10, 'rw-p')], { present: [3] });
    const walk = await walkPages(m, A, 10, false, 0);
    expect(walk).toEqual({ done: 10, signal: null, minflt: 9, bytes: [...Array(10).keys()] });
    expect(batches).toEqual([
      [0, 1, 2],
      [4, 5, 6, 7, 8, 9],
    ]);
  });

  it('delivers faults of shared or file VMAs one by one (fault-around, SIGBUS past the end)', async () => {
    const { m, batches } = fakeMachine([line(A, 4, 'rw-s', 7)], { sigbus: [2] });
    const walk = await walkPages(m, A, 4, true, 9);
    expect(walk).toEqual({ done: 2, signal: 'SIGBUS', minflt: 2, bytes: [] });
    expect(batches).toEqual([[0], [1], [2]]);
  });

  it('stops fault-ahead at the end of the VMA; the hole after it is SIGSEGV at its page', async () => {
    const { m, batches } = fakeMachine([line(A, 3, 'rw-p')]);
    const walk = await walkPages(m, A, 6, true, 1);
    expect(walk).toMatchObject({ done: 3, signal: 'SIGSEGV', minflt: 3 });
    expect(batches).toEqual([[0, 1, 2], [3]]);
  });

  it('delivers a protection fault alone, and counts it', async () => {
    const { m, batches } = fakeMachine([line(A, 3, 'rw-p')], { present: [0, 1, 2], readOnly: [1, 2] });
    const walk = await walkPages(m, A, 3, true, 1);
    expect(walk).toMatchObject({ done: 3, signal: null, minflt: 2 });
    expect(batches).toEqual([[1], [2]]);
  });

  it('fails loudly when a fault delivered ahead is not handled', async () => {
    const { m } = fakeMachine([line(A, 4, 'rw-p')], { refuse: [2] });
    await expect(walkPages(m, A, 4, false, 0)).rejects.toThrow(/fault-ahead: the fault at 0x7e0000002000/);
  });

  it('gives SIGSEGV when a handled fault comes back unchanged', async () => {
    const { m } = fakeMachine([line(A, 1, 'rw-p')]);
    const stuck: WalkMachine = { ...m, handleFaults: async (f) => f.map(() => 'handled' as const) };
    expect(await walkPages(stuck, A, 1, false, 0)).toEqual({
      done: 0,
      signal: 'SIGSEGV',
      minflt: 1,
      bytes: [],
    });
  });
});
