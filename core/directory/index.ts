export * from './model.js';
export { Directory, type DirectoryOptions } from './directory.js';
export { NumberAllocator, type NumberKind, type AllocatorOptions } from './allocation.js';
export { DirectoryLayout, identityKey } from './layout.js';
export { IdentityBoundElsewhereError, checkIdentityRef, describeIdentity } from './identities.js';
export { readContextCsn } from './change-signal.js';
export { NAME_PATTERN, checkUsername, checkCampaignName } from './validate.js';
export { toGeneralizedTime, fromGeneralizedTime } from './time.js';
export { openDirectory, type OpenDirectory } from './open.js';
