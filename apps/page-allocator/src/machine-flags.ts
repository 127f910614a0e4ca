import type { MachineConfig } from '@pagemesh/page-allocator';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "4G", "512M", "4GiB", "16777216" → bytes. Throws RangeError naming the flag and value. */
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m)
    throw new RangeError(
      `invalid --${flag} ${JSON.stringify(text)}: expected a size such as 4G, 512M or 16777216`,
    );
  return Number(m[1]) * UNITS[m[2].toUpperCase()];
}

/** The machine the page allocator boots, from its --arch, --mem, --cpus and --min-free-kbytes flags. */
export function machineFromFlags(extra: Readonly<Record<string, string>>): Partial<MachineConfig> {
  const config: Partial<MachineConfig> = {};
  if (extra['arch'] !== undefined) {
    if (extra['arch'] !== 'x86_64' && extra['arch'] !== 'x86') {
      throw new RangeError(`invalid --arch ${JSON.stringify(extra['arch'])}: expected x86_64 or x86`);
    }
    config.arch = extra['arch'];
  }
  if (extra['mem'] !== undefined) config.memBytes = parseSize('mem', extra['mem']);
  if (extra['cpus'] !== undefined) {
    if (!/^\d+$/.test(extra['cpus']))
      throw new RangeError(`invalid --cpus ${JSON.stringify(extra['cpus'])}: expected a positive integer`);
    // nr_cpu_ids: the per-cpu slab and pcp structures (the mmu's --cpus should match)
    config.nrCpus = Number(extra['cpus']);
  }
  if (extra['min-free-kbytes'] !== undefined) {
    const n = Number(extra['min-free-kbytes']);
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `invalid --min-free-kbytes ${JSON.stringify(extra['min-free-kbytes'])}: expected an integer`,
      );
    }
    config.minFreeKbytes = n;
  }
  return config;
}

export const MACHINE_FLAGS = ['arch', 'mem', 'cpus', 'min-free-kbytes'] as const;
