export { createFileStore, FileStore } from './file-store.js';
export type { FileStoreOptions } from './file-store.js';
export { describeRef, refKey, refOf } from './refs.js';
export { formatProblem } from './errors.js';
export type {
  ApplyAction, ApplyOptions, ApplyResultItem, ChangeAction, ConfigStore, DeleteOptions, DeleteResultItem, ResourceOrigin, ResourceRef,
  StoreChange, StoreErrorCode, StoreEvent, StoreListener, StoreOutcome, StoreProblem, StoredResource,
} from './types.js';
