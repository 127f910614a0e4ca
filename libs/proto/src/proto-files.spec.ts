import { existsSync } from 'node:fs';
import { PageAllocatorServiceService, Errno, GetPagesRequest } from './index';
import { protoFile, PROTO_FILES } from './proto-files';

describe('generated protos', () => {
  it('finds every service .proto', () => {
    for (const name of Object.keys(PROTO_FILES) as (keyof typeof PROTO_FILES)[]) {
      expect(existsSync(protoFile(name))).toBe(true);
    }
  });

  it('numbers errno as Linux does', () => {
    expect(Errno.ERRNO_EINVAL).toBe(22);
    expect(Errno.ERRNO_ENOMEM).toBe(12);
  });

  it('round-trips 64-bit fields as bigint', () => {
    const msg = GetPagesRequest.fromPartial({ startPfn: 0xffff888000000000n, count: 3 });
    const back = GetPagesRequest.decode(GetPagesRequest.encode(msg).finish());
    expect(back.startPfn).toBe(0xffff888000000000n);
    expect(PageAllocatorServiceService.allocPages.path).toBe('/pagemesh.v1.PageAllocatorService/AllocPages');
  });
});
