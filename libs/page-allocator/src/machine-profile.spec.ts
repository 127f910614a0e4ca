import { buildMachineProfile, validateMachineConfig } from './machine-profile';
import { Zone } from './zone-type';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('machine profiles', () => {
  it('x86_64: DMA below 16 MiB, DMA32 below 4 GiB, Normal above, direct map at 0xffff888000000000', () => {
    const p = buildMachineProfile(validateMachineConfig({ memBytes: 8 * GiB }));
    expect(p.zones.map((z) => [z.name, z.startPfn, z.endPfn])).toEqual([
      ['DMA', 0, 0x1000],
      ['DMA32', 0x1000, 0x100000],
      ['Normal', 0x100000, 0x200000],
      ['Movable', 0, 0],
    ]);
    expect(p.pageOffset).toBe(0x888000000000);
    expect(p.maxLowPfn).toBe(p.maxPfn);
    expect(p.hasHighmem).toBe(false);
    expect(p.structPageSize).toBe(64);
  });

  it('x86: DMA below 16 MiB, Normal up to 896 MiB, HighMem above, lowmem at 0xC0000000', () => {
    const p = buildMachineProfile(validateMachineConfig({ arch: 'x86', memBytes: 2 * GiB }));
    expect(p.zones.map((z) => [z.zone, z.startPfn, z.endPfn])).toEqual([
      [Zone.DMA, 0, 0x1000],
      [Zone.Normal, 0x1000, 0x38000],
      [Zone.HighMem, 0x38000, 0x80000],
      [Zone.Movable, 0, 0],
    ]);
    expect(p.lowmemLimit).toBe(896 * MiB);
    expect(p.vmallocStart).toBe(0xf8800000);
  });

  it('reserves the first 1 MiB, the kernel image at 16 MiB and mem_map at the top of lowmem', () => {
    const p = buildMachineProfile(validateMachineConfig({ memBytes: 1 * GiB }));
    expect(p.reservations.map((r) => [r.name, r.startPfn, r.endPfn])).toEqual([
      ['low 1 MiB', 0, 256],
      ['kernel image', 0x1000, 0x1800],
      ['mem_map', 0x40000 - 4096, 0x40000],
    ]);
    expect(p.zeroPagePfn).toBe(0x17ff);
    // a machine too small for a kernel at 16 MiB has it right above the low reservation
    const small = buildMachineProfile(validateMachineConfig({ memBytes: 16 * MiB }));
    expect(small.reservations[1].startPfn).toBe(256);
  });

  it('rejects sizes outside 16 MiB .. 64 GiB and bad fields with the field name', () => {
    expect(() => validateMachineConfig({ memBytes: 64 * GiB + 4096 })).toThrow(/^memBytes=/);
    expect(() => validateMachineConfig({ minFreeKbytes: -1 })).toThrow(/^minFreeKbytes=-1/);
    expect(() => validateMachineConfig({ nrCpus: 0 })).toThrow(/^nrCpus=0/);
    expect(validateMachineConfig(undefined)).toEqual({ arch: 'x86_64', memBytes: 4 * GiB });
    expect(validateMachineConfig({ arch: 'x86', memBytes: undefined })).toEqual({
      arch: 'x86',
      memBytes: 4 * GiB,
    });
  });
});
