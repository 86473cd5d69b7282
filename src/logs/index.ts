/** What other parts may use from logs: the store `berth up` creates, its types, and query parsing for HTTP APIs. */
export { createLogStore, type LogStoreOptions, type EmbeddedLogStore } from './store.js';
export { filterFromParams, queryFromParams } from './filter.js';
export { LogQueryError } from './query-error.js';
export { detectLevel } from './levels.js';
export { OtlpExporter, toOtlpRequest } from './otlp.js';
export * from './types.js';
