import { PAGE_SIZE } from '@pagemesh/uapi';
import * as grpc from '@grpc/grpc-js';
export const X = PAGE_SIZE + (grpc ? 0 : 1);
