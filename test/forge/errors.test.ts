import { describe, expect, it } from 'vitest';
import { mapHttpFailure, retryTime, type FailureContext } from '../../src/forge/errors.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('retryTime', () => {
  it.each([
    [{ 'retry-after': '90' }, NOW + 90_000],
    [{ 'retry-after': 'Sun, 01 Mar 2026 12:05:00 GMT' }, NOW + 300_000],
    [{ 'retry-after': 'Sun, 01 Mar 2026 11:00:00 GMT' }, NOW],
    [{ 'x-ratelimit-reset': String(NOW / 1000 + 600) }, NOW + 600_000],
    [{ 'ratelimit-reset': String(NOW / 1000 + 30) }, NOW + 30_000],
    [{ 'ratelimit-resettime': 'Sun, 01 Mar 2026 12:01:00 GMT' }, NOW + 60_000],
    [{ 'retry-after': '5', 'x-ratelimit-reset': String(NOW / 1000 + 600) }, NOW + 5_000],
    [{}, NOW + 60_000],
  ])('reads %j', (headers, expected) => {
    expect(retryTime(headers, NOW).getTime()).toBe(expected);
  });
});

describe('mapHttpFailure', () => {
  const ctx: FailureContext = {
    kind: 'gitea',
    host: 'git.example.com',
    apiUrl: 'https://git.example.com/api/v1',
    repoPath: 'acme/widgets',
    tokenSource: { kind: 'env', names: ['GITEA_TOKEN', 'FORGEJO_TOKEN'] },
    secrets: ['s3cr3t-token'],
    now: () => NOW,
  };
  it.each([
    [undefined, 'FORGE_UNAVAILABLE'],
    [400, 'FORGE_REJECTED'],
    [401, 'FORGE_AUTH_FAILED'],
    [403, 'FORGE_AUTH_FAILED'],
    [404, 'FORGE_NOT_FOUND'],
    [405, 'FORGE_CONFLICT'],
    [406, 'FORGE_CONFLICT'],
    [409, 'FORGE_CONFLICT'],
    [422, 'FORGE_REJECTED'],
    [429, 'FORGE_RATE_LIMITED'],
    [500, 'FORGE_UNAVAILABLE'],
    [502, 'FORGE_UNAVAILABLE'],
  ] as const)('maps %s to %s, naming the forge and the operation', (status, code) => {
    const err = mapHttpFailure(ctx, 'open pull request a → main', {
      status,
      headers: {},
      message: 'the forge said s3cr3t-token',
    });
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/^Gitea \(git\.example\.com\): open pull request a → main: /);
    expect(err.message).not.toContain('s3cr3t-token');
  });
});
