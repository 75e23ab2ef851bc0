export { forgeErrorDetail, retryTime } from './errors.js';
export type { ForgeErrorDetail, TokenSource } from './errors.js';
export type { FetchFn } from './http.js';
export { parseRemoteUrl } from './remote-url.js';
export type { RemoteRepo } from './remote-url.js';
export { forgeSettingsOf, openForge, resolveForgeTarget } from './select.js';
export type { ForgeDeps, ForgeSettings, ForgeTarget } from './select.js';
export type {
  Check,
  ChecksReport,
  ChecksState,
  Forge,
  ForgeKind,
  MergeMethod,
  MergeResult,
  OpenPullRequestInput,
  OpenedPullRequest,
  PullRequest,
  PullRequestState,
} from './types.js';
