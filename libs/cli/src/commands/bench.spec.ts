import { runCli } from '../program';
import { captureIo } from '../testing/capture-io';

describe('pagemesh bench', () => {
  it('prints one JSON line {id, value, unit} per benchmark with --json', async () => {
    const io = captureIo();
    expect(await runCli(['bench', '--json', '--filter', 'wire.enum', '--repeats', '1'], io)).toBe(0);
    expect(io.lines).toHaveLength(1);
    const line = JSON.parse(io.lines[0]);
    expect(line).toMatchObject({ id: 'wire.enum_batch_decode_number_items_per_s', unit: 'items/s' });
    expect(line.value).toBeGreaterThan(0);
  });

  it('lists the benchmarks with their goals', async () => {
    const io = captureIo();
    expect(await runCli(['bench', '--list'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(/allocator\.order0_alloc_free_per_s .*goal >= 5000000/);
  });

  it('refuses a bad option with a usage error', async () => {
    const io = captureIo();
    expect(await runCli(['bench', '--repeats', 'many'], io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(/expected a non-negative integer/);
  });
});
