/** `127.0.0.1` + 50051 → `127.0.0.1:50051`; an IPv6 host gets brackets: `[::1]:50051`. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
