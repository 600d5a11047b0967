import assert from 'node:assert/strict';
import type { StreamEvent } from '@twarga/contract';

/**
 * An open events stream (GET /api/events/stream, SSE) that keeps every message it received;
 * resolves once the server's hello arrived (the subscription is live from then on).
 */
export async function openEventStream(base: string, token: string): Promise<{ received: StreamEvent[]; close: () => void }> {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/events/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  assert.equal(res.status, 200);
  const received: StreamEvent[] = [];
  let hello!: () => void;
  const opened = new Promise<void>((resolve) => (hello = resolve));
  void (async () => {
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          if (!block.startsWith('data: ')) continue;
          const message = JSON.parse(block.slice(6)) as StreamEvent;
          if (message.kind === 'hello') hello();
          received.push(message);
        }
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  await opened;
  return { received, close: () => abort.abort() };
}
