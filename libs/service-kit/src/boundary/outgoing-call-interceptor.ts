import { InterceptingCall, type Interceptor, type Listener, type Requester } from '@grpc/grpc-js';
import { itemsOf, type CallerFigures, type MethodFigures } from './outgoing-calls';

/**
 * A client interceptor that records every call into `figures` (the ClientPool gives one to each
 * client it makes, so that every call between pagemesh services is measured without its caller
 * doing anything):
 *
 * - a unary, server-streaming or client-streaming call is one call, timed from its start to its
 *   status (a failed call counts too: it crossed the boundary), carrying the items of what it sent;
 * - a bidi stream is a stream of batches (every one in pagemesh is served by serveBatchStream:
 *   one answer per request, in order, and driven by BatchStreamClient), so each batch is one
 *   call, timed from its request's send to its answer: what a caller of BatchStreamClient.send
 *   waits. A stream that breaks drops the batches it had in flight: they have no latency.
 *
 * Items are what `itemsOf` counts: the length of the request's first repeated field, else 1.
 * The per-call cost is the InterceptingCall and its two small handler objects, two
 * `performance.now()` and the counters; a batch adds two numbers to two queues.
 */
export function outgoingCallInterceptor(figures: CallerFigures): Interceptor {
  return (options, nextCall) => {
    const def = options.method_definition;
    const method = figures.method(def.path);
    const call = nextCall(options);
    return new InterceptingCall(
      call,
      def.requestStream && def.responseStream ? batchStreamRequester(method) : callRequester(method),
    );
  };
}

function callRequester(method: MethodFigures): Requester {
  let startedAt = 0;
  let items = 0;
  return {
    start(metadata, _listener, next) {
      startedAt = performance.now();
      const listener: Listener = {
        onReceiveStatus(status, nextStatus) {
          method.record(items, performance.now() - startedAt);
          nextStatus(status);
        },
      };
      next(metadata, listener);
    },
    sendMessage(message, next) {
      items += itemsOf(message);
      next(message);
    },
  };
}

function batchStreamRequester(method: MethodFigures): Requester {
  // The batches in flight, oldest first: when each was sent and what it carried.
  const sentAt: number[] = [];
  const items: number[] = [];
  let head = 0;
  return {
    start(metadata, _listener, next) {
      const listener: Listener = {
        onReceiveMessage(message, nextMessage) {
          if (head < sentAt.length) {
            method.record(items[head], performance.now() - sentAt[head]);
            head++;
            if (head === sentAt.length) sentAt.length = items.length = head = 0;
          }
          nextMessage(message);
        },
      };
      next(metadata, listener);
    },
    sendMessage(message, next) {
      sentAt.push(performance.now());
      items.push(itemsOf(message));
      next(message);
    },
  };
}
