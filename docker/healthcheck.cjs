// The containers' health check: exits 0 when the service at PAGEMESH_HEALTH_ADDRESS (or the first
// argument) answers grpc.health.v1.Health/Check SERVING, 1 otherwise.
//
// Docker runs it in every container every few seconds for as long as the stack is up, so it is
// written against node:http2 alone: loading grpc-js costs about 0.3 s of CPU per run (five
// containers probed every 2 s took most of a core on two), this about 0.07 s. It speaks the
// little of gRPC over HTTP/2 that one unary call needs: a length-prefixed request, the
// length-prefixed response, and grpc-status in the trailers.
'use strict';
const http2 = require('node:http2');

/** How long one probe may take: less than the HEALTHCHECK timeout, so a slow probe says why. */
const TIMEOUT_MS = 1500;
/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING (grpc/health/v1/health.proto). */
const SERVING = 1;
/** The gRPC message prefix: a compressed flag byte, then a 4-byte big-endian length. */
const PREFIX_BYTES = 5;
/** HealthCheckRequest{service: ""}, the server's overall health: an empty message, uncompressed. */
const REQUEST = Buffer.alloc(PREFIX_BYTES);

const address = process.argv[2] ?? process.env.PAGEMESH_HEALTH_ADDRESS;
if (!address) fail('no address (argument or PAGEMESH_HEALTH_ADDRESS)');

function fail(why) {
  process.stderr.write(`healthcheck: ${address}: ${why}\n`);
  process.exit(1);
}

/** The `status` field (1, varint) of a HealthCheckResponse; 0 (UNKNOWN) when absent. */
function servingStatus(message) {
  let at = 0;
  let status = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; at < message.length; shift += 7) {
      const byte = message[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    fail('truncated HealthCheckResponse');
  };
  while (at < message.length) {
    const key = varint();
    if (key === 0x08) status = varint();
    else if ((key & 7) === 0) varint();
    else if ((key & 7) === 2) at += varint();
    else fail(`unexpected field key ${key} in HealthCheckResponse`);
  }
  return status;
}

setTimeout(() => fail(`no answer in ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();
const session = http2.connect(`http://${address}`);
session.on('error', (e) => fail(e.message));
const call = session.request({
  ':method': 'POST',
  ':path': '/grpc.health.v1.Health/Check',
  'content-type': 'application/grpc',
  te: 'trailers',
});
const chunks = [];
let grpcStatus;
let grpcMessage = '';
// A trailers-only answer (an error) puts grpc-status in the headers.
const readStatus = (headers) => {
  if (headers['grpc-status'] !== undefined) grpcStatus = Number(headers['grpc-status']);
  if (headers['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(headers['grpc-message']);
};
call.on('response', readStatus);
call.on('trailers', readStatus);
call.on('data', (chunk) => chunks.push(chunk));
call.on('error', (e) => fail(e.message));
call.on('end', () => {
  session.close();
  if (grpcStatus !== 0) fail(`grpc-status ${grpcStatus} ${grpcMessage}`);
  const body = Buffer.concat(chunks);
  if (body.length < PREFIX_BYTES || body[0] !== 0) fail('not one uncompressed HealthCheckResponse');
  const status = servingStatus(body.subarray(PREFIX_BYTES, PREFIX_BYTES + body.readUInt32BE(1)));
  if (status !== SERVING) fail(`status ${status}, not SERVING (${SERVING})`);
  process.exit(0);
});
call.end(REQUEST);
