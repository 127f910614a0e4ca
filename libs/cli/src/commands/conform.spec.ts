import { join } from 'node:path';
import { runCli } from '../program';
import { captureIo } from '../testing/capture-io';

const oracle = join(__dirname, '../../../vma-manager/src/conformance/fixtures');

describe('pagemesh conform', () => {
  it('replays a case in-process and prints the summary line', async () => {
    const io = captureIo();
    expect(await runCli(['conform', oracle, '--case', 'mseal', 'munmap_errors'], io)).toBe(0);
    const text = io.lines.join('\n');
    expect(text).toMatch(/^ok +mseal$/m);
    expect(text).toMatch(/2 passed, 0 failed/);
  });

  it('gives the same report as JSON', async () => {
    const io = captureIo();
    expect(await runCli(['conform', oracle, '--case', 'mseal', '--json', '--tier', '3'], io)).toBe(0);
    const report = JSON.parse(io.lines[0]);
    expect(report).toMatchObject({ tier: 3, transport: 'inproc', passed: 1, failed: 0 });
  });

  it('refuses a directory that is not an oracle', async () => {
    const io = captureIo();
    expect(await runCli(['conform', __dirname], io)).toBe(1);
    expect(io.errors[0]).toMatch(/not an oracle directory/);
  });

  it('refuses an unknown tier', async () => {
    const io = captureIo();
    expect(await runCli(['conform', oracle, '--tier', '4'], io)).toBe(2);
  });
});
