import { squeeze } from './start';

describe('squeeze', () => {
  it('counts runs of the same line and keeps the rest', () => {
    expect(squeeze(['matched', 'matched', 'matched', 'mmaped :10 MB', 'matched'])).toEqual([
      'matched  ×3',
      'mmaped :10 MB',
      'matched',
    ]);
    expect(squeeze([])).toEqual([]);
  });
});
