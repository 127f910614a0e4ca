/** Constants of the kernel-labs memory-mapping lab (tools/labs/templates/memory_mapping). */

/** NPAGES (mmap-test.h, kmmap.c, vmmap.c): pages the drivers map. */
export const NPAGES = 16;
/** MY_MAJOR (kmmap.c, vmmap.c); the minor is 0. */
export const MY_MAJOR = 42;
export const MY_MINOR = 0;
/** The region name given to register_chrdev_region (shown in /proc/devices). */
export const CHRDEV_NAME = 'mymap';
/** PROC_ENTRY_NAME (mmap-test.h): /proc/my-proc-entry. */
export const PROC_ENTRY_NAME = 'my-proc-entry';
/** The device node mmap-test creates with `mknod /dev/mymmap c 42 0`. */
export const MMAP_DEV = '/dev/mymmap';
/** Bytes 0..3 of every page after init. */
export const INIT_PATTERN: Uint8Array = Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd);
/** Bytes 0..3 of every page mmap-test writes with write(2). */
export const WRITE_PATTERN: Uint8Array = Uint8Array.of(0xa0, 0xb0, 0xc0, 0xd0);
