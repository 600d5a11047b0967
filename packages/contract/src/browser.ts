/** Runtime entry for the browser: the API client and constants, without the TypeBox schemas. */
export * from './constants.js';
export * from './client.js';
export * from './terminal-protocol.js';
export * from './metric-values.js';
