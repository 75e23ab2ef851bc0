import {
  createRequesterFn,
  type FormattedResponse,
  type RequesterType,
  type ResourceOptions,
  type ResponseBodyTypes,
} from '@gitbeaker/requester-utils';
import { z } from 'zod';
import { AgenticError } from '../lib/errors.js';
import type { HttpFailure } from './errors.js';
import { sendRawRequest, type FetchFn } from './http.js';

/** Carries an HTTP failure out of gitbeaker to the adapter, which names the operation. */
export class GitLabHttpFailure {
  constructor(readonly failure: HttpFailure) {}
}

/** The HTTP failure behind an error thrown by the requester, if that is what it is. */
export function gitlabFailureOf(err: unknown): HttpFailure | undefined {
  return err instanceof AgenticError && err.cause instanceof GitLabHttpFailure
    ? err.cause.failure
    : undefined;
}

const optionsSchema = z.looseObject({
  method: z.string().default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  prefixUrl: z.string(),
  searchParams: z.string().optional(),
});
const bodySchema = z.union([
  z.null(),
  z.string(),
  z.array(z.record(z.string(), z.unknown())),
  z.record(z.string(), z.unknown()),
]);

/**
 * A gitbeaker requester on the injected fetch. Unlike gitbeaker's own it does not retry a 429
 * in a tight loop: a failure is thrown at once with its status and headers (Retry-After,
 * RateLimit-Reset), so the caller can wait durably; and it never keeps the request (with its
 * PRIVATE-TOKEN header) in what it throws.
 */
export function gitlabRequester(
  fetchFn: FetchFn,
): (resourceOptions: ResourceOptions) => RequesterType {
  return createRequesterFn(
    // gitbeaker's default options handler has already built method, headers, body and query.
    (_resource, requestOptions) => Promise.resolve(requestOptions),
    async (endpoint, rawOptions) => {
      const options = optionsSchema.parse(rawOptions);
      const url = new URL(
        endpoint,
        options.prefixUrl.endsWith('/') ? options.prefixUrl : `${options.prefixUrl}/`,
      );
      if (options.searchParams !== undefined) url.search = options.searchParams;
      const result = await sendRawRequest(fetchFn, url.toString(), {
        method: options.method,
        headers: options.headers,
        ...(options.body === undefined ? {} : { body: options.body }),
      });
      if (!result.ok) {
        throw new AgenticError(
          'FORGE_UNAVAILABLE',
          `GitLab request failed (${result.failure.status ?? 'no answer'})`,
          {
            cause: new GitLabHttpFailure(result.failure),
          },
        );
      }
      const body: ResponseBodyTypes =
        result.status === 204 ? null : bodySchema.parse(result.body ?? null);
      const response: FormattedResponse = { body, headers: result.headers, status: result.status };
      return response;
    },
  );
}
