import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryClient } from '@tanstack/react-query';
import { keys } from '../api';
import { openLiveStream } from './liveStream';

/** Stands in for the browser's EventSource: the test says when it opens. */
class FakeSource {
  static last: FakeSource | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: (() => void) | null = null;
  readyState = 0;
  constructor(readonly url: string) {
    FakeSource.last = this;
  }
  addEventListener() {}
  close() {
    this.readyState = 2;
  }
}

test('the first open of the stream refetches what the page loaded before it subscribed', () => {
  const qc = new QueryClient();
  // The page fetched the VM (say, "stopping") a moment before the stream opened; it stopped in between.
  qc.setQueryData(['vm', 5], { id: 5, status: 'stopping' });
  qc.setQueryData(keys.vms, []);
  const close = openLiveStream(qc, () => undefined, FakeSource as unknown as new (url: string) => EventSource);
  assert.equal(qc.getQueryState(['vm', 5])?.isInvalidated, false);
  FakeSource.last!.onopen!();
  assert.equal(qc.getQueryState(['vm', 5])?.isInvalidated, true, 'the VM is fetched again');
  assert.equal(qc.getQueryState(keys.vms)?.isInvalidated, true);
  close();
});
