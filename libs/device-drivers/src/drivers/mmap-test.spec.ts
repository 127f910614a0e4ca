import { PAGE_SIZE } from '@pagemesh/uapi';

import { O_RDWR } from '../file';
import { applyRemapRequests } from '../remap';
import { type LabMachine, bootLabMachine, deviceVma } from '../testing/lab-machine';

import { MMAP_DEV, MY_MAJOR, MY_MINOR, NPAGES, PROC_ENTRY_NAME, WRITE_PATTERN } from './lab-constants';

/**
 * mmap-test.c (tools/labs/templates/memory_mapping/test) played through this layer and the real
 * mmu: the vma-manager's part (VMAs, copying between user memory and the driver) is done by hand.
 * The transcript is what the program prints for `./mmap-test 3`.
 */
const DEV_VA = 0x7f5500000000;
const ANON = { start: 0x7f5400000000, end: 0x7f5400000000 + 10 * 1024 * 1024 };
const BASE_VMAS = [
  { start: 0x555555554000, end: 0x555555556000 }, // the program
  { start: 0x7ffffffde000, end: 0x7ffffffff000 }, // its stack
];

async function mmapTest(m: LabMachine, module: string): Promise<string> {
  let out = '';
  const printf = (s: string) => (out += s);
  await m.dd.loadModule(module);
  expect(await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR)).toEqual({ errno: null });
  const opened = await m.dd.open(MMAP_DEV, O_RDWR | 0o4010000);
  if (!('file' in opened)) throw new Error(opened.errno);
  const fd = opened.file.id;
  const asid = await m.mmu.createAddressSpace();
  m.mmu.switchTo(0, asid);
  const vma = deviceVma(m.mmu, {
    start: DEV_VA,
    pages: NPAGES,
    prot: { read: true },
    shared: true,
    fileWritable: true,
  });
  const answer = await m.dd.mmap(fd, vma);
  if (!('requests' in answer)) throw new Error(answer.errno);
  expect((await applyRemapRequests(m.mmu, asid, vma, answer.requests)).errno).toBeNull();
  await m.dd.getFile(fd);

  const testContents = async (at: number | Uint8Array, pattern: Uint8Array) => {
    for (let i = 0; i < NPAGES; i++) {
      let bytes: Uint8Array;
      if (at instanceof Uint8Array) bytes = at.subarray(i * PAGE_SIZE, i * PAGE_SIZE + 4);
      else {
        const [r] = await m.mmu.accessBatch([
          { cpu: 0, va: at + i * PAGE_SIZE, op: 'read', user: true, length: 4 },
        ]);
        if (r.kind !== 'ok') throw new Error(`SIGSEGV/SIGBUS at page ${i}: ${r.kind}`);
        bytes = r.data as Uint8Array;
      }
      if (bytes.join() === pattern.join()) printf('matched\n');
      else printf(`${[...bytes].map((b) => `0x${b.toString(16)}`).join(' ')}\n`);
    }
  };
  await testContents(DEV_VA, Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd));

  // test >= 2
  printf('\nWrite test ...\n');
  const local = new Uint8Array(NPAGES * PAGE_SIZE);
  for (let i = 0; i < NPAGES; i++) local.set(WRITE_PATTERN, i * PAGE_SIZE);
  expect(await m.dd.write(fd, local)).toEqual({ written: local.length });
  await testContents(DEV_VA, WRITE_PATTERN);
  printf('\nRead test ...\n');
  const r = await m.dd.read(fd, local.length);
  if (!('data' in r)) throw new Error(r.errno);
  await testContents(r.data, WRITE_PATTERN);

  // test >= 3
  const usage = async (vmas: { start: number; end: number }[]) => {
    const p = await m.dd.readProc(PROC_ENTRY_NAME, { comm: 'mmap-test', vmas }, 40);
    if (!('text' in p)) throw new Error(p.errno);
    const n = parseInt(p.text, 10);
    printf(`Memory usage: ${n}\n`);
    return n;
  };
  const devVma = { start: vma.vmStart, end: vma.vmEnd };
  const before = await usage([...BASE_VMAS.slice(0, 1), devVma, BASE_VMAS[1]]);
  const after = await usage([...BASE_VMAS.slice(0, 1), ANON, devVma, BASE_VMAS[1]]);
  printf(`mmaped :${Math.floor((after - before) / 2 ** 20)} MB\n`);

  // munmap, close, rm /dev/mymmap
  await m.mmu.unmapPages(asid, DEV_VA, NPAGES);
  await m.dd.fput(fd);
  await m.dd.fput(fd);
  expect(await m.dd.unlink(MMAP_DEV)).toEqual({ errno: null });
  m.mmu.switchTo(0, 0);
  await m.mmu.destroyAddressSpace(asid);
  expect(await m.dd.unloadModule(module)).toEqual({ errno: null });
  return out;
}

const total = 0x2000 + 0x21000 + NPAGES * PAGE_SIZE;
const EXPECTED =
  'matched\n'.repeat(NPAGES) +
  '\nWrite test ...\n' +
  'matched\n'.repeat(NPAGES) +
  '\nRead test ...\n' +
  'matched\n'.repeat(NPAGES) +
  `Memory usage: ${total}\nMemory usage: ${total + 10 * 2 ** 20}\nmmaped :10 MB\n`;

describe('mmap-test 3', () => {
  it.each(['kmmap', 'vmmap'])(
    '%s prints the expected transcript and leaves nothing behind',
    async (module) => {
      const m = await bootLabMachine();
      const baseline = m.pa.nrFreePages + m.mmu.tablePages();
      expect(await mmapTest(m, module)).toBe(EXPECTED);
      expect(m.pa.nrFreePages + m.mmu.tablePages()).toBe(baseline);
      expect(m.dd.dmesg().slice(0, 3)).toEqual([
        '555555554000 555555556000',
        '7f5500000000 7f5500010000',
        '7ffffffde000 7ffffffff000',
      ]);
    },
  );

  it('pages creates no /proc/my-proc-entry: phase 3 cannot open it (ENOENT)', async () => {
    const m = await bootLabMachine();
    await m.dd.loadModule('pages');
    await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
    expect(await m.dd.readProc(PROC_ENTRY_NAME, { comm: 'mmap-test', vmas: [] })).toEqual({
      errno: 'ENOENT',
    });
  });
});
