import { DEVTMPFS_DEV, DevtmpfsInodes, FIRST_DEVTMPFS_INO } from './devtmpfs';

describe('devtmpfs inode numbers', () => {
  it('numbers nodes by path from FIRST_DEVTMPFS_INO, stable for a path; maps prints 00:05', () => {
    const inodes = new DevtmpfsInodes();
    expect([inodes.ino('/dev/mymmap'), inodes.ino('/dev/other'), inodes.ino('/dev/mymmap')]).toEqual([
      FIRST_DEVTMPFS_INO,
      FIRST_DEVTMPFS_INO + 1,
      FIRST_DEVTMPFS_INO,
    ]);
    expect(DEVTMPFS_DEV).toEqual({ major: 0, minor: 5 });
  });
});
