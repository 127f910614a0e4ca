import { Writable } from 'node:stream';
import { createServiceLogger, defaultLogLevel } from './logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('createServiceLogger', () => {
  it('binds the service name and writes bigints as hex strings', () => {
    const { lines, destination } = capture();
    const logger = createServiceLogger('mmu', { level: 'info', destination });
    logger.info({ va: 0xffff888000000000n, nested: { pfns: [1n, 255n] } }, 'mapped');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'mmu',
      msg: 'mapped',
      va: '0xffff888000000000',
      nested: { pfns: ['0x1', '0xff'] },
    });
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const logger = createServiceLogger('mmu', { level: 'warn', destination });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines.map((l) => l['msg'])).toEqual(['shown']);
  });

  it('is silent by default under Jest', () => {
    expect(defaultLogLevel()).toBe('silent');
    expect(createServiceLogger('mmu').level).toBe('silent');
  });
});
