import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorkloadFile } from './load';

describe('loadWorkloadFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .ops as an oracle script and anything else as YAML/JSON, naming the file in errors', () => {
    writeFileSync(join(dir, 'a.ops'), 'mmap 0x7e0000000000 0x1000 rw- private|anonymous\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ name: 'b', processes: [{ name: 'p', ops: [] }] }));
    writeFileSync(join(dir, 'c.yaml'), 'name: c\nprocesses:\n  - name: p\n    ops: [{ touch: {} }]\n');
    expect(loadWorkloadFile(join(dir, 'a.ops')).processes[0].ops).toHaveLength(1);
    expect(loadWorkloadFile(join(dir, 'b.json')).name).toBe('b');
    expect(() => loadWorkloadFile(join(dir, 'c.yaml'))).toThrow(
      `${join(dir, 'c.yaml')}:4:20: processes[0].ops[0].touch: missing required field 'addr'`,
    );
  });
});
