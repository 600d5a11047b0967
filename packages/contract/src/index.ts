export * from './constants.js';
export * from './common.js';
export * from './auth.js';
export * from './account.js';
export * from './admin.js';
export * from './events.js';
export * from './client.js';
export * from './vms.js';
