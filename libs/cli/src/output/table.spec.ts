import { formatNumber, renderTable } from './table';

describe('renderTable', () => {
  it('aligns text left and numbers right', () => {
    expect(
      renderTable(
        ['name', 'pages'],
        [
          ['dma', '3'],
          ['normal', '1024'],
        ],
      ),
    ).toBe(['name    pages', '------  -----', 'dma         3', 'normal   1024'].join('\n'));
  });
});

describe('formatNumber', () => {
  it('groups thousands and keeps small values readable', () => {
    expect(formatNumber(1234567.8)).toBe('1,234,568');
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatNumber(NaN)).toBe('NaN');
  });
});
