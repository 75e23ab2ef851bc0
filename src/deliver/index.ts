export { closeoutRun } from './closeout.js';
export { driveChecksWait } from './drive.js';
export { beginChecksWait, checksWaitDueIn } from './checks-wait.js';
export { fixRound } from './fix-round.js';
export type { FixRoundCounter } from './fix-round.js';
export { NEEDS_REVIEW_LABEL, pollChecks } from './verify.js';
export { rebaseOntoBase } from './rebase.js';
export type { Rebased } from './rebase.js';
export type { QaSlot } from './closeout.js';
export { deliverBranch, mergeIntoBase } from './handback.js';
export type { Handed, HandbackTarget, MergeOptions } from './handback.js';
export {
  changesBetween,
  commitMessage,
  FALLBACK_IDENTITY,
  harvest,
  resolveIdentity,
} from './harvest.js';
export type { Harvest, Identity } from './harvest.js';
export { handbackTarget } from './target.js';
export {
  deliverPullRequest,
  forgeFor,
  pullRequestBody,
  pullRequestTitle,
  pushWithLease,
} from './pull-request.js';
export type { PullRequestDelivery, PullRequestRecord } from './pull-request.js';
export { pullRequestStatus } from './pr-status.js';
export type { PullRequestStatus } from './pr-status.js';
export { acceptWorkspace } from './accept.js';
export type { Accepted } from './accept.js';
export { awaitsReview, deliveryState, isDeliveryOutcome, keepReason } from './review-state.js';
export type { ReviewRow } from './review-state.js';
export { rejectWorkspace, reviewList, workspaceDiff } from './review.js';
