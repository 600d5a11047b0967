import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Size } from '@twarga/contract';
import { ApiError } from '../../api';
import { serverFieldErrors } from './createForm';
import { initialResize, priceLine, resizeErrorTitle, resizeRequest, validateResize } from './resizeForm';

const size = (slug: string, memory: number, vcpus: number, disk: number, price_hourly: number): Size => ({ slug, memory, vcpus, disk, price_hourly, description: '' });
const SIZES = [size('s-1vcpu-256mb', 256, 1, 1, 1), size('s-1vcpu-512mb', 512, 1, 2, 2), size('s-1vcpu-1gb', 1024, 1, 10, 4)];
const vm = { size: 's-1vcpu-512mb', ram: 512, cpu: 1, disk: 2, price_hourly: 2 };

test('the dialog opens on the VM own size, or Custom with its numbers', () => {
  assert.deepEqual(initialResize(vm, SIZES), { size: 's-1vcpu-512mb', custom: { ram: '512', cpu: '1', disk: '2' } });
  assert.equal(initialResize({ ...vm, size: null }, SIZES).size, null);
});

test('a disk never shrinks, and the same size is no resize', () => {
  assert.match(validateResize(vm, { size: 's-1vcpu-256mb', custom: initialResize(vm, SIZES).custom }, SIZES[0]).size!, /smaller than this VM/);
  assert.match(validateResize(vm, { size: null, custom: { ram: '512', cpu: '1', disk: '1' } }, undefined).disk!, /only grows: at least 2 GB/);
  assert.match(validateResize(vm, { size: 's-1vcpu-512mb', custom: initialResize(vm, SIZES).custom }, SIZES[1]).size!, /size the VM has/);
  assert.deepEqual(validateResize(vm, { size: 's-1vcpu-1gb', custom: initialResize(vm, SIZES).custom }, SIZES[2]), {});
  assert.deepEqual(validateResize(vm, { size: null, custom: { ram: '768', cpu: '2', disk: '5' } }, undefined), {});
});

test('the request carries a slug or the three numbers; the price applies from the next hour', () => {
  assert.deepEqual(resizeRequest({ size: 's-1vcpu-1gb', custom: { ram: '', cpu: '', disk: '' } }), { action: 'resize', size: 's-1vcpu-1gb' });
  assert.deepEqual(resizeRequest({ size: null, custom: { ram: '768', cpu: '2', disk: '5' } }), { action: 'resize', ram: 768, cpu: 2, disk: 5 });
  assert.equal(priceLine(vm, SIZES[2], false), '4 credits/hour (now 2 credits/hour), charged from the next hour.');
});

test('refusals read as what they are: quota, room on the host, bad fields next to their field', () => {
  assert.equal(resizeErrorTitle(new ApiError(403, { code: 'quota_exceeded', message: 'RAM quota', request_id: 'r' })), 'Quota reached');
  assert.equal(resizeErrorTitle(new ApiError(507, { code: 'insufficient_storage', message: 'no room', request_id: 'r' })), 'Not enough storage on the host');
  assert.equal(resizeErrorTitle(new ApiError(409, { code: 'no_capacity', message: 'no RAM left', request_id: 'r' })), 'Not possible right now');
  const bad = new ApiError(400, { code: 'validation_failed', message: 'bad', request_id: 'r', details: [{ field: 'disk', message: 'must be >= 2' }] });
  assert.match(serverFieldErrors(bad).disk!, /^Disk \(GB\)/);
});
